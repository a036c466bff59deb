"""``jaxcap bench`` through ``main(argv)`` on a tiny subset of the suite (~20 s: each task runs in a
fresh process, as the benchmark requires)."""
import json
import math

from jaxcap.cli.output import bench_table
from jaxcap.references import RS_ALPHA

TIMING_KEYS = {"name", "kind", "seconds_cold", "seconds_warm", "warm_spread", "accuracy", "baseline_seconds"}


def test_bench_subset(jaxcap_cli, tmp_path):
    out = tmp_path / "res.json"
    run = jaxcap_cli("bench", "--quick", "--json", "--out", out, "--tasks", "threshold-L0,sweep-L1-batched,grad-grid-L1")
    assert run.code == 0, run
    stdout = run.out
    payload = json.loads(stdout)                      # exactly one JSON object on stdout
    assert stdout.strip().count("\n") == 0
    assert json.loads(out.read_text()) == payload
    # a gradient task ran: its cost figure is written next to --out (matplotlib: the test extra)
    assert payload["plot"] == "res-grad-cost.png" and (tmp_path / "res-grad-cost.png").stat().st_size > 1000

    assert {"version", "backend", "machine", "tasks"} <= set(payload)
    assert payload["backend"] in ("cpu", "gpu", "tpu", "cuda", "rocm")
    assert payload["machine"]["cpu_count"] >= 1
    tasks = {t["name"]: t for t in payload["tasks"]}
    assert set(tasks) == {"threshold-L0", "sweep-L1-batched", "grad-grid-L1"}
    for t in tasks.values():
        assert TIMING_KEYS <= set(t), t
        assert "error" not in t, t
        assert t["seconds_cold"] > 0 and t["seconds_warm"] > 0
        lo, hi = t["warm_spread"]
        assert 0 < lo <= t["seconds_warm"] <= hi

    th = tasks["threshold-L0"]
    assert abs(th["alpha"] - RS_ALPHA) < 1e-6 and th["alpha"] == th["alpha_cold"]
    assert th["baseline_seconds"] > 0
    assert abs(th["alpha_difference"]) < 1e-8 and th["accuracy"] == abs(th["alpha_difference"])
    assert math.isclose(th["speedup_cold"], th["baseline_seconds"] / th["seconds_cold"])
    assert math.isclose(th["speedup_warm"], th["baseline_seconds"] / th["seconds_warm"])

    sw = tasks["sweep-L1-batched"]
    assert len(sw["alphas"]) == len(sw["baseline_alphas"]) == 4
    assert sw["accuracy"] == max(abs(d) for d in sw["alpha_differences"]) < 1e-7
    assert math.isclose(sw["speedup_warm"], sw["baseline_seconds"] / sw["seconds_warm"])

    g = tasks["grad-grid-L1"]
    assert g["baseline_seconds"] is None and "speedup_cold" not in g and "speedup_warm" not in g
    assert g["engine"] == "grid" and g["level"] == 1
    assert math.isclose(g["evals_per_second"], 1.0 / g["seconds_warm"])
    assert math.isfinite(g["value"])

    table = bench_table(payload)
    assert "| threshold-L0 |" in table and "| sweep-L1-batched |" in table and "evals / s" in table


def test_bad_task_name_and_unwritable_out_are_refused_before_any_work(jaxcap_cli, tmp_path):
    run = jaxcap_cli("bench", "--quick", "--tasks", "nonsense")
    assert run.code == 2 and "unknown benchmark task" in run.err and len(run.lines()) == 1, run
    run = jaxcap_cli("bench", "--quick", "--out", tmp_path / "missing" / "res.json")
    assert run.code == 2 and "--out" in run.err and "does not exist" in run.err and len(run.lines()) == 1, run
