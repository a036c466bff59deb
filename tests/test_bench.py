"""The benchmark machinery (jaxcap/bench.py) on a tiny subset of the suite (~20 s)."""
import argparse
import json
import math

import pytest

from jaxcap import bench

TIMING_KEYS = {"name", "kind", "seconds_cold", "seconds_warm", "warm_spread", "accuracy", "baseline_seconds"}


def _parse(*argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    bench.register(sub)
    return p.parse_args(["bench", *argv])


def test_task_lists():
    quick = {t.name: t for t in bench.task_list(quick=True)}
    full = {t.name: t for t in bench.task_list(quick=False)}
    assert "threshold-L3" in full and "threshold-L3" not in quick
    assert full["threshold-L2"].baseline and not quick["threshold-L2"].baseline
    assert all(full[f"threshold-L{r}"].baseline for r in (0, 1))
    sweep = full["sweep-L1-kappa"]
    assert len(sweep.kappas) == 20 and sweep.kappas[0] == -0.1 and sweep.kappas[-1] == 0.1 and sweep.baseline
    for tasks in (quick, full):   # the batched sweep solves the loop's points, against the same baseline
        assert tasks["sweep-L1-batched"].kappas == tasks["sweep-L1-kappa"].kappas and tasks["sweep-L1-batched"].baseline
    assert full["frsb-quality"].kind == "frsb" and "frsb-quality" not in quick
    assert {f"grad-grid-L{r}" for r in range(1, 7)} <= set(full)
    assert {f"grad-tensor{q}-L{r}" for q in (32, 64, 128) for r in (1, 2, 3)} <= set(full)
    with pytest.raises(ValueError, match="unknown benchmark task"):
        bench._select(bench.task_list(True), "threshold-L9")


def test_bench_cli_subset(tmp_path, capsys):
    out = tmp_path / "res.json"
    args = _parse("--quick", "--json", "--out", str(out), "--tasks", "threshold-L0,sweep-L1-batched,grad-grid-L1")
    assert args.func is bench.run_bench_cli
    assert args.func(args) == 0
    stdout = capsys.readouterr().out
    payload = json.loads(stdout)                      # exactly one JSON object on stdout
    assert stdout.strip().count("\n") == 0
    assert json.loads(out.read_text()) == payload
    assert (tmp_path / "res-grad-cost.png").exists() == (payload.get("plot") is not None)

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
        assert t["seconds_cold"] > t["seconds_warm"]        # cold includes JIT compilation

    th = tasks["threshold-L0"]
    assert abs(th["alpha"] - 7.647695) < 1e-6 and th["alpha"] == th["alpha_cold"]
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

    table = bench.markdown_table(payload)
    assert "| threshold-L0 |" in table and "| sweep-L1-batched |" in table and "evals / s" in table


def test_bench_cli_bad_task_name():
    args = _parse("--quick", "--tasks", "nonsense")
    with pytest.raises(ValueError, match="unknown benchmark task"):
        args.func(args)
