"""The single-solve commands through ``main(argv)``: strict JSON alone on stdout, the right numbers,
partial results kept, plots written."""
import json

import numpy as np
import pytest

from jaxcap.references import DAT_ALPHA, RS_ALPHA


def test_threshold_json_reports_dalpha_dkappa(jaxcap_cli):
    run = jaxcap_cli("threshold", "--level", "0", "--kappa", "0.1", "--json")
    assert run.code == 0, run
    payload = run.json()
    for key in ("alpha", "energy", "level", "kappa", "params", "diagnostics", "dalpha_dkappa"):
        assert key in payload
    assert payload["dalpha_dkappa"] > 0 and run.out.count("\n") == 1


def test_threshold_text(jaxcap_cli):
    run = jaxcap_cli("threshold", "--level", "0")
    assert run.code == 0, run
    assert run.out.startswith("level 0, kappa 0: alpha = 7.64769")


def test_sat_json(jaxcap_cli):
    run = jaxcap_cli("sat", "--kappa", "-0.5", "--json")
    assert run.code == 0, run
    assert run.json()["alpha"] == pytest.approx(0.9612050528, rel=1e-9)


def test_dat_json_and_text(jaxcap_cli, monkeypatch):
    # the dAT line itself is tested in test_temperature.py; here its printing, with a non-finite entry
    import jaxcap
    from jaxcap._src.result import Quantities
    seen = {}

    def dat_threshold(kappa, **options):
        seen.update(kappa=kappa, **options)
        return Quantities("dat", {"alpha": DAT_ALPHA, "beta": 2.0, "q": 0.5, "dalpha_dkappa": float("inf"),
                                  "diagnostics": {"quad_error": 1e-9, "seconds": 0.1}})

    monkeypatch.setattr(jaxcap, "dat_threshold", dat_threshold)   # the command calls the public API
    run = jaxcap_cli("dat", "--kappa", "-.5", "--spacing", "0.02", "--json")
    assert run.code == 0 and seen == {"kappa": -0.5, "spacing": 0.02}, run
    payload = json.loads(run.out, parse_constant=lambda name: pytest.fail(name))
    assert payload["alpha"] == DAT_ALPHA and payload["dalpha_dkappa"] is None
    assert payload["non_finite"] == {"dalpha_dkappa": "+inf"}
    run = jaxcap_cli("dat")
    assert run.code == 0 and run.out.startswith(f"dAT line at kappa 0: alpha = {DAT_ALPHA:.10f}"), run


def test_curve_is_a_sweep_with_tangents(jaxcap_cli, tmp_path):
    png = tmp_path / "curve.png"
    run = jaxcap_cli("curve", "--level", "0", "--kappa-from", "-0.2", "--kappa-to", "0.2", "--points", "5",
                     "--json", "--plot", png)
    assert run.code == 0, run
    payload = run.json()
    assert set(payload) == {"level", "results", "seconds"}       # the sweep's keys
    pts = payload["results"]
    assert len(pts) == 5 and png.stat().st_size > 1000 and all(p["converged"] for p in pts)
    alphas = [p["alpha"] for p in pts]
    slopes = [p["dalpha_dkappa"] for p in pts]
    assert np.all(np.diff(alphas) > 0) and np.all(np.array(slopes) > 0)
    # the tabulated slopes integrate to the tabulated change (trapezoid, spacing 0.1)
    assert np.trapezoid(slopes, dx=0.1) == pytest.approx(alphas[-1] - alphas[0], rel=1e-2)
    assert pts[2]["alpha"] == pytest.approx(RS_ALPHA, abs=2e-6)


def test_table_keeps_the_levels_before_a_failure(jaxcap_cli, monkeypatch, table_stand_ins):
    import jaxcap
    from jaxcap._src.result import ConvergenceError
    real = jaxcap.threshold_chain

    def failing_chain(max_level, **kw):
        yield from real(0, **kw)
        raise ConvergenceError("level 1 did not converge", {"grad_norm": float("nan")})

    monkeypatch.setattr(jaxcap, "threshold_chain", failing_chain)
    run = jaxcap_cli("table", "--max-level", "2", "--json")
    assert run.code == 3, run
    payload = json.loads(run.out)
    assert [r["level"] for r in payload["levels"]] == [0]
    assert payload["failed"]["level"] == 1 and payload["failed"]["converged"] is False
    assert payload["non_finite"] == {"failed.diagnostics.grad_norm": "nan"}
    assert "not converged at level 1" in run.err and "Traceback" not in run.err


def test_strict_json_maps_non_finite_to_null_with_a_reason():
    from jaxcap.cli.output import dumps
    text = dumps({"a": float("inf"), "b": [1.0, float("nan")], "c": {"d": -float("inf")}})
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": {"d": None},
                                "non_finite": {"a": "+inf", "b[1]": "nan", "c.d": "-inf"}}


def test_frsb_keeps_the_levels_before_a_failure_in_its_output_and_checkpoint(jaxcap_cli, monkeypatch, tmp_path):
    import jaxcap
    import jaxcap._src.frsb
    from jaxcap._src import checkpoint
    from jaxcap._src.result import ConvergenceError
    real = jaxcap.threshold_chain

    def failing_chain(max_level, resume=(), **kw):
        if not resume:
            yield from real(0, **kw)
        raise ConvergenceError("level 1 did not converge", {"grad_norm": 1.0})

    monkeypatch.setattr(jaxcap._src.frsb, "threshold_chain", failing_chain)
    ck = tmp_path / "frsb.json"
    for _ in range(2):           # computed, then loaded from the checkpoint
        run = jaxcap_cli("frsb", "--max-level", "3", "--checkpoint", ck, "--json")
        assert run.code == 3, run
        payload = run.json()
        assert payload["levels"] == [0] and payload["failed"]["level"] == 1
        assert [r.level for r in checkpoint.read_levels(ck, jaxcap._src.frsb.checkpoint_key(0.0))] == [0]
    assert "level 0: alpha = 7.64769" in run.err and "from the checkpoint" in run.err
