"""The exact finite-size threshold alpha_1/2(n) of ``jaxcap table`` at several n (``docs/theory.md#finite-size``).

For each n: the median over T Gaussian layers (seed 0) of the exact fewest rows m*/n that make the layer
injective, its order-statistic interval and coverage, and the time.  Writes
benchmarks/results/finite-threshold-cpu.json.

    PYTHONPATH=. python benchmarks/finite_threshold_bench.py [--sizes 3,4,5] [--trials 40] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform

from jaxcap._src.finite_threshold import finite_threshold

#: The smallest run, for the test suite (tests/test_benchmark_scripts.py).
SMALLEST = ["--sizes", "2", "--trials", "5", "--out", "{out}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="3,4,5")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--out", help="JSON output (default benchmarks/results/finite-threshold-cpu.json)")
    args = ap.parse_args()
    rows = []
    for n in (int(v) for v in args.sizes.split(",")):
        out = finite_threshold(n, args.trials, seed=0)
        rows.append({k: out[k] for k in ("n", "trials", "seed", "alpha", "ci", "coverage", "seconds", "alphas")})
        print(f"n = {n}: alpha_1/2 = {out['alpha']:.4f} [{out['ci'][0]:.4f}, {out['ci'][1]:.4f}] "
              f"({100 * out['coverage']:.1f}%), {args.trials} layers, {out['seconds']:.1f} s", flush=True)
    path = args.out or os.path.join(os.path.dirname(__file__), "results", "finite-threshold-cpu.json")
    with open(path, "w") as f:
        json.dump({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "rows": rows}, f,
                  indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
