"""The benchmark task list (jaxcap/_src/bench.py) and the SciPy baseline shipped in the package."""
import pytest

from jaxcap._src import bench
from jaxcap.references import RS_ALPHA


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
        bench.select(bench.task_list(True), "threshold-L9")


def test_scipy_baseline_is_part_of_the_package():
    from jaxcap import scipy_baseline
    res = scipy_baseline.threshold(0)
    assert res["alpha"] == pytest.approx(RS_ALPHA, abs=2e-6)
