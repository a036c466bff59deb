"""``jaxcap structure`` through ``main(argv)``: the JSON keys, the level-0 closed forms, the extrapolated
limit, the plot, and bad input refused before any work (exit 2)."""
import math

import pytest
from scipy.stats import norm


def test_one_level_json(jaxcap_cli):
    run = jaxcap_cli("structure", "--level", "0", "--json")
    assert run.code == 0, run
    payload = run.json()
    for key in ("alpha", "level", "kappa", "fractions", "contacts_per_dimension", "parisi", "moments", "density"):
        assert key in payload
    assert set(payload["fractions"]) == {"negative", "contact", "positive"}
    assert sum(payload["fractions"].values()) == pytest.approx(1.0, abs=1e-14)
    assert payload["contacts_per_dimension"] == pytest.approx(payload["alpha"] / 2 - 1, abs=1e-9)
    assert payload["parisi"] == {"x": [], "q": [], "variable": "x"} and run.out.count("\n") == 1


def test_one_level_text_and_plot(jaxcap_cli, tmp_path):
    path = tmp_path / "s.png"
    run = jaxcap_cli("structure", "--sat", "--kappa", "0.5", "--level", "0", "--plot", path)
    assert run.code == 0, run
    assert run.out.startswith("level 0, kappa 0.5 (zero-energy line): alpha = 4.77009888")
    assert f"c = {4.7700988826 * norm.cdf(-0.5):.9f}"[:12] in run.out and path.stat().st_size > 1000


def test_extrapolate_json_and_plot(jaxcap_cli, tmp_path):
    # kappa <= 0: every level of the line is the replica-symmetric point, and so is the limit
    path = tmp_path / "c.png"
    run = jaxcap_cli("structure", "--sat", "--kappa", "-0.5", "--max-level", "3", "--extrapolate", "--json",
                     "--plot", path)
    assert run.code == 0, run
    payload = run.json()
    c0 = payload["alpha"] * norm.cdf(0.5)
    assert payload["contacts_per_dimension_by_level"] == pytest.approx([c0] * 4, rel=1e-12)
    assert payload["contacts_per_dimension_inf"] == pytest.approx(c0, rel=1e-12)
    assert payload["contacts_per_dimension_inf_err"] == 0.0 and len(payload["per_level"]) == 4
    assert path.stat().st_size > 1000 and math.isfinite(payload["alpha"])


@pytest.mark.parametrize("argv, needle", [
    ((), "exactly one of --level R and --max-level K"),
    (("--level", "1", "--max-level", "3"), "exactly one of"),
    (("--level", "1", "--extrapolate"), "--extrapolate needs --max-level"),
    (("--max-level", "2", "--extrapolate"), "--extrapolate needs --max-level"),
    (("--level", "-1"), "--level"),
    (("--level", "1", "--kappa", "nan"), "--kappa"),
    (("--level", "1", "--plot", "out.nonsense"), "--plot"),
])
def test_bad_input_exits_2(jaxcap_cli, argv, needle):
    run = jaxcap_cli("structure", *argv, dry_run=True)
    assert run.code == 2, run
    assert needle in run.err and len(run.lines()) == 1
