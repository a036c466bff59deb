"""Benchmarks: jaxcap against the conventional SciPy baseline, side by side (``jaxcap bench``).

Tasks
-----
* ``threshold-L0`` … ``threshold-L3``: ``jaxcap.threshold(r)`` (the whole chain
  ``0..r``, as a user calls it) against ``scipy_baseline.threshold(r)`` (levels
  0, 1, 2; the baseline solves level 1 first at level 2, too).
* ``sweep-L1-kappa``: level-1 thresholds at evenly spaced ``κ ∈ [−0.1, 0.1]``,
  a loop of ``jaxcap.threshold(1, kappa=k)`` in one process against a loop of
  ``scipy_baseline.threshold(1, kappa=k)``.
* ``sweep-L1-batched``: the same ``κ`` values in one compiled, vmapped
  ``jaxcap.sweep(1, kappas)`` against the same SciPy loop.
* ``frsb-quality``: ``frsb_sequence(6)`` (levels 0–6 and the ``r → ∞`` fit, as ``jaxcap frsb``),
  the FRSB-quality threshold; ``accuracy`` is the fit's error bar ``alpha_inf_err``
  (no baseline: the SciPy baseline stops at level 2).
* ``grad-grid-L<r>`` and ``grad-tensor<Q>-L<r>``: one jitted
  ``value_and_grad`` of ``energy_functional`` with respect to ``Params`` per
  engine, level and node count; the figure of merit is evaluations per second.

Timings
-------
* **cold**: the task in a fresh Python process (``sys.executable -c …``) with
  ``JAXCAP_CACHE_DIR=off`` and no JAX compilation cache, so JIT compilation is
  included.  The one-off ``import jaxcap`` and JAX backend start-up are timed
  apart (``import_seconds``); ``seconds_cold`` is the task itself.  Threshold
  tasks get a process each (they share compiled programs); the ``grad-*``
  tasks are distinct programs and share one process.
* **warm**: in the same fresh process, right after the cold run (which is
  its untimed warm-up), ``repeats`` timed runs; the median is
  ``seconds_warm`` and ``warm_spread`` is ``[min, max]``.  For ``grad-*``
  tasks it is the median time of one evaluation over several timed batches.
* **baseline**: the SciPy baseline (``benchmarks/baselines/scipy_baseline.py``,
  found next to the package; absent from an installed wheel) run in the
  benchmarking process right after the jaxcap task, so both see about the
  same machine load.  It compiles nothing, so cold = warm for it:
  ``baseline_seconds`` is the median of ``baseline_repeats`` runs.
  ``speedup_cold`` and ``speedup_warm`` are ``baseline_seconds /
  seconds_cold|warm`` (> 1: jaxcap is faster) and appear only where a
  baseline exists.

``accuracy`` is ``|α_jaxcap − α_baseline|`` where a baseline exists (the
largest over the sweep), else jaxcap's own ``quad_error`` estimate.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .result import _finite_or_none

__all__ = ["register", "run_bench_cli", "run_suite", "task_list", "markdown_table", "main"]

#: The line prefix under which a cold child process reports its timings on stdout.
_MARKER = "JAXCAP_BENCH_RESULT "
#: Parameters at which the ``grad-*`` tasks evaluate ``E_r`` (a typical point near the threshold).
GRAD_ALPHA = 6.7
GRAD_CHI = 0.05

EXIT_TASK_FAILED = 1
EXIT_NOT_CONVERGED = 3


# --------------------------------------------------------------------------------------------
# The task list
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    kind: str                    # "threshold" | "sweep" | "batched" | "frsb" | "grad"
    level: int = 0
    kappas: tuple = ()
    engine: str = ""
    nodes: int = 0
    repeats: int = 3             # warm repeats (grad: timed batches)
    baseline: bool = False       # run the SciPy baseline side by side
    baseline_repeats: int = 1

    def spec(self) -> dict:
        return dataclasses.asdict(self)


def _kappas(n: int) -> tuple:
    if n == 1:
        return (0.0,)
    return tuple(round(-0.1 + 0.2 * i / (n - 1), 12) for i in range(n))


def task_list(quick: bool) -> list[Task]:
    """The suite: full, or ``quick`` (no level 3, no level-2 baseline, a 4-point sweep, fewer grads)."""
    tasks = [
        Task("threshold-L0", "threshold", level=0, repeats=3 if quick else 5, baseline=True,
             baseline_repeats=3 if quick else 5),
        Task("threshold-L1", "threshold", level=1, repeats=3 if quick else 5, baseline=True,
             baseline_repeats=2 if quick else 3),
        Task("threshold-L2", "threshold", level=2, repeats=2 if quick else 3, baseline=not quick),
    ]
    if not quick:
        tasks.append(Task("threshold-L3", "threshold", level=3, repeats=2))
    tasks.append(Task("sweep-L1-kappa", "sweep", level=1, kappas=_kappas(4 if quick else 20),
                      repeats=1 if quick else 2, baseline=True))
    tasks.append(Task("sweep-L1-batched", "batched", level=1, kappas=_kappas(4 if quick else 20),
                      repeats=2 if quick else 3, baseline=True))
    if not quick:
        tasks.append(Task("frsb-quality", "frsb", level=6, repeats=1))
    for r in range(1, (4 if quick else 6) + 1):
        tasks.append(Task(f"grad-grid-L{r}", "grad", level=r, engine="grid", repeats=3 if quick else 5))
    for q in ((64,) if quick else (32, 64, 128)):
        for r in range(1, 4):
            tasks.append(Task(f"grad-tensor{q}-L{r}", "grad", level=r, engine="tensor", nodes=q,
                              repeats=3 if quick else 5))
    return tasks


def _select(tasks: list[Task], names: str | None) -> list[Task]:
    """Tasks whose name equals, or starts with, one of the comma-separated ``names``."""
    if not names:
        return tasks
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    chosen = [t for t in tasks if any(t.name == w or t.name.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(t.name == w or t.name.startswith(w) for t in tasks)]
    if unknown or not chosen:
        raise ValueError(f"unknown benchmark task(s) {', '.join(unknown) or names!r}; "
                         f"known: {', '.join(t.name for t in tasks)}")
    return chosen


# --------------------------------------------------------------------------------------------
# Running one task (the same code runs cold in a child process and warm in this one)
# --------------------------------------------------------------------------------------------

def _run_threshold(task: Task) -> dict:
    import jaxcap
    res = jaxcap.threshold(task.level)
    return {"alpha": res.alpha, "quad_error": res.diagnostics.quad_error}


def _run_sweep(task: Task, progress=None) -> dict:
    import jaxcap
    alphas, errors, seconds = [], [], []
    for i, k in enumerate(task.kappas):
        t0 = time.perf_counter()
        res = jaxcap.threshold(task.level, kappa=float(k))
        seconds.append(time.perf_counter() - t0)
        alphas.append(res.alpha)
        errors.append(res.diagnostics.quad_error)
        if progress:
            progress(f"  kappa {k:+.4f} ({i + 1}/{len(task.kappas)}): alpha = {res.alpha:.9f} ({seconds[-1]:.2f} s)")
    return {"alphas": alphas, "quad_error": max(errors) if errors else None, "seconds_per_kappa": seconds}


def _run_batched(task: Task) -> dict:
    from .result import ConvergenceError
    from .sweep import sweep
    out = sweep(task.level, list(task.kappas))
    if not all(r["converged"] for r in out):
        raise ConvergenceError(f"{sum(not r['converged'] for r in out)} of {len(out)} sweep elements "
                                      "did not converge")
    return {"alphas": [r["alpha"] for r in out], "quad_error": None}


def _run_frsb(task: Task) -> dict:
    from .frsb import frsb_sequence
    rows, fit, _ = frsb_sequence(task.level)
    return {"alpha": fit["alpha_inf"], "quad_error": fit["alpha_inf_err"], "alphas": [r.alpha for r in rows],
            "model": fit["model"]}


def grad_engine(task: Task):
    """The engine of a ``grad-*`` task: the default grid (spacing 0.01 at κ = 0) or Gauss–Hermite."""
    from .grid import GridEngine
    from .tensor import TensorEngine
    return GridEngine.around(0.0) if task.engine == "grid" else TensorEngine(nodes=task.nodes)


def grad_params(level: int):
    """A typical level-``level`` point: ``q_l = 1 − 0.25·2^{−l}``, ``x_l = 3·1.5^l``, ``χ = 0.05``."""
    import jax.numpy as jnp
    from .params import Params
    l = jnp.arange(level, dtype=jnp.float64)
    return Params(jnp.asarray(GRAD_CHI, dtype=jnp.float64), 1.0 - 0.25 * 0.5 ** l, 3.0 * 1.5 ** l)


def _grad_function(task: Task):
    import jax
    from .compilation import jit
    from .functional import energy_functional
    engine = grad_engine(task)
    fun = jit(jax.value_and_grad(lambda p: energy_functional(GRAD_ALPHA, p, 0.0, engine)))
    return fun, grad_params(task.level), engine


def _call_grad(fun, p):
    import jax
    value, grad = fun(p)
    jax.block_until_ready(grad)
    return float(value)


def _measure(task: Task, min_batch: float, progress=None) -> dict:
    """Cold, then warm, timings of ``task`` in this process (a fresh one: see :func:`_fresh`).

    The first run is timed as ``seconds_cold`` (JIT compilation included); it is also
    the untimed warm-up of the ``task.repeats`` warm runs that follow in the same process.
    """
    if task.kind == "grad":
        t0 = time.perf_counter()
        fun, p, engine = _grad_function(task)
        value = _call_grad(fun, p)                       # traces, compiles, evaluates
        cold = time.perf_counter() - t0
        per_eval = []
        for _ in range(task.repeats):
            n, t0 = 0, time.perf_counter()
            while True:
                _call_grad(fun, p)
                n += 1
                dt = time.perf_counter() - t0
                if dt >= min_batch:
                    break
            per_eval.append(dt / n)
        med, spread = _stats(per_eval)
        info = engine.describe()
        return {"seconds_cold": cold, "seconds_warm": med, "warm_spread": spread, "warm_repeats": task.repeats,
                "evals_per_second": 1.0 / med, "evals_per_second_spread": [1.0 / spread[1], 1.0 / spread[0]],
                "value": value, "engine": info["engine"], "level": task.level,
                "nodes": info.get("nodes"), "grid_spacing": info.get("spacing"),
                "leaf_evaluations": info["nodes"] ** task.level if info["engine"] == "tensor" else None}
    run = {"threshold": _run_threshold, "batched": _run_batched, "frsb": _run_frsb,
           "sweep": lambda t: _run_sweep(t, progress)}[task.kind]
    t0 = time.perf_counter()
    first = run(task)
    cold = time.perf_counter() - t0
    times, info = [], first
    for _ in range(task.repeats):
        t0 = time.perf_counter()
        info = run(task)
        times.append(time.perf_counter() - t0)
    med, spread = _stats(times)
    key = "alpha" if task.kind in ("threshold", "frsb") else "alphas"
    out = {"seconds_cold": cold, "seconds_warm": med, "warm_spread": spread, "warm_repeats": task.repeats,
           **info, f"{key}_cold": first[key]}
    if task.kind == "sweep":   # per κ: the cold pass, and the last warm pass
        out.update(seconds_per_kappa_cold=first["seconds_per_kappa"], seconds_per_kappa_warm=info["seconds_per_kappa"])
        out.pop("seconds_per_kappa")
    return out


def _child_main(t_start: float, spec_text: str) -> None:
    """Entry point of a fresh child process: measure the tasks of ``spec_text``, print the timings."""
    import jax
    import jax.numpy as jnp
    import jaxcap  # noqa: F401  (float64)
    jnp.zeros(1).block_until_ready()           # backend start-up, timed with the import
    import_seconds = time.perf_counter() - t_start
    spec = json.loads(spec_text)
    say = lambda s: print(s, file=sys.stderr, flush=True)
    out = []
    for t in spec["tasks"]:
        task = Task(**{k: tuple(v) if k == "kappas" else v for k, v in t.items()})
        try:
            out.append({"name": task.name, **_measure(task, spec["min_batch"], say)})
        except jaxcap.ConvergenceError as exc:
            out.append({"name": task.name, "error": f"not converged: {exc}"})
        except Exception as exc:  # noqa: BLE001  (reported per task; the others go on)
            out.append({"name": task.name, "error": f"{type(exc).__name__}: {exc}"})
    print(_MARKER + json.dumps({"import_seconds": import_seconds, "backend": jax.default_backend(),
                                "tasks": out}), flush=True)


_CHILD_CODE = ("import sys, time; t0 = time.perf_counter(); import jaxcap.bench as b; "
               "b._child_main(t0, sys.argv[1])")


def _fresh(tasks: list[Task], min_batch: float, timeout: float = 7200.0) -> dict:
    """Measure ``tasks`` in a fresh process without compilation cache; results per task name."""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    spec = json.dumps({"min_batch": min_batch, "tasks": [t.spec() for t in tasks]})
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD_CODE, spec],
                          stdout=subprocess.PIPE, stderr=None, text=True, env=env, timeout=timeout)
    wall = time.perf_counter() - t0
    lines = [l for l in proc.stdout.splitlines() if l.startswith(_MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"fresh-process run of {', '.join(t.name for t in tasks)} failed "
                           f"(exit code {proc.returncode}; its stderr is above)")
    payload = json.loads(lines[-1][len(_MARKER):])
    return {d["name"]: dict(d, import_seconds=payload["import_seconds"], process_seconds=wall)
            for d in payload["tasks"]}


def _stats(samples: list[float]) -> tuple[float, list[float]]:
    return statistics.median(samples), [min(samples), max(samples)]


# --------------------------------------------------------------------------------------------
# The SciPy baseline
# --------------------------------------------------------------------------------------------

def benchmarks_dir() -> Path | None:
    """``benchmarks/`` next to the package (a source checkout), or ``None``."""
    path = Path(__file__).resolve().parent.parent / "benchmarks"
    return path if path.is_dir() else None


def load_baseline():
    """The module ``benchmarks/baselines/scipy_baseline.py``, or ``None`` where it is not shipped."""
    root = benchmarks_dir()
    path = root / "baselines" / "scipy_baseline.py" if root else None
    if path is None or not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("jaxcap_bench_scipy_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _baseline(task: Task, sb) -> dict:
    times, alphas, errors = [], None, []
    for _ in range(task.baseline_repeats):
        t0 = time.perf_counter()
        if task.kind == "threshold":
            res = sb.threshold(task.level)
            alphas, errors = res["alpha"], [res["diagnostics"]["alpha_quad_error"]]
        else:
            out = [sb.threshold(task.level, kappa=float(k)) for k in task.kappas]
            alphas = [r["alpha"] for r in out]
            errors = [r["diagnostics"]["alpha_quad_error"] for r in out]
        times.append(time.perf_counter() - t0)
    med, spread = _stats(times)
    return {"baseline_seconds": med, "baseline_spread": spread, "baseline_repeats": task.baseline_repeats,
            "baseline_alpha" if task.kind == "threshold" else "baseline_alphas": alphas,
            "baseline_quad_error": max(errors)}


# --------------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------------

def _machine() -> dict:
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    out = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
           "python": platform.python_version(), "cpu_count": os.cpu_count(), "cpus_usable": affinity}
    try:
        out["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        pass
    return out


def _git() -> dict | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "jaxcap"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head or None, "dirty": bool(dirty)}


def _sources_sha1() -> str:
    """A hash of the package's sources (``jaxcap/*.py``): what the timings measured."""
    import hashlib
    h = hashlib.sha1()
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _provenance(git_start: dict | None, src_start: str) -> dict:
    """Commit and source hash at the start; ``sources_changed_during_run`` if jaxcap/*.py changed meanwhile."""
    return {**(git_start or {}), "sources_sha1": src_start, "sources_changed_during_run": _sources_sha1() != src_start}


