"""Resource guards: what is refused up front, what a drifting solve ends in, honest error bars."""
import json
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import jaxcap
from jaxcap._src import finite, guards
from jaxcap._src.extrapolation import extrapolate
from jaxcap._src.grid import GridEngine
from jaxcap._src.params import Params, to_unconstrained
from jaxcap._src.solver import polish
from jaxcap._src.temperature import dat_threshold, rs_state
from jaxcap._src.engine import make_engine

LEVELS_30 = json.loads((pathlib.Path(__file__).parents[1] / "benchmarks/results/frsb-levels-30-cpu.json").read_text())


def _refused(limit, match=""):
    """``pytest.raises(ValueError)`` whose message names ``limit``'s environment variable."""
    return pytest.raises(ValueError, match=f"{match}.*{limit.env}" if match else limit.env)


# ---------------------------------------------------------------------------------------------
# limits

def test_a_limit_is_raised_by_its_environment_variable(monkeypatch):
    assert guards.MAX_LEVEL.value() == guards.MAX_LEVEL.default
    with _refused(guards.MAX_LEVEL, "level 41 needs 41 lifting levels, over the limit of 30"):
        guards.MAX_LEVEL.check(41, "level 41")
    monkeypatch.setenv("JAXCAP_MAX_LEVEL", "50")
    guards.MAX_LEVEL.check(41, "level 41")
    monkeypatch.setenv("JAXCAP_MAX_LEVEL", "many")
    with pytest.raises(ValueError, match="JAXCAP_MAX_LEVEL must be a positive number"):
        guards.MAX_LEVEL.value()


@pytest.mark.parametrize("call", [
    lambda: jaxcap.threshold(10_000),
    lambda: jaxcap.energy(7.0, 31),
    lambda: list(jaxcap.threshold_chain(100)),
], ids=["threshold", "energy", "chain"])
def test_absurd_levels_are_refused_before_any_work(call):
    with _refused(guards.MAX_LEVEL):
        call()


@pytest.mark.parametrize("options, limit", [
    (dict(spacing=1e-9), guards.MAX_GRID_POINTS),
    (dict(spacing=1e-4), guards.MAX_GRID_POINTS),      # the fitted grids snap below 1e-4: 2.8e5 points
    (dict(kappa=1e6), guards.MAX_GRID_POINTS),
    (dict(kappa=-1e6), guards.MAX_GRID_POINTS),
    (dict(engine="tensor", nodes=100_000, level=2), guards.MAX_MEMORY_GB),
    (dict(engine="tensor", nodes=2_000, level=3), guards.MAX_MEMORY_GB),
], ids=["spacing-1e-9", "spacing-1e-4", "kappa+1e6", "kappa-1e6", "tensor-1e5-nodes", "tensor-level-3"])
def test_engines_beyond_the_limits_are_refused(options, limit):
    level = options.pop("level", 1)
    with _refused(limit):
        make_engine(level, **options)
    with _refused(limit):
        jaxcap.threshold(level, **options)


def test_a_refused_engine_passes_once_its_limit_is_raised(monkeypatch):
    with _refused(guards.MAX_GRID_POINTS):
        make_engine(1, spacing=1e-4)
    monkeypatch.setenv("JAXCAP_MAX_GRID_POINTS", "400000")
    assert make_engine(1, spacing=1e-4).spacing == 1e-4


@pytest.mark.parametrize("spacing", [0.0, -0.01, 0.1, 100.0, float("nan"), True])
def test_one_spacing_limit(spacing):
    with pytest.raises(ValueError, match=f"in \\(0, {guards.MAX_SPACING:g}\\]"):
        make_engine(1, spacing=spacing)
    with pytest.raises(ValueError, match=f"in \\(0, {guards.MAX_SPACING:g}\\]"):
        rs_state(3.0, 2.0, spacing=spacing)


def test_temperature_grids_are_bounded():
    """``rs --spacing 100`` used to solve on one point at both spacings and report a "converged" state."""
    with pytest.raises(ValueError, match="spacing in z"):
        rs_state(3.0, 2.0, spacing=100.0)
    with pytest.raises(ValueError, match="spacing in z"):
        dat_threshold(0.0, spacing=0.5)
    with _refused(guards.MAX_GRID_POINTS, "spacing in z"):
        rs_state(3.0, 2.0, spacing=1e-5)


