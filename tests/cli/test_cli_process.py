"""The command line as a separate process: ``python -m jaxcap`` and the ``jaxcap`` entry point's
behaviour where a process is the point (exit status, file descriptors, signals)."""
import json
import os
import subprocess
import sys

import jaxcap

#: The directory that holds the package under test (so that another working directory finds it).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(jaxcap.__file__)))


def jaxcap_process(*argv, **kwargs):
    env = dict(os.environ, JAXCAP_CACHE_DIR="off",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-m", "jaxcap", *map(str, argv)], capture_output=True, text=True,
                          timeout=300, env=env, **kwargs)


def test_python_m_jaxcap(tmp_path):
    out = jaxcap_process("finite", "--n", "2", "--alphas", "3,6", "--trials", "2", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [x["m"] for x in json.loads(out.stdout)["results"]] == [6, 12]
    out = jaxcap_process("finite", "--n", "0", "--alphas", "3", "--trials", "2", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("jaxcap: error:") and len(out.stderr.strip().splitlines()) == 1