def _entry(task: Task, run: dict | None, base: dict | None, error: str | None) -> dict:
    run = run or {}
    e = {"name": task.name, "kind": task.kind,
         "seconds_cold": run.get("seconds_cold"), "seconds_warm": run.get("seconds_warm"),
         "warm_spread": run.get("warm_spread"), "warm_repeats": run.get("warm_repeats"),
         "import_seconds": run.get("import_seconds"), "process_seconds": run.get("process_seconds"),
         "accuracy": None, "accuracy_kind": None, "baseline_seconds": None}
    if task.kind in ("threshold", "frsb"):
        e.update(level=task.level, kappa=0.0, alpha=run.get("alpha"), alpha_cold=run.get("alpha_cold"),
                 quad_error=run.get("quad_error"))
        if task.kind == "frsb":
            e.update(alphas=run.get("alphas"), model=run.get("model"))
    elif task.kind in ("sweep", "batched"):
        e.update(level=task.level, kappas=list(task.kappas), alphas=run.get("alphas"),
                 alphas_cold=run.get("alphas_cold"), quad_error=run.get("quad_error"),
                 seconds_per_kappa_cold=run.get("seconds_per_kappa_cold"),
                 seconds_per_kappa_warm=run.get("seconds_per_kappa_warm"))
    else:
        e.update({k: v for k, v in run.items() if k not in e and k != "name"})
    if task.kind != "grad" and e.get("quad_error") is not None:
        e.update(accuracy=e["quad_error"], accuracy_kind="alpha_inf_err" if task.kind == "frsb" else "quad_error")
    if base:
        e.update(base)
        if task.kind == "threshold" and e["alpha"] is not None:
            e["alpha_difference"] = e["alpha"] - base["baseline_alpha"]
            e.update(accuracy=abs(e["alpha_difference"]), accuracy_kind="abs_difference_to_baseline")
        elif task.kind in ("sweep", "batched") and e["alphas"] is not None:
            diffs = [a - b for a, b in zip(e["alphas"], base["baseline_alphas"])]
            e["alpha_differences"] = diffs
            e.update(accuracy=max(abs(d) for d in diffs), accuracy_kind="max_abs_difference_to_baseline")
        b = base["baseline_seconds"]
        e["speedup_cold"] = b / e["seconds_cold"] if e["seconds_cold"] else None
        e["speedup_warm"] = b / e["seconds_warm"] if e["seconds_warm"] else None
    if error:
        e["error"] = error
    return e


