"""Below the zero-energy line no energy is printed, and ``sat --max-level`` prints the levels that
converged before one that did not."""
import jaxcap
from jaxcap._src import zero_energy
from jaxcap._src.result import ConvergenceError


def test_level_0_energy_below_the_zero_energy_line_exits_3(jaxcap_cli):
    run = jaxcap_cli("energy", "--alpha", 1.5, "--level", 0, "--json")
    assert run.code == 3, run
    assert run.json()["diagnostics"]["alpha_sat"] == zero_energy.gardner(0.0)[0]
    assert "zero-energy boundary" in run.err
    above = jaxcap_cli("energy", "--alpha", 2.5, "--level", 0)
    assert above.code == 0, above


def test_sat_level_and_max_level_exclude_each_other(jaxcap_cli):
    run = jaxcap_cli("sat", "--kappa", 0.5, "--level", 1, "--max-level", 2)
    assert run.code == 2 and "exclude each other" in run.err, run


def test_sat_max_level_prints_the_converged_levels_first(jaxcap_cli, monkeypatch):
    level_0 = jaxcap.sat(0.5, 0)

    def chain(max_level, kappa, **options):
        yield level_0
        raise ConvergenceError("no verified level-1 minimum", {"level": 1})
    monkeypatch.setattr(jaxcap, "sat_chain", chain)          # the public name the command calls
    run = jaxcap_cli("sat", "--kappa", 0.5, "--max-level", 2, "--json")
    assert run.code == 3, run
    payload = run.json()
    assert payload["levels"] == [0] and payload["failed"]["level"] == 1
    assert payload["alphas"][0] == zero_energy.gardner(0.5)[0]
    text = jaxcap_cli("sat", "--kappa", 0.5, "--max-level", 2)
    assert text.code == 3 and text.out.startswith("level 0, kappa 0.5: alpha_sat = ") and "not converged" in text.err
