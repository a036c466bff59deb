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


def test_lapack_from_scipy_alone_leaves_scipy_as_it_was(tmp_path):
    """A solve gives jaxlib SciPy's LAPACK modules without ``scipy.linalg``'s package import
    (``jaxcap._src.compilation.lapack_kernels``); SciPy imports as usual afterwards."""
    code = """
import sys
import numpy as np
import jaxcap
from jaxcap._src.compilation import lapack_kernels
alpha = jaxcap.threshold(1).alpha
print(lapack_kernels(), "scipy.linalg" in sys.modules)
import scipy.linalg
import scipy.linalg.cython_lapack as cl
print(scipy.linalg.cython_lapack is cl, len(cl.__pyx_capi__) > 100, float(scipy.linalg.eigh(np.eye(2) + 1.0)[0][1]))
print(alpha)
"""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "True False" and lines[1] == "True True 3.0"
    assert abs(float(lines[2]) - 6.715696837671227) < 1e-9


def test_a_signal_ends_the_run_even_when_a_library_swaps_the_exception(monkeypatch, capsys):
    """JAX turns an exception raised while it compares static arguments into a ``ValueError``: a
    SIGINT or SIGTERM arriving there still ends the run as interrupted (130) or terminated (143)."""
    import signal

    from jaxcap.cli import app, commands

    def swapping(signum):
        def run(args):
            try:
                os.kill(os.getpid(), signum)
                signal.pthread_sigmask(signal.SIG_BLOCK, [])     # the handler runs here
            except BaseException as exc:
                raise ValueError("static arguments should be comparable using __eq__") from exc
            return 0
        return run

    for signum, code, said in ((signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")):
        monkeypatch.setattr(commands, "threshold", swapping(signum))
        assert app.main(["threshold", "--level", "0"]) == code
        assert capsys.readouterr().err.strip().splitlines() == [f"jaxcap: {said}"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_finished_run_exits_with_its_code_after_the_exit_handlers(tmp_path):
    """``entry`` skips Python's teardown (``os._exit``) but not what a normal exit does before it:
    the exit handlers run, after the output was flushed, and the exit status is the run's."""
    code = """
import atexit, sys
atexit.register(lambda: print("exit handler", file=sys.stderr, flush=True))
sys.argv = ["jaxcap"] + sys.argv[1:]
print("before", end="")         # unflushed on purpose
from jaxcap.cli import entry
entry()
print("never")
"""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for argv, status in ((["threshold", "--level", "0", "--json"], 0), (["threshold", "--level", "-1"], 2)):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                             env=env, cwd=tmp_path)
        assert out.returncode == status, out.stderr
        assert out.stderr.rstrip().splitlines()[-1] == "exit handler"
        assert out.stdout.startswith("before") and "never" not in out.stdout
        if status == 0:
            assert json.loads(out.stdout[len("before"):])["level"] == 0
        else:
            assert out.stdout == "before" and out.stderr.startswith("jaxcap: error:")