def run_suite(quick: bool = False, names: str | None = None, progress=None, baseline: bool = True) -> dict:
    """Run the benchmark suite and return its JSON-ready payload."""
    import jax
    import jaxcap

    say = progress or (lambda s: None)
    tasks = _select(task_list(quick), names)
    sb = load_baseline() if baseline else None
    if sb is None and any(t.baseline for t in tasks):
        say("bench: SciPy baseline not found (benchmarks/baselines/ is not next to the package): no speedups")
    t_suite = time.perf_counter()
    machine = _machine()
    git_start, src_start = _git(), _sources_sha1()
    results, grad_runs = [], None
    grad_tasks = [t for t in tasks if t.kind == "grad"]
    min_batch = 0.1 if quick else 0.25
    for i, task in enumerate(tasks, 1):
        t_task = time.perf_counter()
        run = base = error = None
        try:
            if task.kind == "grad":
                if grad_runs is None:   # all grad tasks share one fresh process: distinct programs
                    say(f"[{i}/{len(tasks)}] grad-*: fresh process, {len(grad_tasks)} programs, "
                        f"cold then {task.repeats} warm batches each")
                    grad_runs = {}
                    grad_runs = _fresh(grad_tasks, min_batch)
                run = grad_runs[task.name]
            else:
                say(f"[{i}/{len(tasks)}] {task.name}: fresh process (no compile cache): "
                    f"cold, then {task.repeats} warm")
                run = _fresh([task], min_batch)[task.name]
            if run.get("error"):
                error, run = run["error"], None
            elif task.baseline and sb is not None:
                say(f"[{i}/{len(tasks)}] {task.name}: SciPy baseline ({task.baseline_repeats} run(s))")
                base = _baseline(task, sb)
        except jaxcap.ConvergenceError as exc:
            error = f"not converged: {exc}"
        except Exception as exc:  # noqa: BLE001  (record and go on with the other tasks)
            error = f"{type(exc).__name__}: {exc}"
        entry = _entry(task, run, base, error)
        results.append(entry)
        say(f"[{i}/{len(tasks)}] {task.name}: {_summary(entry)}  ({time.perf_counter() - t_task:.0f} s)")
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return _finite_or_none({
        "version": jaxcap.__version__, "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()], "machine": machine, "source": _provenance(git_start, src_start),
        "quick": bool(quick), "baseline": "benchmarks/baselines/scipy_baseline.py" if sb else None,
        "total_seconds": time.perf_counter() - t_suite, "tasks": results,
    })