@pytest.mark.parametrize("level", range(7))
@pytest.mark.parametrize("kappa", [-3.0, -1.5, 0.0, 1.5, 3.0])
def test_the_paved_road_is_let_through(level, kappa):
    """Levels 0–6, kappa in [-3, 3], the default engines and the user spacing limit itself."""
    make_engine(level, kappa=kappa)
    make_engine(level, kappa=kappa, spacing=guards.MAX_SPACING)
    make_engine(level, engine="tensor", kappa=kappa) if level <= 3 else None
    guards.MAX_LEVEL.check(level, "level")


def test_no_verified_maximum_of_levels_1_to_30_counts_as_drift():
    """The parameters of every stored level (1–30, kappa = 0) are far inside the limits."""
    engine = make_engine(30)
    for row in LEVELS_30["results"][1:]:
        p = row["params"]
        params = Params(np.asarray(p["chi"]), np.asarray(p["q"]), np.asarray(p["x"]))
        assert guards.drift(engine, params, row["level"]) is None, row["level"]
        assert engine.fitted(params).nodes < guards.MAX_GRID_POINTS.default / 5


# ---------------------------------------------------------------------------------------------
# drift

def test_drift_needs_no_grid_and_no_rounding():
    """A point whose fitted grid would have a spacing of 2.3e-26 (``q_0 = 5.8e-51``), or none at all."""
    engine = make_engine(1)
    for q0 in (5.8e-51, 0.0, 1e-10):
        why = guards.drift(engine, Params(np.asarray(0.0036), np.asarray([q0]), np.asarray([1.58])), 1)
        assert why and "degenerate drift" in why and guards.MAX_GRID_POINTS.env in why
    why = guards.drift(engine, Params(np.asarray(np.nan), np.asarray([0.5]), np.asarray([1.0])), 1)
    assert "non-finite" in why
    assert guards.drift(engine, Params(np.asarray(0.05), np.asarray([0.78]), np.asarray([3.3])), 1) is None


def test_energy_from_a_drifted_point_ends_in_convergence_error_not_value_error():
    """An energy solve started at ``q_0 ~ 1e-51`` (where a level-1 solve below the zero-energy line
    has drifted on some machines) must say it did not converge (exit 3), whatever the rounding that
    led there."""
    start = {"chi": 0.0036, "q": [5.8e-51], "x": [1.58]}
    with pytest.raises(jaxcap.ConvergenceError) as info:
        jaxcap.energy(3.0, 1, start=start)
    assert any("degenerate drift" in f for f in info.value.diagnostics["failures"])


def test_threshold_drifting_to_q0_zero_stops_with_diagnostics():
    """Level 1 at kappa = 4.5 drifts to q_0 -> 0 from every start (it asked XLA for 91.5 GB)."""
    with pytest.raises(jaxcap.ConvergenceError) as info:
        jaxcap.threshold(1, kappa=4.5)
    failures = info.value.diagnostics["failures"]
    assert failures and all("degenerate drift" in f or "merged" in f for f in failures)


# ---------------------------------------------------------------------------------------------
# estimates

@pytest.mark.parametrize("level, q, spacing", [(1, [0.5], 0.002), (3, [0.7, 0.95, 0.995], 0.08)])
def test_memory_estimate_is_within_a_factor_two_of_xla(level, q, spacing):
    """:func:`guards.engine_memory` against XLA's own analysis of the compiled Newton solve."""
    params = Params(np.asarray(0.1), np.asarray(q), np.linspace(2.0, 6.0, level))
    engine = GridEngine.around(0.0, spacing=spacing).fitted(params)
    compiled = polish.lower(jnp.asarray(to_unconstrained(params)), 0.0, 0.0, objective="threshold",
                            engine=engine, refined=engine.refined()).compile()
    xla = compiled.memory_analysis().temp_size_in_bytes
    assert 0.5 < guards.engine_memory(engine, level) / xla < 2.0


# ---------------------------------------------------------------------------------------------
# sweeps and finite sizes

def test_batches_are_bounded():
    with _refused(guards.MAX_POINTS):
        jaxcap.sweep(1, np.linspace(0.0, 1.0, 20_001))
    with _refused(guards.MAX_POINTS):
        jaxcap.energy_grid(np.linspace(5.0, 7.0, 200), np.linspace(0.0, 1.0, 200), 1)


