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
* **baseline**: the SciPy baseline (:mod:`jaxcap.scipy_baseline`) run in the
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

import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["Task", "bench_suite", "bench_tasks", "select", "task_list", "timed_calls"]

#: Parameters at which the ``grad-*`` tasks evaluate ``E_r`` (a typical point near the threshold).
GRAD_ALPHA = 6.7
GRAD_CHI = 0.05


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


def select(tasks: list[Task], names: str | None) -> list[Task]:
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


def bench_tasks(quick: bool = False, names: str | None = None) -> list[Task]:
    """The tasks :func:`bench_suite` runs: the suite (``quick``: the short one) or those of it whose name
    equals, or starts with, one of the comma-separated ``names`` (``ValueError`` naming the unknown ones
    and the known tasks)."""
    return select(task_list(quick), names)


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
    if not all(out.converged):
        raise ConvergenceError(f"{sum(~out.converged)} of {len(out)} sweep elements did not converge")
    return {"alphas": [float(v) for v in out.alpha], "quad_error": None}


def _run_frsb(task: Task) -> dict:
    from .frsb import frsb_sequence
    res = frsb_sequence(task.level)
    return {"alpha": res.alpha_inf, "quad_error": res.alpha_inf_err, "alphas": [r.alpha for r in res.levels],
            "model": res.fit["model"]}


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
    first, cold, times, info = timed_calls(lambda: run(task), task.repeats)
    med, spread = _stats(times)
    key = "alpha" if task.kind in ("threshold", "frsb") else "alphas"
    out = {"seconds_cold": cold, "seconds_warm": med, "warm_spread": spread, "warm_repeats": task.repeats,
           **info, f"{key}_cold": first[key]}
    if task.kind == "sweep":   # per κ: the cold pass, and the last warm pass
        out.update(seconds_per_kappa_cold=first["seconds_per_kappa"], seconds_per_kappa_warm=info["seconds_per_kappa"])
        out.pop("seconds_per_kappa")
    return out


def _child_main(t_start: float, spec_text: str, out_path: str) -> None:
    """Entry point of a fresh child process: measure the tasks of ``spec_text``, write the timings to ``out_path``."""
    import jax
    import jax.numpy as jnp
    import jaxcap  # noqa: F401  (float64)
    jnp.zeros(1).block_until_ready()           # backend start-up, timed with the import
    import_seconds = time.perf_counter() - t_start
    spec = json.loads(spec_text)
    say = lambda s: sys.stderr.write(s + "\n")
    out = []
    for t in spec["tasks"]:
        task = Task(**{k: tuple(v) if k == "kappas" else v for k, v in t.items()})
        try:
            out.append({"name": task.name, **_measure(task, spec["min_batch"], say)})
        except jaxcap.ConvergenceError as exc:
            out.append({"name": task.name, "error": f"not converged: {exc}"})
        except Exception as exc:  # noqa: BLE001  (reported per task; the others go on)
            out.append({"name": task.name, "error": f"{type(exc).__name__}: {exc}"})
    with open(out_path, "w") as fh:
        json.dump({"import_seconds": import_seconds, "backend": jax.default_backend(), "tasks": out}, fh)


#: The fresh child process; an interrupt (Ctrl-C reaches the whole process group) ends it quietly.
_CHILD_CODE = ("import sys, time\nt0 = time.perf_counter()\ntry:\n    import jaxcap._src.bench as b\n"
               "    b._child_main(t0, sys.argv[1], sys.argv[2])\nexcept KeyboardInterrupt:\n    sys.exit(130)\n")


def _fresh(tasks: list[Task], min_batch: float, timeout: float = 7200.0) -> dict:
    """Measure ``tasks`` in a fresh process without compilation cache; results per task name."""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    spec = json.dumps({"min_batch": min_batch, "tasks": [t.spec() for t in tasks]})
    with tempfile.TemporaryDirectory(prefix="jaxcap-bench-") as folder:
        out_path = os.path.join(folder, "timings.json")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CHILD_CODE, spec, out_path],
                              stdout=subprocess.DEVNULL, stderr=None, env=env, timeout=timeout)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not os.path.exists(out_path):
            raise RuntimeError(f"fresh-process run of {', '.join(t.name for t in tasks)} failed "
                               f"(exit code {proc.returncode}; its stderr is above)")
        with open(out_path) as fh:
            payload = json.load(fh)
    return {d["name"]: dict(d, import_seconds=payload["import_seconds"], process_seconds=wall)
            for d in payload["tasks"]}


def timed_calls(call, repeats: int):
    """``(first, cold, warm, last)``: the first call's result and seconds (compilation included), the
    seconds of ``repeats`` further calls, and the last result."""
    t0 = time.perf_counter()
    first = call()
    cold = time.perf_counter() - t0
    warm, last = [], first
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = call()
        warm.append(time.perf_counter() - t0)
    return first, cold, warm, last


def _stats(samples: list[float]) -> tuple[float, list[float]]:
    return statistics.median(samples), [min(samples), max(samples)]


# --------------------------------------------------------------------------------------------
# The SciPy baseline
# --------------------------------------------------------------------------------------------

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
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
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


def bench_suite(quick: bool = False, names: str | None = None, progress=None, baseline: bool = True,
                finished=None) -> dict:
    """Run the benchmark suite (``jaxcap bench``) and return its payload.

    The tasks of :func:`bench_tasks` ``(quick, names)`` each run cold in a fresh process, then warm, and
    beside the SciPy baseline (:mod:`jaxcap.scipy_baseline`; ``baseline=False``: without it), as the
    module docstring describes.  The payload holds the versions, ``backend``, ``devices``, ``machine``,
    ``source`` (the git commit and a hash of the sources), ``total_seconds`` and ``tasks``, one entry
    per task (a failed task has its ``error``); non-finite numbers may remain (:func:`jaxcap.json_safe`).

    ``progress(line)`` receives progress lines, ``finished(index, count, entry, seconds)`` each task's entry.
    """
    import jax
    import jaxcap

    say = progress or (lambda s: None)
    tasks = bench_tasks(quick, names)
    sb = None
    if baseline:
        from .. import scipy_baseline as sb
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
        if finished:
            finished(i, len(tasks), entry, time.perf_counter() - t_task)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "version": jaxcap.__version__, "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()], "machine": machine, "source": _provenance(git_start, src_start),
        "quick": bool(quick), "baseline": "jaxcap.scipy_baseline" if sb else None,
        "total_seconds": time.perf_counter() - t_suite, "tasks": results,
    }
