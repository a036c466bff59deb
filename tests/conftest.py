import json
import os
import shutil
import tempfile

import jax
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
LONGEST_FIRST = ("test_zero_energy.py", "test_sat_jax.py", "test_sweep.py", "test_thresholds.py", "test_functional.py",
                 "test_high_levels.py", "test_derivatives_level_2.py", "test_cli_bench.py", "test_results.py",
                 "test_derivatives_level_0.py", "test_derivatives_level_1.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: the rest keep their order


# One XLA compilation cache per test run, shared by the xdist workers and the subprocesses they start:
# the workers compile the same solver programs (levels 1 and 2, both engines), and each compiles them
# once for the run instead of once per worker.  A fresh directory per run, removed at the end: nothing
# carries over between runs.  (``jaxcap bench`` drops it from its tasks' environment: they time cold
# compilation.)
def pytest_configure(config):
    if not hasattr(config, "workerinput"):                     # the controller: before the workers start
        config.jaxcap_cache = tempfile.mkdtemp(prefix="jaxcap-test-xla-")
        os.environ.update(JAX_COMPILATION_CACHE_DIR=config.jaxcap_cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                          JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):                # absent on a worker that did not inherit it
        jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    if hasattr(config, "jaxcap_cache"):
        shutil.rmtree(config.jaxcap_cache, ignore_errors=True)


@pytest.fixture
def table_stand_ins(monkeypatch):
    """Stand-ins for the dAT solve and the finite-size estimate of ``jaxcap table`` at ``κ = 0`` (both are
    computed for real in ``test_temperature.py`` and ``test_finite_threshold.py``); returns the calls seen."""
    import jaxcap.finite_threshold
    import jaxcap.temperature
    from jaxcap.references import DAT_ALPHA
    from jaxcap.result import Quantities
    seen = []

    def dat_threshold(kappa, **options):
        seen.append(("dat", kappa))
        return Quantities("dat", {"alpha": DAT_ALPHA, "kappa": kappa, "beta": 3.0, "q": 0.7,
                                  "diagnostics": {"quad_error": 0.0, "seconds": 0.0}})

    def finite_threshold(n, trials, seed=0, method="auto", progress=None):
        seen.append(("finite", n, trials))
        return {"n": n, "trials": trials, "seed": seed, "method": method, "alpha": 5.0, "ci": [4.75, 5.25],
                "coverage": 0.96, "alphas": [5.0] * trials, "seconds": 0.0}

    monkeypatch.setattr(jaxcap.temperature, "dat_threshold", dat_threshold)
    monkeypatch.setattr(jaxcap.finite_threshold, "finite_threshold", finite_threshold)
    return seen
