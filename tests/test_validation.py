"""One validation path and one status: every entry point refuses the same bad arguments the same way,
and a solve that does not converge either raises or, with ``throw=False``, returns its status."""
import importlib

import jax
import numpy as np
import pytest

import jaxcap
from jaxcap._src import guards
from jaxcap._src.status import MESSAGES, Status

zero_energy = importlib.import_module("jaxcap._src.zero_energy")
threshold_module = importlib.import_module("jaxcap._src.threshold")
driver = importlib.import_module("jaxcap._src.driver")


@pytest.mark.parametrize("call", [
    lambda: jaxcap.sat(-1.0, 1000),
    lambda: zero_energy.sat(-1.0, 1000),
    lambda: list(zero_energy.sat_chain(1000, 0.5)),
    lambda: zero_energy.sat_sequence(1000, -1.0),
    lambda: zero_energy.sat_curve([0.1, 0.2], 1000),
], ids=["api", "module", "chain", "sequence", "curve"])
def test_every_zero_energy_entry_refuses_the_level_limit(call):
    with pytest.raises(ValueError, match=guards.MAX_LEVEL.env):
        call()


def test_the_command_line_refuses_the_level_limit_as_python_does(jaxcap_cli):
    run = jaxcap_cli("sat", "--kappa", "-1", "--level", "1000", "--json")
    assert run.code == 2 and run.out == "" and guards.MAX_LEVEL.env in run.err, run
    assert len(run.lines()) == 1


def test_a_curve_beyond_the_points_limit_is_refused_before_any_array(jaxcap_cli):
    run = jaxcap_cli("sat", "--kappa-from", "0", "--kappa-to", "1", "--points", "1000000000")
    assert run.code == 2 and guards.MAX_POINTS.env in run.err and len(run.lines()) == 1, run
    with pytest.raises(ValueError, match=guards.MAX_POINTS.env):
        zero_energy.sat_curve(np.zeros(guards.MAX_POINTS.default + 1), 1)


@pytest.mark.parametrize("solve", [
    lambda k: jaxcap.threshold(0, kappa=k, bogus=1),
    lambda k: jaxcap.energy(4.0, 0, kappa=k, bogus=1),
    lambda k: jaxcap.sat(k, 0, bogus=1),
], ids=["threshold", "energy", "sat"])
def test_an_unknown_option_is_a_type_error_under_jit_as_outside(solve):
    with pytest.raises(TypeError, match="bogus"):
        jax.jit(solve)(0.0)
    with pytest.raises(TypeError, match="bogus"):
        solve(0.0)


def test_status_codes_and_messages_are_one_enumeration():
    assert [int(s) for s in Status] == list(range(len(Status)))
    assert jaxcap._src.result.REASONS == {int(s): MESSAGES[s] for s in Status}
    assert Status.CONVERGED.message is None and all(Status(c).message for c in range(1, len(Status)))


def test_throw_false_returns_the_not_converged_result():
    """Below Gardner's line (2 at kappa = 0) the level-1 energy has no finite maximiser: refused before
    any solve; with throw=False that is a Result with the status, NaN values and the reason."""
    with pytest.raises(jaxcap.ConvergenceError):
        jaxcap.energy(1.0, 1, kappa=0.0)
    res = jaxcap.energy(1.0, 1, kappa=0.0, throw=False)
    assert not res.converged and res.status == Status.NO_SOLUTION and "zero-energy boundary" in res.reason
    assert np.isnan(res.energy) and res.alpha == 1.0 and np.shape(res.params["q"]) == (1,)
    data = jaxcap.to_json(res)
    assert data["diagnostics"]["converged"] is False and data["energy"] is None and data["level"] == 1


def test_the_driver_is_defined_once():
    """The starts, candidates, polish, verdict and level solve of every objective are the driver's."""
    for module in (threshold_module, zero_energy):
        for name in ("_starts", "_candidates", "_polished", "_verdict", "_solve", "_solve_level", "EXTRAPOLATE_FROM",
                     "DIRECT_TRIES"):
            assert not hasattr(module, name), (module.__name__, name)
    assert driver.starts(threshold_module.objective(), 2, jaxcap._src.result.start_params(
        {"chi": 0.1, "q": [0.5], "x": [2.0]}, 1))[0].q.shape == (2,)
    assert zero_energy.LINE.solver == "zero_energy" and threshold_module.objective().solver == "threshold"


def test_a_chain_with_throw_false_ends_with_the_failed_level(monkeypatch):
    real = driver.solve_level

    def failing(objective, level, *args, **kwargs):
        if level == 1:
            raise jaxcap.ConvergenceError("level 1: no start reached a verified maximum", {"level": 1})
        return real(objective, level, *args, **kwargs)

    monkeypatch.setattr(driver, "solve_level", failing)
    with pytest.raises(jaxcap.ConvergenceError):
        list(jaxcap.threshold_chain(2))
    rows = list(jaxcap.threshold_chain(2, throw=False))
    assert [r.level for r in rows] == [0, 1] and rows[0].converged and not rows[1].converged
    assert rows[1].status == Status.NO_SOLUTION and "level 1" in rows[1].reason and np.isnan(rows[1].alpha)


def test_the_checks_of_the_command_line_are_the_python_ones(jaxcap_cli):
    """The limits ``jaxcap finite``, ``table`` and ``sweep`` check before any work are public checks: the
    same refusal in Python (default subjects) and on the command line (its options named)."""
    with pytest.raises(ValueError, match=rf"^workers=99 .*{guards.MAX_WORKERS.env}"):
        jaxcap.check_finite_experiment(3, [2.0], 1, workers=99)
    with pytest.raises(ValueError, match=rf"^n = 11 .*{guards.MAX_FINITE_N.env}"):
        jaxcap.check_finite_size(11, 5)
    with pytest.raises(ValueError, match=r"method must be one of auto, enumerate, milp"):
        jaxcap.check_finite_size(3, 5, "exhaustive")
    with pytest.raises(ValueError, match=rf"^cpu_devices=1000 .*{guards.MAX_CPU_DEVICES.env}"):
        jaxcap.check_cpu_devices(1000)
    assert jaxcap.check_finite_experiment(3, [2.0, 4.0], 2) == [6, 12] and jaxcap.check_cpu_devices(4) == 4
    run = jaxcap_cli("finite", "--n", "3", "--alphas", "2", "--trials", "1", "--workers", "99")
    assert run.code == 2 and "finite: --workers 99 needs 99 worker processes" in run.err, run
