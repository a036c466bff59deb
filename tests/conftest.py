import json

import pytest

import jaxcap  # noqa: F401  (enables float64)
from jaxcap.cli import main

# Published reference values, kappa = 0 (their sources: jaxcap/references.py).
from jaxcap.references import DAT_ALPHA, FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA  # noqa: E402,F401


class Run:
    """One ``jaxcap`` run: its exit code, stdout and stderr."""

    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)

    def lines(self):
        return [l for l in self.err.splitlines() if l.strip()]

    def __repr__(self):
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture
def jaxcap_cli(capfd, monkeypatch):
    """``jaxcap_cli(*argv)``: run ``main`` in this process (no compilation cache) and return a :class:`Run`
    (stdout and stderr captured at the file descriptors: output of C libraries included)."""
    monkeypatch.setenv("JAXCAP_CACHE_DIR", "off")

    def run(*argv, dry_run=False):
        capfd.readouterr()
        code = main([str(a) for a in argv], dry_run=dry_run)
        out, err = capfd.readouterr()
        return Run(code, out, err)
    return run


# The files that take longest (compilation of the level-1 and level-2 programs), run first: with
# ``-n 2 --dist loadfile`` each file goes to one worker, so a long file started last would leave the
# other worker idle at the end.
LONGEST_FIRST = ("test_zero_energy.py", "test_functional.py", "test_derivatives_level_2.py", "test_thresholds.py",
                 "test_high_levels.py", "test_derivatives_level_1.py", "test_sat_jax.py", "test_sweep.py",
                 "test_derivatives_level_0.py", "test_results.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: the rest keep their order
