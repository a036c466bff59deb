"""``benchmarks/gpu.py --small``: the accelerator benchmark runs end to end on the CPU and writes
strict JSON with every part (so the script cannot rot before a GPU runs it)."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.examples
def test_gpu_benchmark_small_writes_every_part(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert _script().main(["--small", "--repeats", "2", "--out", str(out)]) == 0
    payload = json.loads(out.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert payload["small"] is True and payload["backend"] and payload["device"]
    for name in ("tensor", "grid"):
        row = payload["engine"][name]
        assert row["engine"] == name and 0.0 < row["seconds_warm"] <= row["seconds_cold"]
    tensor = payload["tensor_threshold"]
    assert tensor["level"] == 1 and abs(tensor["alpha"] - tensor["alpha_warm"]) < 1e-9
    sweep = payload["sweep"]
    assert sweep["converged"] == sweep["points"] == 4 and sweep["thresholds_per_second"] > 0.0
    frsb = payload["frsb"]
    assert len(frsb["alphas"]) == 4 and all(a > b for a, b in zip(frsb["alphas"], frsb["alphas"][1:]))
    assert math.isfinite(frsb["alpha_inf"]) and frsb["alpha_inf"] < frsb["alphas"][-1] + frsb["alpha_inf_err"]
    assert "wrote" in capsys.readouterr().out
