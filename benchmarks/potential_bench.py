"""A potential's cost against the count's on the same grid (``docs/benchmarks.md#potentials``).

For each level, the quadratic hinge and the count are solved at the same ``α`` and ``κ``; then
``value_and_grad`` of the outer mean ``G`` (the work of one Newton step's gradient) is timed on one
engine for both, the grid fitted to the quadratic hinge's point, in alternating calls, and the
whole energy solves are timed cold (compilation included) and warm (``start=`` the solution, so only
the polish runs).  The target: a level-2 quadratic-hinge energy costs at most twice the count's on
the same grid.  Writes ``benchmarks/results/potential-<backend>.json``.

    PYTHONPATH=. python benchmarks/potential_bench.py [--levels 1 2] [--repeats 20]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import time

import jax

import jaxcap
from jaxcap._src import potential as potentials
from jaxcap._src.bench import timed_calls
from jaxcap._src.engine import make_engine
from jaxcap._src.functional import outer_mean

#: The smallest run, for the test suite (tests/test_benchmark_scripts.py).
SMALLEST = ["--levels", "1", "--repeats", "2", "--out", "{out}"]


def _pair(level: int, alpha: float, kappa: float, repeats: int) -> dict:
    quad = jaxcap.energy(alpha, level, kappa=kappa, potential="quadratic")
    count = jaxcap.energy(alpha, level, kappa=kappa)
    engine = make_engine(level, kappa=kappa).fitted(quad.params)
    engines = {"count": engine, "quadratic": dataclasses.replace(
        engine, potential=potentials.key(potentials.quadratic(0.0)))}
    grads = {name: jax.jit(jax.value_and_grad(lambda p, e=eng: outer_mean(p, kappa, e)))
             for name, eng in engines.items()}
    points = {"count": count.params, "quadratic": quad.params}
    gradient = {name: [] for name in grads}
    for name, fun in grads.items():
        jax.block_until_ready(fun(points[name]))                      # compiled once, untimed
    for _ in range(repeats):                                          # alternating calls
        for name, fun in grads.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fun(points[name]))
            gradient[name].append(time.perf_counter() - t0)
    solves = {}
    for name, res in (("count", count), ("quadratic", quad)):
        potential = None if name == "count" else "quadratic"
        _, _, warm, _ = timed_calls(lambda: jaxcap.energy(alpha, level, kappa=kappa, potential=potential, start=res),
                                    max(2, repeats // 5))
        solves[name] = {"energy": float(res.energy), "seconds_first": float(res.diagnostics.seconds),
                        "seconds_warm_start": statistics.median(warm)}
    ratio = statistics.median(gradient["quadratic"]) / statistics.median(gradient["count"])
    return {"level": level, "alpha": alpha, "kappa": kappa, "grid_points": engine.nodes,
            "gradient_seconds": {k: statistics.median(v) for k, v in gradient.items()},
            "gradient_ratio": ratio,
            "solve_ratio_warm_start": solves["quadratic"]["seconds_warm_start"] / solves["count"]["seconds_warm_start"],
            "solves": solves}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--kappa", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", help="JSON output (default benchmarks/results/potential-<backend>.json)")
    args = ap.parse_args()
    rows = []
    for level in args.levels:
        row = _pair(level, args.alpha, args.kappa, args.repeats)
        rows.append(row)
        g = row["gradient_seconds"]
        print(f"level {level}: value_and_grad of G on {row['grid_points']} points: count {g['count'] * 1e3:.2f} ms, "
              f"quadratic {g['quadratic'] * 1e3:.2f} ms (ratio {row['gradient_ratio']:.2f}); warm-started solve "
              f"ratio {row['solve_ratio_warm_start']:.2f}")
    backend = jax.default_backend()
    out = args.out or os.path.join(os.path.dirname(__file__), "results", f"potential-{backend}.json")
    with open(out, "w") as fh:
        json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   "machine": platform.platform(),
                   "cpus": os.cpu_count(), "load": os.getloadavg()[0], "jax": jax.__version__, "backend": backend,
                   "rows": rows}, fh, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