def _fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def _summary(e: dict) -> str:
    if e.get("error"):
        return f"FAILED: {e['error']}"
    s = f"cold {_fmt(e['seconds_cold'])} s, warm {_fmt(e['seconds_warm'])} s"
    if e["kind"] == "grad":
        s += f" ({_fmt(e.get('evals_per_second'), '.4g')} evals/s)"
    if e.get("baseline_seconds") is not None:
        s += (f", baseline {_fmt(e['baseline_seconds'])} s, speedup cold {_fmt(e['speedup_cold'])}x "
              f"warm {_fmt(e['speedup_warm'])}x")
    if e.get("accuracy") is not None:
        s += f", accuracy {e['accuracy']:.1e} ({e['accuracy_kind']})"
    return s


def markdown_table(payload: dict) -> str:
    """The side-by-side table (threshold and sweep tasks) and the throughput table, in Markdown."""
    rows = ["| task | jaxcap cold (s) | jaxcap warm (s) [min–max] | SciPy baseline (s) | speedup cold | "
            "speedup warm | α jaxcap | α baseline | difference / accuracy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in payload["tasks"]:
        if e["kind"] == "grad":
            continue
        if e.get("error"):
            rows.append(f"| {e['name']} | failed: {e['error']} |||||||||")
            continue
        spread = e["warm_spread"] or [None, None]
        warm = f"{_fmt(e['seconds_warm'])} [{_fmt(spread[0])}–{_fmt(spread[1])}]"
        sx = lambda v: "-" if v is None else f"{v:.3g}×"
        if e["kind"] in ("threshold", "frsb"):
            a, b = _fmt(e.get("alpha"), ".9f"), _fmt(e.get("baseline_alpha"), ".9f")
            diff = (f"{e['alpha_difference']:+.1e}" if e.get("alpha_difference") is not None
                    else f"{e['accuracy_kind']} {_fmt(e.get('accuracy'), '.1e')}")
        else:
            a = f"{len(e['kappas'])} values"
            b = f"{len(e.get('baseline_alphas') or [])} values" if e.get("baseline_alphas") else "-"
            diff = (f"max {e['accuracy']:.1e}" if (e.get("accuracy_kind") or "").startswith("max")
                    else f"quad_error {_fmt(e.get('quad_error'), '.1e')}")
        rows.append(f"| {e['name']} | {_fmt(e['seconds_cold'])} | {warm} | {_fmt(e.get('baseline_seconds'))} | "
                    f"{sx(e.get('speedup_cold'))} | {sx(e.get('speedup_warm'))} | {a} | {b} | {diff} |")
    grads = [e for e in payload["tasks"] if e["kind"] == "grad" and not e.get("error")]
    if grads:
        rows += ["", "| value_and_grad of E_r | level | cold: compile + 1st eval (s) | warm (ms / eval) [min–max] "
                 "| evals / s |", "|---|---:|---:|---:|---:|"]
        for e in grads:
            eng = (f"grid (spacing {e['grid_spacing']:g}, {e['nodes']} points)" if e["engine"] == "grid"
                   else f"tensor, {e['nodes']} nodes ({e['leaf_evaluations']:.3g} leaf evals)")
            sp = e["warm_spread"]
            rows.append(f"| {eng} | {e['level']} | {_fmt(e['seconds_cold'])} | {e['seconds_warm'] * 1e3:.3g} "
                        f"[{sp[0] * 1e3:.3g}–{sp[1] * 1e3:.3g}] | {e['evals_per_second']:.4g} |")
    return "\n".join(rows)


def plot_costs(payload: dict, path: Path) -> Path | None:
    """Cost of one value-and-gradient against the level, per engine (PNG), where matplotlib imports."""
    grads = [e for e in payload["tasks"] if e["kind"] == "grad" and not e.get("error")]
    if not grads:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series = {}
    for e in grads:
        label = "grid (spacing %g)" % e["grid_spacing"] if e["engine"] == "grid" else f"tensor, Q = {e['nodes']}"
        series.setdefault(label, []).append((e["level"], e["seconds_warm"] * 1e3, e["warm_spread"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, pts in series.items():
        pts.sort()
        lv = [p[0] for p in pts]
        ms = [p[1] for p in pts]
        lo = [p[1] - p[2][0] * 1e3 for p in pts]
        hi = [p[2][1] * 1e3 - p[1] for p in pts]
        ax.errorbar(lv, ms, yerr=[lo, hi], marker="o", capsize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("level r")
    ax.set_ylabel("ms per value_and_grad of E_r (warm)")
    ax.set_title(f"jaxcap cost against level ({payload['backend']}, {payload['machine'].get('cpus_usable')} CPUs)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def default_out(backend: str, quick: bool) -> Path | None:
    root = benchmarks_dir()
    return root / "results" / f"{backend}-{'quick' if quick else 'full'}.json" if root else None


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``subparsers`` (sets ``func=run_bench_cli``)."""
    p = subparsers.add_parser(
        "bench", help="benchmarks: cold/warm timings and speedups against the SciPy baseline",
        description="Time jaxcap cold (fresh process, JIT compile included) and warm, side by side with "
                    "the conventional SciPy baseline; write the results as JSON.")
    p.add_argument("--quick", action="store_true",
                   help="a short suite (< 3 min on 2 idle cores): no level 3, no level-2 baseline, a 4-point sweep")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the JSON here (default: benchmarks/results/<backend>-<quick|full>.json in a "
                        "source checkout, else nowhere); a cost-against-level PNG goes next to it")
    p.add_argument("--tasks", default=None, help=argparse.SUPPRESS)       # comma-separated names or prefixes
    p.add_argument("--no-baseline", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run_bench_cli)
    return p


def run_bench_cli(args) -> int:
    """Run ``jaxcap bench``: progress on stderr, the JSON (``--json``) or a table on stdout."""
    tasks = getattr(args, "tasks", None)
    _select(task_list(args.quick), tasks)          # bad names: ValueError (exit 2) before any work
    say = lambda s: print(s, file=sys.stderr, flush=True)
    payload = run_suite(quick=args.quick, names=tasks, progress=say,
                        baseline=not getattr(args, "no_baseline", False))
    out = Path(args.out) if args.out else (None if tasks else default_out(payload["backend"], args.quick))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        png = plot_costs(payload, out.with_name(out.stem + "-grad-cost.png"))
        if png is not None:
            payload["plot"] = png.name
        out.write_text(json.dumps(payload, indent=1) + "\n")
        say(f"bench: wrote {out}" + (f" and {png}" if png else ""))
    say(f"bench: {payload['total_seconds']:.0f} s in all")
    if args.json:
        print(json.dumps(payload))
    else:
        print(markdown_table(payload))
    failed = [e for e in payload["tasks"] if e.get("error")]
    if failed:
        say("bench: failed: " + "; ".join(f"{e['name']}: {e['error']}" for e in failed))
        return EXIT_NOT_CONVERGED if all(e["error"].startswith("not converged") for e in failed) else EXIT_TASK_FAILED
    return 0


def main(argv=None) -> int:
    """``python -m jaxcap.bench [--quick] [--json] [--out FILE]`` (the same as ``jaxcap bench``)."""
    parser = argparse.ArgumentParser(prog="jaxcap")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "bench":
        argv = ["bench", *argv]
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"jaxcap: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
