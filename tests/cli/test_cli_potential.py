"""``--potential`` and ``--epsilon``: the JSON echoes the potential, bad ones exit 2, sat accepts only
potentials with the count's zero-energy line."""
import json

import numpy as np

import jaxcap


def test_energy_of_the_quadratic_hinge(jaxcap_cli):
    run = jaxcap_cli("energy", "--alpha", 8, "--level", 0, "--kappa", 0.5, "--potential", "quadratic", "--json")
    assert run.code == 0, run
    out = run.json()
    assert out["potential"]["name"] == "quadratic" and out["potential"]["breaks"] == [0.0]
    assert out["energy"] == jaxcap.energy(8.0, 0, kappa=0.5, potential="quadratic").energy


def test_energy_below_the_line_exits_3_with_zero(jaxcap_cli):
    run = jaxcap_cli("energy", "--alpha", 4, "--level", 0, "--kappa", 0.5, "--potential", "linear", "--json")
    assert run.code == 3, run
    diag = run.json()["diagnostics"]
    assert diag["zero_energy_phase"] and diag["energy"] == 0.0 and diag["alpha_sat"] > 4


def test_a_json_potential_and_a_level_set(jaxcap_cli, tmp_path):
    path = tmp_path / "hinge.json"
    path.write_text(json.dumps({"name": "file hinge", "breaks": [0.0],
                                "pieces": [{"a": 0, "b": 0, "c": 0}, {"a": 0.5, "b": 0, "c": 0}]}))
    run = jaxcap_cli("threshold", "--level", 0, "--kappa", 0.5, "--potential", str(path), "--epsilon", 0.05, "--json")
    assert run.code == 0, run
    out = run.json()
    assert out["potential"]["name"] == "file hinge"
    np.testing.assert_allclose(out["energy"], 0.05, rtol=1e-12)
    np.testing.assert_allclose(out["alpha"], jaxcap.threshold(0, kappa=0.5, potential="quadratic", epsilon=0.05).alpha,
                               rtol=1e-13)


def test_bad_potentials_exit_2(jaxcap_cli, tmp_path):
    run = jaxcap_cli("energy", "--alpha", 8, "--level", 1, "--potential", "cubic")
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1 and "--potential" in run.err, run
    bad = tmp_path / "bad.json"
    bad.write_text('{"breaks": [0.0], "pieces": [{"a": -1, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 0}]}')
    run = jaxcap_cli("energy", "--alpha", 8, "--level", 1, "--potential", str(bad))
    assert run.code == 2 and "a >= 0" in run.err, run
    run = jaxcap_cli("threshold", "--level", 1, "--epsilon", 0)
    assert run.code == 2 and "--epsilon" in run.err, run


def test_sat_of_a_potential(jaxcap_cli, tmp_path):
    run = jaxcap_cli("sat", "--kappa", 0.5, "--potential", "quadratic", "--json")
    assert run.code == 0, run
    assert run.json()["alpha"] == jaxcap.sat(0.5, 0).alpha and run.json()["potential"]["name"] == "quadratic"
    other = tmp_path / "everywhere.json"
    other.write_text('{"breaks": [], "pieces": [{"a": 0.5, "b": 0, "c": 0}]}')
    run = jaxcap_cli("sat", "--kappa", 0.5, "--potential", str(other))
    assert run.code == 2 and "zero-energy line" in run.err, run
