"""Thresholds levels 0–3 against the published values and the invariants (docs/references.md, docs/theory.md#solver)."""
import numpy as np
import pytest

import jaxcap
from conftest import FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA


@pytest.fixture(scope="module")
def chain():
    return list(jaxcap.threshold_chain(3))


def test_level_zero_is_plain_rdt(chain):
    assert chain[0].alpha == pytest.approx(RS_ALPHA, abs=2e-6)


def test_level_one_is_1rsb(chain):
    r = chain[1]
    assert r.alpha == pytest.approx(ONE_RSB_ALPHA, abs=5e-6)
    assert r.params["q"][0] == pytest.approx(0.7772, abs=2e-4)
    assert r.params["chi"] == pytest.approx(0.0533, abs=2e-4)
    assert r.params["x"][0] == pytest.approx(3.287, abs=2e-3)


def test_levels_decrease_towards_frsb(chain):
    alphas = [r.alpha for r in chain]
    assert all(a > b for a, b in zip(alphas, alphas[1:]))
    assert FRSB_ALPHA < alphas[3] < alphas[2] < alphas[1]


def test_energy_is_one_and_optimum_is_a_proper_maximum(chain):
    for r in chain:
        d = r.diagnostics
        assert r.energy == pytest.approx(1.0, abs=1e-12)
        assert d.grad_norm <= 1e-9
        assert d.hessian_max_eig < 0
        assert d.quad_error < 1e-7
        q, x = np.asarray(r.params["q"]), np.asarray(r.params["x"])
        assert np.all(np.diff(np.concatenate([q, [1.0]])) > 1e-3) and np.all(np.diff(x) > 0)


def test_energy_at_threshold_reaches_one(chain):
    r2 = chain[2]
    e = jaxcap.energy(r2.alpha, 2)
    assert e.energy == pytest.approx(1.0, abs=1e-9)
    assert e.diagnostics.grad_norm <= 1e-9 and e.diagnostics.hessian_max_eig < 0
    np.testing.assert_allclose(e.params["q"], r2.params["q"], atol=1e-6)
    # the energy is increasing in alpha, and the level-1 energy lies below level 2
    assert jaxcap.energy(r2.alpha, 1).energy < 1.0


def test_tensor_engine_agrees_with_grid_engine(chain):
    for level, t in enumerate(jaxcap.threshold_chain(2, engine="tensor", nodes=256)):
        assert t.alpha == pytest.approx(chain[level].alpha, abs=1e-6)
        assert t.diagnostics.engine == "tensor" and t.diagnostics.quad_nodes == 256


def test_frsb_resumes_from_checkpoint_and_extrapolates(chain, tmp_path):
    """An interrupted run (levels 0–2 saved) resumes at level 3 without redoing 0–2."""
    from jaxcap._src.checkpoint import write_levels
    from jaxcap._src.frsb import checkpoint_key, frsb_sequence
    ckpt = tmp_path / "frsb.json"
    write_levels(ckpt, checkpoint_key(0.0), chain[:3])
    res = frsb_sequence(3, checkpoint=str(ckpt))
    rows, fit = res.levels, res.fit
    assert res.converged and res.reason is None and res.alpha_inf == fit["alpha_inf"]
    assert [r.level for r in rows] == [0, 1, 2, 3]
    assert [r.diagnostics.seconds for r in rows[:3]] == [r.diagnostics.seconds for r in chain[:3]]
    assert rows[3].alpha == pytest.approx(chain[3].alpha, abs=1e-9)
    assert FRSB_ALPHA - 1e-3 < fit["alpha_inf"] < chain[3].alpha
    # a finished checkpoint is not recomputed
    again = frsb_sequence(3, checkpoint=str(ckpt))
    assert [r.alpha for r in again.levels] == [r.alpha for r in rows]
    assert [r.diagnostics.seconds for r in again.levels] == [r.diagnostics.seconds for r in rows]  # read back


