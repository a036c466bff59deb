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


# The files that take longest (compilation of the level-1 and level-2 programs) run first: with
# ``-n 2 --dist loadfile`` each file goes to one worker, so a long file started last would leave the
# other worker idle at the end.  The order is derived, not kept by hand: each run records the seconds
# of every file it ran in pytest's cache (``.pytest_cache``), and the next run sorts by them; a file
# with no record yet (a fresh clone, a new file) is estimated from its size at the recorded seconds
# per byte (by its size alone when nothing is recorded).
_DURATIONS_KEY = "jaxcap/file-seconds"
_file_seconds: dict = {}


def _estimated_costs(items, recorded: dict) -> dict:
    """Per test file its recorded seconds, else its size at the median recorded seconds per byte."""
    paths = {item.path for item in items}
    sizes = {p: max(p.stat().st_size, 1) for p in paths}
    rates = sorted(recorded[p.name] / sizes[p] for p in paths if p.name in recorded)
    rate = rates[len(rates) // 2] if rates else 1.0
    return {p: recorded.get(p.name, rate * sizes[p]) for p in paths}


def pytest_collection_modifyitems(config, items):
    recorded = config.cache.get(_DURATIONS_KEY, {}) if getattr(config, "cache", None) else {}
    cost = _estimated_costs(items, recorded)
    items.sort(key=lambda item: -cost[item.path])   # stable: a file's tests keep their order


def pytest_runtest_logreport(report):
    """Seconds per test file (setup, call and teardown), on the controller for xdist workers too."""
    name = report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    _file_seconds[name] = _file_seconds.get(name, 0.0) + report.duration


def pytest_sessionfinish(session):
    cache = getattr(session.config, "cache", None)
    if cache is not None and _file_seconds and not hasattr(session.config, "workerinput"):
        cache.set(_DURATIONS_KEY, {**cache.get(_DURATIONS_KEY, {}), **_file_seconds})


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
    import jaxcap
    from jaxcap.references import DAT_ALPHA
    from jaxcap._src.result import Quantities
    seen = []

    def dat_threshold(kappa, **options):
        seen.append(("dat", kappa))
        return Quantities("dat", {"alpha": DAT_ALPHA, "kappa": kappa, "beta": 3.0, "q": 0.7,
                                  "diagnostics": {"quad_error": 0.0, "seconds": 0.0}})

    def finite_threshold(n, trials, seed=0, method="auto", progress=None):
        seen.append(("finite", n, trials))
        return {"n": n, "trials": trials, "seed": seed, "method": method, "alpha": 5.0, "ci": [4.75, 5.25],
                "coverage": 0.96, "alphas": [5.0] * trials, "seconds": 0.0}

    monkeypatch.setattr(jaxcap, "dat_threshold", dat_threshold)        # the public names the command calls
    monkeypatch.setattr(jaxcap, "finite_threshold", finite_threshold)
    return seen
