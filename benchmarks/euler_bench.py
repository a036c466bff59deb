"""The Euler-characteristic threshold against the exact finite-size crossings (``docs/theory.md#euler``).

Prints, for n = 100 ... 3200, the exact crossing alpha_n (where log|E chi(K)| reaches 0 as m grows),
its saddle-point prediction, and the time of one exact sum at the crossing; then an extrapolation
of the exact crossings alone, alpha_n = alpha + (a log n + b)/n + (c log n + d)/n^2, fitted by least
squares, to compare with alpha_Euler from the closed-form rate.  Writes
benchmarks/results/euler-cpu.json.

    PYTHONPATH=. python benchmarks/euler_bench.py [--max-n 3200]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

from jaxcap._src import euler as E

#: The smallest run, for the test suite (tests/test_benchmark_scripts.py).
SMALLEST = ["--max-n", "100", "--out", "{out}"]


def extrapolate(ns, alphas):
    """Least-squares ``alpha_n = alpha + (a log n + b)/n + (c log n + d)/n^2``; the spread of the fits that
    drop one size is the error bar."""
    ns, alphas = np.asarray(ns, float), np.asarray(alphas, float)

    def fit(keep):
        n = ns[keep]
        X = np.stack([np.ones_like(n), np.log(n) / n, 1 / n, np.log(n) / n**2, 1 / n**2], axis=1)
        return np.linalg.lstsq(X, alphas[keep], rcond=None)[0][0]

    full = fit(np.ones(len(ns), bool))
    drops = [fit(np.arange(len(ns)) != i) for i in range(len(ns))]
    return full, max(abs(d - full) for d in drops)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=3200)
    ap.add_argument("--out", help="JSON output (default benchmarks/results/euler-cpu.json)")
    args = ap.parse_args()
    res = E.euler_threshold()
    print(f"alpha_Euler = {res.alpha!r} +- {res.alpha_err:.1e} ({res['alpha_digits']})")
    rows = []
    n = 50
    while n <= args.max_n:
        t0 = time.perf_counter()
        an = E.finite_crossing(n)
        t_cross = time.perf_counter() - t0
        m = round(an * n)
        t0 = time.perf_counter()
        E.euler_characteristic(n, m)
        t_sum = time.perf_counter() - t0
        pred = E.predicted_crossing(n)
        rows.append({"n": n, "alpha_n": an, "predicted": pred, "gap": an - res.alpha,
                     "n2_times_difference": (an - pred) * n * n, "seconds_one_sum": t_sum,
                     "seconds_crossing": t_cross})
        print(f"n = {n:5d}: alpha_n = {an:.10f}, saddle-point {pred:.10f}, alpha_n - alpha_Euler = "
              f"{an - res.alpha:+.3e}, n^2 (alpha_n - predicted) = {(an - pred) * n * n:+.3f}, "
              f"one sum {t_sum:.3f} s, crossing {t_cross:.2f} s", flush=True)
        n *= 2
    ex, ex_err = extrapolate([r["n"] for r in rows], [r["alpha_n"] for r in rows])
    print(f"extrapolated from the exact crossings alone: {ex:.8f} +- {ex_err:.1e} "
          f"(closed form {res.alpha:.8f}, difference {ex - res.alpha:+.1e})")
    out = {"alpha": res.alpha, "alpha_err": res.alpha_err, "alpha_digits": res["alpha_digits"], "crossings": rows,
           "extrapolated": ex, "extrapolated_err": ex_err,
           "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    path = args.out or os.path.join(os.path.dirname(__file__), "results", "euler-cpu.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
