"""``jaxcap table``'s side-by-side rows: FRSB limit, dAT line and the exact finite-size estimate, each with
its method, in the text and the JSON (the levels are stand-ins; the solves are tested elsewhere)."""
import json

import numpy as np
import pytest

from jaxcap.references import DAT_ALPHA, FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA

LEVELS = [RS_ALPHA, ONE_RSB_ALPHA, 6.7003919, 6.6986878]      # alpha_0..alpha_3 (README's table)


@pytest.fixture
def levels(monkeypatch):
    import jaxcap
    from jaxcap._src.result import Diagnostics, Result

    def chain(max_level, **kw):
        for r, a in enumerate(LEVELS[:max_level + 1]):
            yield Result(alpha=a, energy=1.0, kappa=kw.get("kappa", 0.0), level=r,
                         params={"chi": 0.1, "q": np.full(r, 0.5), "x": np.full(r, 1.0)},
                         diagnostics=Diagnostics(grad_norm=0.0, hessian_max_eig=-1.0, quad_error=0.0, seconds=0.0))

    monkeypatch.setattr(jaxcap, "threshold_chain", chain)


def test_frsb_dat_and_a_real_finite_row_side_by_side(jaxcap_cli, levels, monkeypatch):
    import jaxcap
    from jaxcap._src.extrapolation import extrapolate
    from jaxcap._src.finite_threshold import finite_threshold
    from jaxcap._src.result import Quantities
    monkeypatch.setattr(jaxcap, "dat_threshold", lambda kappa, **o: Quantities(
        "dat", {"alpha": DAT_ALPHA, "kappa": kappa, "beta": 3.0, "q": 0.7, "diagnostics": {"seconds": 0.0}}))
    argv = ("table", "--max-level", "3", "--finite-n", "2", "--finite-trials", "5")
    data = jaxcap_cli(*argv, "--json").json()
    fit = extrapolate(range(4), LEVELS)
    assert data["frsb"]["alpha_inf"] == fit["alpha_inf"] and "extrapolat" in data["frsb"]["method"]
    assert abs(data["frsb"]["alpha_inf"] - FRSB_ALPHA) < 1e-3 and data["frsb"]["reliable"] is False
    assert data["dat"]["alpha"] == DAT_ALPHA and "dat_threshold" in data["dat"]["method"]
    exact = finite_threshold(2, 5)                               # computed for real, n = 2
    assert data["finite"]["alphas"] == exact["alphas"] and data["finite"]["ci"] == exact["ci"]
    assert data["finite"]["n"] == 2 and data["finite"]["trials"] == 5 and "min_active" in data["finite"]["method"]
    assert data["finite"]["exact_method"] == "auto"
    assert "euler_threshold" in data["euler"]["method"]
    text = jaxcap_cli(*argv).out
    assert f"FRSB limit             {fit['alpha_inf']:.7f} +- {fit['alpha_inf_err']:.1e}" in text
    assert f"dAT line               {DAT_ALPHA:.10f}" in text
    assert (f"finite size, n = 2     {exact['alpha']:.4f} [{exact['ci'][0]:.4f}, {exact['ci'][1]:.4f}]" in text
            and "median of 5 layers" in text)
    rows = [line.split()[0] for line in text.split("Side by side")[1].splitlines()[2:9]]
    assert rows == ["Euler", "level", "level", "level", "level", "FRSB", "dAT"]
    for word in ("Euler: ", "level 0: ", "FRSB: ", "dAT: ", "finite: exact at small n"):
        assert word in text


def test_rows_at_other_kappas_and_with_few_levels(jaxcap_cli, levels, table_stand_ins):
    data = jaxcap_cli("table", "--max-level", "1", "--json").json()
    assert "frsb" not in data and data["dat"]["alpha"] == DAT_ALPHA and data["finite"]["n"] == 4
    assert table_stand_ins == [("dat", 0.0), ("finite", 4, 40)]
    assert "needs three levels r >= 1" in jaxcap_cli("table", "--max-level", "1", "--finite-n", "0").out
    other = jaxcap_cli("table", "--max-level", "3", "--kappa", "0.5", "--json").json()
    assert "frsb" in other and not {"dat", "finite", "euler"} & set(other)
    assert [k for k, *_ in table_stand_ins] == ["dat", "finite", "dat"]


def test_a_failed_dat_solve_exits_3_after_the_table(jaxcap_cli, levels, table_stand_ins, monkeypatch):
    import jaxcap
    from jaxcap._src.result import ConvergenceError

    def fails(kappa, **o):
        raise ConvergenceError("dAT Newton did not reach |F| < 1e-11", {"kappa": kappa})

    monkeypatch.setattr(jaxcap, "dat_threshold", fails)
    run = jaxcap_cli("table", "--max-level", "0", "--json")
    assert run.code == 3, run
    data = run.json()
    assert data["dat"]["converged"] is False and [r["level"] for r in data["levels"]] == [0]
    assert "not converged (dat)" in run.err and "Traceback" not in run.err
    assert json.loads(run.lines()[-1])["diagnostics"] == {"kappa": 0.0}


@pytest.mark.parametrize("argv,needle", [(("--finite-n", "11"), "--finite-n"), (("--finite-n", "-1"), "--finite-n"),
                                         (("--finite-trials", "0"), "--finite-trials")])
def test_bad_finite_options(jaxcap_cli, argv, needle):
    run = jaxcap_cli("table", *argv)
    assert run.code == 2 and run.out == "" and len(run.lines()) == 1 and needle in run.err, run
