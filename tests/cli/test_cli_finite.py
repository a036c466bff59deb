"""``jaxcap finite`` through ``main(argv)``: JSON alone on stdout (no HiGHS chatter), reproducible
trials, one-line bad input, plots, workers."""
import numpy as np
import pytest

from jaxcap._src import finite as F


def test_json(jaxcap_cli):
    run = jaxcap_cli("finite", "--n", "3", "--alphas", "2,4,6", "--trials", "6", "--seed", "5", "--json",
                     "--method", "milp")
    assert run.code == 0, run
    data = run.json()
    assert data["n"] == 3 and data["trials"] == 6 and data["seed"] == 5 and data["seconds"] >= 0
    assert [r["alpha"] for r in data["results"]] == [2.0, 4.0, 6.0]
    assert [r["m"] for r in data["results"]] == [6, 12, 18]
    for ai, r in enumerate(data["results"]):
        assert len(r["min_active"]) == 6
        k = sum(v >= 3 for v in r["min_active"])
        assert r["p_injective"] == k / 6
        lo, hi = r["ci"]
        assert 0 <= lo <= r["p_injective"] <= hi <= 1 and hi - lo > 0.1
        assert (lo, hi) == pytest.approx(F.wilson_interval(k, 6))
        assert r["mean_min_active_over_n"] == pytest.approx(np.mean(r["min_active"]) / 3)
        # reproducible from (seed, alpha index, trial), recomputed by the other method
        for t, v in enumerate(r["min_active"]):
            W = F.trial_rng(5, ai, t).standard_normal((r["m"], 3))
            assert F.min_active_enumerate(W).value == v


def test_table_and_reproducible(jaxcap_cli):
    run = jaxcap_cli("finite", "--n", "2", "--alphas", "3,5", "--trials", "4")
    assert run.code == 0 and "alpha" in run.out and "P(inj)" in run.out, run
    d1 = jaxcap_cli("finite", "--n", "2", "--alphas", "3,5", "--trials", "4", "--json").json()
    d2 = jaxcap_cli("finite", "--n", "2", "--alphas", "3,5", "--trials", "4", "--json").json()
    assert [r["min_active"] for r in d1["results"]] == [r["min_active"] for r in d2["results"]]


@pytest.mark.parametrize("argv,needle", [
    (["--n", "0", "--alphas", "3", "--trials", "2"], "--n"),
    (["--n", "x", "--alphas", "3", "--trials", "2"], "--n"),
    (["--n", "3", "--alphas", "3,abc", "--trials", "2"], "--alphas"),
    (["--n", "3", "--alphas", "", "--trials", "2"], "--alphas"),
    (["--n", "3", "--alphas", "3,-1", "--trials", "2"], "--alphas"),
    (["--n", "3", "--alphas", "0", "--trials", "2"], "--alphas"),
    (["--n", "3", "--alphas", "nan", "--trials", "2"], "--alphas"),
    (["--n", "3", "--alphas", "3", "--trials", "0"], "--trials"),
    (["--n", "1", "--alphas", "0.4", "--trials", "2"], "m ="),
    (["--n", "3", "--alphas", "3", "--trials", "2", "--seed", "-1"], "--seed"),
    (["--n", "3", "--alphas", "3", "--trials", "2", "--method", "x"], "--method"),
    (["--alphas", "3", "--trials", "2"], "--n"),
])
def test_bad_input(jaxcap_cli, argv, needle):
    run = jaxcap_cli("finite", *argv)
    assert run.code == 2 and run.out == "", run
    assert len(run.lines()) == 1 and run.lines()[0].startswith("jaxcap: error:") and needle in run.lines()[0], run


def test_plot(jaxcap_cli, tmp_path):
    f = tmp_path / "p.png"
    run = jaxcap_cli("finite", "--n", "2", "--alphas", "2,4", "--trials", "3", "--plot", f)
    assert run.code == 0 and f.stat().st_size > 1000, run


def test_workers_same_result(jaxcap_cli):
    argv = ["finite", "--n", "2", "--alphas", "3,4", "--trials", "3", "--json"]
    d1 = jaxcap_cli(*argv).json()
    d2 = jaxcap_cli(*argv, "--workers", "2").json()
    assert d1["results"] == d2["results"]