def test_frsb_and_table_cli_write_plots(chain, tmp_path, jaxcap_cli, table_stand_ins):
    """``--plot`` on ``frsb`` (resumed from a finished checkpoint) and on ``table``; a checkpoint
    computed with another ``--spacing`` is refused."""
    from jaxcap._src.checkpoint import write_levels
    from jaxcap._src.frsb import checkpoint_key
    ckpt, frsb_png, table_png = tmp_path / "frsb.json", tmp_path / "frsb.png", tmp_path / "table.png"
    write_levels(ckpt, checkpoint_key(0.0), chain)
    run = jaxcap_cli("frsb", "--max-level", "3", "--checkpoint", ckpt, "--json", "--plot", frsb_png)
    assert run.code == 0, run
    assert run.json()["alphas"] == [r.alpha for r in chain] and frsb_png.stat().st_size > 1000
    run = jaxcap_cli("frsb", "--max-level", "3", "--checkpoint", ckpt, "--spacing", "0.01")
    assert run.code == 2 and str(ckpt) in run.err and "spacing" in run.err and len(run.lines()) == 1, run
    run = jaxcap_cli("table", "--max-level", "0", "--plot", table_png)
    assert run.code == 0, run
    assert table_png.stat().st_size > 1000


def test_extrapolation_recovers_a_known_power_law():
    from jaxcap._src.extrapolation import extrapolate
    levels = [1, 2, 3, 4, 5]
    alphas = [6.698 + 0.0178 * r ** -2.8 for r in levels]
    fit = extrapolate(levels, alphas)
    assert fit["alpha_inf"] == pytest.approx(6.698, abs=1e-9)
    assert fit["p"] == pytest.approx(2.8, abs=1e-6)
    with pytest.raises(ValueError):
        extrapolate([0, 1, 2], [7.6, 6.7, 6.70])


def test_extrapolation_recovers_a_known_shifted_power_law():
    """With five or more levels r >= 2 the fit is the shifted law, the left-out-level spread included."""
    from jaxcap._src.extrapolation import MODEL, extrapolate
    levels = list(range(0, 9))
    alphas = [6.69805 + 0.14 * (r + 0.7) ** -4.1 for r in levels]
    fit = extrapolate(levels, alphas)
    assert fit["model"] == MODEL and fit["fit_levels"] == [2, 3, 4, 5, 6, 7, 8]
    assert fit["alpha_inf"] == pytest.approx(6.69805, abs=1e-9)
    # the bar is the distance to the second model (the left-out-level fits are exact here)
    assert fit["alpha_inf_err"] == pytest.approx(abs(fit["alpha_inf_alternative"] - 6.69805), rel=1e-3)
    assert fit["alpha_inf_err"] < 5e-6
    assert fit["p"] == pytest.approx(4.1, abs=1e-5) and fit["s"] == pytest.approx(0.7, abs=1e-5)


def test_ascent_fallback_reaches_the_same_level_two_solution(chain, monkeypatch):
    """With no Newton-only tries every split start is ascended first (the fallback path)."""
    import importlib
    th = importlib.import_module("jaxcap._src.threshold")
    monkeypatch.setattr(importlib.import_module("jaxcap._src.driver"), "DIRECT_TRIES", 0)   # the one driver's
    driver = importlib.import_module("jaxcap._src.driver")
    res = th._level_result(2, 0.0, None, driver.starts(th.objective(), 2, jaxcap._src.result.start_params(chain[1], 1)))
    assert res.alpha == pytest.approx(chain[2].alpha, abs=1e-9)
    assert res.diagnostics.grad_norm <= 1e-9 and res.diagnostics.hessian_max_eig < 0


def test_energy_below_the_zero_energy_boundary_says_so():
    """Below alpha_sat (Gardner's capacity at kappa <= 0: 2 at kappa = 0) e_r = 0 is a supremum at
    chi -> infinity: no finite maximum to return, said before any solve."""
    from jaxcap._src.zero_energy import gardner
    for alpha, level, kappa in ((1.0, 1, 0.0), (2.0, 3, 0.0), (0.5, 2, -0.5)):
        with pytest.raises(jaxcap.ConvergenceError, match="zero-energy boundary") as info:
            jaxcap.energy(alpha, level, kappa=kappa)
        assert info.value.diagnostics["alpha_sat"] == pytest.approx(gardner(kappa)[0], rel=1e-14)

