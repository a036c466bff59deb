"""``jaxcap euler`` through ``main(argv)``: the exact value as ``"p/q"``, the threshold and its crossings,
the plot, one-line bad input (exit 2), and the Euler line of ``jaxcap table``."""
import json
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxcap._src import euler as E


def test_exact_value_as_json(jaxcap_cli):
    run = jaxcap_cli("euler", "--n", "3", "--m", "6", "--json")
    assert run.code == 0, run
    data = run.json()
    assert data["expected_euler"] == "13/8" and data["value"] == 1.625 and data["n"] == 3 and data["m"] == 6
    assert run.out.count("\n") == 1


def test_a_long_exact_value_is_printed_whole_in_json_and_abridged_in_text(jaxcap_cli):
    run = jaxcap_cli("euler", "--n", "400", "--m", "3336", "--json")
    assert run.code == 0, run
    data = run.json()
    assert Fraction(data["expected_euler"]) == E.euler_characteristic(400, 3336)
    assert data["value"] == pytest.approx(float(E.euler_characteristic(400, 3336)), rel=1e-12)
    text = jaxcap_cli("euler", "--n", "400", "--m", "3336")
    assert text.code == 0 and "..." in text.out and "log|E chi| = -9.08" in text.out, text


def test_the_sphere_identity_prints_p_over_q(jaxcap_cli):
    data = jaxcap_cli("euler", "--n", "5", "--m", "2", "--json").json()
    assert data["expected_euler"] == "2/1" and data["value"] == 2.0


def test_threshold_with_crossings(jaxcap_cli):
    run = jaxcap_cli("euler", "--threshold", "--sizes", "50,100", "--json")
    assert run.code == 0, run
    data = run.json()
    assert data["alpha"] == E.euler_threshold().alpha and 0 < data["alpha_err"] < 1e-12
    assert [c["n"] for c in data["crossings"]] == [50, 100]
    assert data["crossings"][0]["alpha_n"] < data["crossings"][1]["alpha_n"] < data["alpha"]
    text = jaxcap_cli("euler", "--threshold", "--sizes", "")
    assert text.code == 0 and "alpha_Euler = 8.3" in text.out, text


def test_threshold_plot(jaxcap_cli, tmp_path, monkeypatch):
    from jaxcap.cli import euler as command
    monkeypatch.setattr(command, "PLOT_SIZES", (25, 50))          # the default sizes take seconds more
    png = tmp_path / "rates.png"
    run = jaxcap_cli("euler", "--threshold", "--sizes", "", "--plot", png)
    assert run.code == 0 and png.stat().st_size > 1000, run


@pytest.mark.parametrize("argv,needle", [
    (["--n", "0", "--m", "3"], "--n"),
    (["--n", "2.5", "--m", "3"], "--n"),
    (["--n", "3", "--m", "-1"], "--m"),
    (["--n", "3", "--m", "x"], "--m"),
    (["--n", "3"], "--m"),
    ([], "--threshold"),
    (["--n", "20000", "--m", "30000"], "JAXCAP_MAX_EULER_N"),
    (["--n", "3", "--m", "200000"], "JAXCAP_MAX_EULER_ROWS"),
    (["--threshold", "--n", "3"], "--threshold"),
    (["--threshold", "--sizes", "10"], "--sizes"),
    (["--threshold", "--sizes", "100,x"], "--sizes"),
    (["--n", "3", "--m", "5", "--plot", "x.png"], "--plot"),
    (["--threshold", "--plot", "x.nosuchformat"], "--plot"),
])
def test_bad_input(jaxcap_cli, argv, needle):
    run = jaxcap_cli("euler", *argv)
    assert run.code == 2 and run.out == "", run
    assert len(run.lines()) == 1 and run.lines()[0].startswith("jaxcap: error:") and needle in run.lines()[0], run


def test_table_shows_the_euler_prediction_beside_the_rs_bound(jaxcap_cli, monkeypatch, table_stand_ins):
    """The table's layout with a stand-in level 0 (the published RS value; the solve itself is tested
    elsewhere and compiles for seconds)."""
    import numpy as np
    import jaxcap
    from jaxcap.references import RS_ALPHA
    from jaxcap._src.result import Diagnostics, Result

    def chain(max_level, **kw):
        yield Result(alpha=RS_ALPHA, energy=1.0, kappa=kw.get("kappa", 0.0), level=0,
                     params={"chi": 0.1, "q": np.zeros(0), "x": np.zeros(0)},
                     diagnostics=Diagnostics(grad_norm=0.0, hessian_max_eig=-1.0, quad_error=0.0, seconds=0.0))

    monkeypatch.setattr(jaxcap, "threshold_chain", chain)
    run = jaxcap_cli("table", "--max-level", "0", "--json")
    assert run.code == 0, run
    assert run.json()["euler"]["alpha"] == E.euler_threshold().alpha
    text = jaxcap_cli("table", "--max-level", "0")
    assert text.code == 0, text
    assert f"Euler-characteristic heuristic: alpha_Euler = {E.euler_threshold().alpha:.10f}" in text.out
    assert f"refuted, it lies above the rigorous RS upper bound alpha_0 = {RS_ALPHA:.7f}" in text.out
    other = jaxcap_cli("table", "--max-level", "0", "--kappa", "0.5", "--json")
    assert other.code == 0 and "euler" not in other.json() and "Euler" not in jaxcap_cli(
        "table", "--max-level", "0", "--kappa", "0.5").out


def test_a_value_beyond_the_float_range_is_null_with_its_exact_fraction_kept(jaxcap_cli):
    data = jaxcap_cli("euler", "--n", "1000", "--m", "3500", "--json").json()
    exact = E.euler_characteristic(1000, 3500)
    assert E.euler_log_abs(exact) > 710 and data["value"] is None
    assert data["non_finite"]["value"] in ("+inf", "-inf")
    assert Fraction(data["expected_euler"]) == exact
    assert data["log_abs_value"] == pytest.approx(E.euler_log_abs(exact))


INTS = ["0", "1", "2", "3", "+3", "007", "1_000", "99999999999999999999999", "-1", "1.5", "x", "", "1e3", "2.0"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.sampled_from(INTS) | st.integers(-3, 10 ** 6).map(str),
       m=st.sampled_from(INTS) | st.integers(-3, 10 ** 6).map(str), json_flag=st.booleans())
def test_every_size_keeps_the_contract(n, m, json_flag, capfd):
    """Exit 0 or 2, one line for bad input, strict JSON; sums that could take seconds are only checked."""
    from jaxcap.cli import main
    argv = ["euler", "--n", n, "--m", m] + (["--json"] if json_flag else [])
    try:
        cheap = int(m) <= 3000 or int(m) < int(n)
    except ValueError:
        cheap = True
    capfd.readouterr()
    code = main(argv, dry_run=not cheap)
    out, err = capfd.readouterr()
    assert code in (0, 2) and "Traceback" not in err, (argv, code, err)
    if code == 2:
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("jaxcap: error: "), (argv, err)
    elif cheap and json_flag:
        data = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON of {argv}"))
        assert Fraction(data["expected_euler"]) == E.euler_characteristic(int(n), int(m))
