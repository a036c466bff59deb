"""Every ``benchmarks/*.py`` runs, at its smallest size, so that none can break unnoticed.

Each script declares its smallest run as a module-level list ``SMALLEST`` of command-line
arguments, or names the test that runs it at its smallest size (``TESTED_BY``, a test file that
names the script) (``{out}`` stands for a file in a temporary directory, so nothing under
``benchmarks/results/`` is touched). The script runs in a fresh process and must exit 0 and
write its results file.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def declared(script: Path, name: str):
    """The module-level constant ``name`` of the script (read without importing it), or None."""
    for node in ast.parse(script.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    return None


def smallest(script: Path) -> list[str] | None:
    """The script's ``SMALLEST`` arguments, or None."""
    args = declared(script, "SMALLEST")
    return None if args is None else [str(a) for a in args]


@pytest.mark.examples
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_runs_at_its_smallest_size(script, tmp_path):
    tested_by = declared(script, "TESTED_BY")
    if tested_by is not None:
        assert script.name in (ROOT / tested_by).read_text(), f"{tested_by} does not run {script.name}"
        return
    args = smallest(script)
    assert args is not None, f"{script.name} declares no SMALLEST (its smallest run's arguments)"
    out = tmp_path / "result.json"
    argv = [a.replace("{out}", str(out)) for a in args]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               JAXCAP_CACHE_DIR="off", MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=600)
    assert run.returncode == 0, f"{script.name} {' '.join(argv)} exited {run.returncode}:\n{run.stderr[-3000:]}"
    if "{out}" in " ".join(args):
        assert out.exists(), f"{script.name} wrote nothing to {out}"