@pytest.mark.parametrize("n, alphas, trials, workers", [
    (50, [6.0], 10, 1), (8, [100.0], 10, 1), (4, [5.0, 6.0], 10 ** 6, 1), (4, [5.0], 10, 10 ** 6)],
    ids=["n", "rows", "trials", "workers"])
def test_finite_sizes_are_bounded(n, alphas, trials, workers):
    with pytest.raises(ValueError, match="JAXCAP_MAX_"):
        finite.finite_experiment(n, alphas, trials, workers=workers, progress=False)


def test_min_active_refuses_large_matrices():
    with _refused(guards.MAX_FINITE_N):
        finite.min_active(np.random.default_rng(0).standard_normal((60, 30)))


@pytest.mark.parametrize("argv, limit", [
    (("threshold", "--level", "10000"), "JAXCAP_MAX_LEVEL"),
    (("threshold", "--level", "1", "--kappa", "-1e6"), "JAXCAP_MAX_GRID_POINTS"),
    (("finite", "--n", "40", "--alphas", "5", "--trials", "2"), "JAXCAP_MAX_FINITE_N"),
    (("sweep", "--level", "1", "--kappa-from", "0", "--kappa-to", "1", "--points", "100000"), "JAXCAP_MAX_POINTS"),
    (("sweep", "--level", "1", "--kappa-from", "0", "--kappa-to", "1", "--points", "4", "--cpu-devices", "1000000"),
     "JAXCAP_MAX_CPU_DEVICES"),
    (("curve", "--level", "1", "--kappa-from", "0", "--kappa-to", "1", "--points", "100000"), "JAXCAP_MAX_POINTS"),
], ids=["level", "kappa", "finite-n", "sweep-points", "cpu-devices", "curve-points"])
def test_cli_refusals_are_exit_2(jaxcap_cli, argv, limit):
    run = jaxcap_cli(*argv)
    assert run.code == 2 and limit in run.err and len(run.lines()) == 1 and "Traceback" not in run.err, run


@pytest.mark.parametrize("command", [("threshold", "--level", "1"), ("rs", "--alpha", "3", "--beta", "2"), ("dat",)])
def test_cli_spacing_limit_is_the_library_constant(jaxcap_cli, command):
    assert jaxcap_cli(*command, "--spacing", str(guards.MAX_SPACING), dry_run=True).code == 0
    run = jaxcap_cli(*command, "--spacing", "0.1")
    assert run.code == 2 and "--spacing" in run.err and f"{guards.MAX_SPACING:g}" in run.err, run


# ---------------------------------------------------------------------------------------------
# the r -> infinity error bar

@pytest.mark.parametrize("max_level", [3, 4, 5, 6, 8, 10])
def test_frsb_error_bar_covers_the_converged_value(max_level):
    """Fits of the stored levels 0..max_level against the fit over levels 2-30 (6.69805094 +- 2.2e-7)."""
    converged = LEVELS_30["alpha_inf"]
    assert LEVELS_30["fit_levels"][-1] == 30
    fit = extrapolate(LEVELS_30["levels"][:max_level + 1], LEVELS_30["alphas"][:max_level + 1])
    assert np.isfinite(fit["alpha_inf_err"])
    assert abs(fit["alpha_inf"] - converged) <= fit["alpha_inf_err"]
    assert fit["reliable"] == (max_level >= 6)
    if not fit["reliable"]:
        assert "biased low" in fit["reliability"]
        # the bar is honest, not vacuous: it reaches the last level, no further than twice that
        assert fit["alpha_inf_err"] <= 2 * (LEVELS_30["alphas"][max_level] - converged)


def test_a_result_the_engine_does_not_resolve_is_not_returned():
    """16 Gauss-Hermite nodes put alpha_1 at 6.7030 (quad_error 1.8e-2): not converged, with the reason."""
    with pytest.raises(jaxcap.ConvergenceError) as info:
        jaxcap.threshold(1, engine="tensor", nodes=16, start={"chi": 0.053, "q": [0.777], "x": [3.29]})
    assert "not resolved by the engine" in " ".join(info.value.diagnostics["failures"])
    assert guards.unresolved(1e-12, 6.7) is None and guards.unresolved(float("nan"), 6.7)
    assert "quadrature error estimate 1.0e-04" in guards.unresolved(1e-4, 6.7)
