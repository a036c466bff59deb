"""Batched sweep against the Python loop over ``jaxcap.threshold``: thresholds per second.

Same points (``κ`` equally spaced in ``[--kappa-from, --kappa-to]``), same
convergence test and verification (every element: ``‖∇_θ E‖ ≤ 1e−9``, Hessian
negative definite, non-degenerate, resolved by the engine), measured side by side
in one process:

* ``loop``: ``prev = jaxcap.threshold(level, kappa=k, start=prev)`` over the points
  in order, from one untimed ``jaxcap.threshold`` at the first point;
* ``batched``: ``jaxcap.sweep(level, kappas, start=ref)`` from one untimed
  ``jaxcap.threshold`` at the middle point, sharded over every CPU core (one XLA
  host device per core, ``jax_num_cpu_devices``), and also on one device.

Each is run once untimed (compilation: the whole set of points, or every 8th
point for more than 256) and then timed warm; the loop's device count does not
change its single-device programs.  The agreement of the two is reported
(``max |Δα|/α``, ``max |Δ dα/dκ|``).  JSON goes to ``benchmarks/results/`` with the
JAX version, backend and machine::

    python benchmarks/sweep_bench.py                          # levels 1, 2; 64, 256, 1024 points
    python benchmarks/sweep_bench.py --levels 1 --points 256  # 256 level-1 kappas
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import jax

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
jax.config.update("jax_num_cpu_devices", CORES)   # before the backend starts

import numpy as np  # noqa: E402

import jaxcap  # noqa: E402


def _loop(level, ks, start):
    """Thresholds one at a time, each warm-started from the previous one."""
    out, prev = [], start
    for k in ks:
        prev = jaxcap.threshold(level, kappa=float(k), start=prev)
        out.append(prev)
    return out


def _timed(fn, repeats):
    """``(best seconds over repeats, last result)``."""
    best, res = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    return best, res


def measure(level: int, n: int, lo: float, hi: float, say) -> dict:
    """One side-by-side measurement at ``level`` with ``n`` points."""
    ks = np.linspace(lo, hi, n)
    warm_ks = ks if n <= 256 else ks[::8]
    repeats = 2 if n <= 256 else 1
    first = jaxcap.threshold(level, kappa=float(ks[0]))
    middle = jaxcap.threshold(level, kappa=float(ks[n // 2]))
    say(f"level {level}, {n} points: compiling")
    _loop(level, warm_ks, first)
    runs = {"batched": lambda: jaxcap.sweep(level, ks, start=middle),
            "batched_1_device": lambda: jaxcap.sweep(level, ks, start=middle, devices=jax.devices()[:1])}
    for fn in runs.values():
        fn()
    seconds, results = {}, {}
    seconds["loop"], loop = _timed(lambda: _loop(level, ks, first), repeats)
    for name, fn in runs.items():
        seconds[name], results[name] = _timed(fn, repeats)
    batched = results["batched"]
    alpha = np.array([r.alpha for r in loop])
    slope = np.array([r.dalpha_dkappa for r in loop])
    row = {
        "level": level, "points": n, "kappa_from": lo, "kappa_to": hi, "repeats": repeats,
        "seconds": seconds, "thresholds_per_second": {k: n / v for k, v in seconds.items()},
        "speedup": seconds["loop"] / seconds["batched"],
        "speedup_1_device": seconds["loop"] / seconds["batched_1_device"],
        "all_converged": bool(all(np.all(np.asarray(results[name].converged)) for name in runs)),
        "max_rel_alpha_difference": float(np.max(np.abs(np.asarray(batched.alpha) - alpha) / alpha)),
        "max_dalpha_dkappa_difference": float(np.max(np.abs(np.asarray(batched.dalpha_dkappa) - slope))),
        "max_alpha_difference_1_device": float(np.max(np.abs(
            np.asarray(results["batched_1_device"].alpha) - np.asarray(batched.alpha)))),
        "max_quad_error": {"loop": max(r.diagnostics.quad_error for r in loop),
                           "batched": float(np.max(np.asarray(batched.diagnostics.quad_error)))},
        "max_newton_steps_batched": int(np.max(np.asarray(batched.diagnostics.newton_steps))),
    }
    tps = row["thresholds_per_second"]
    say(f"level {level}, {n:5d} points: loop {tps['loop']:8.1f}/s, batched {tps['batched']:8.1f}/s "
        f"({row['speedup']:.1f}x; on 1 device {tps['batched_1_device']:.1f}/s, {row['speedup_1_device']:.1f}x), "
        f"max |dalpha|/alpha {row['max_rel_alpha_difference']:.1e}, all converged: {row['all_converged']}")
    return row


def machine() -> dict:
    return {"jax": jax.__version__, "jaxcap": jaxcap.__version__, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()], "cores": CORES, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--levels", "0", "--points", "4", "--out", "{out}"]


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--points", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--kappa-from", type=float, default=-0.05)
    ap.add_argument("--kappa-to", type=float, default=0.2)
    ap.add_argument("--out", default=os.path.join(here, "results", f"sweep-{jax.default_backend()}.json"))
    args = ap.parse_args(argv)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    rows = [measure(level, n, args.kappa_from, args.kappa_to, say) for level in args.levels for n in args.points]
    payload = {"benchmark": "sweep", "machine": machine(), "results": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(payload, fh, indent=1)
    say(f"wrote {args.out}")
    return 0 if all(r["all_converged"] for r in rows) else 3


if __name__ == "__main__":
    sys.exit(main())
