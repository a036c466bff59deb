"""Where a warm level-0 threshold spends its time: dispatch, the compiled program, the host.

``jaxcap.threshold(0)`` warm is a few compiled-program calls and some host
Python; the SciPy baseline (:func:`jaxcap.scipy_baseline.threshold`) is
quadrature and root finding in Python.  This script times, interleaved in one
process (medians of ``--rounds`` rounds of ``--calls`` calls each):

* ``dispatch``: a jitted ``x + 1`` on a scalar: the floor of any call into XLA;
* ``while_loop``: a jitted ``lax.while_loop`` of ``N`` scalar iterations (``N`` the
  Newton steps the level-0 solve takes): XLA:CPU's cost per loop iteration;
* ``program``: the level-0 program alone (:func:`jaxcap._src.solver.solve_closed_form`:
  Newton from four starts, vmapped, and the measurement), as ``jaxcap.threshold(0)``
  calls it;
* ``threshold``: ``jaxcap.threshold(0)``, the whole call (checks, engine, program,
  verification, result);
* ``scipy``: ``jaxcap.scipy_baseline.threshold(0)``.

Writes ``benchmarks/results/dispatch-<backend>.json``::

    python benchmarks/dispatch.py [--rounds 7] [--calls 200]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxcap
from jaxcap import scipy_baseline
from jaxcap._src.solver import solve_closed_form, unpack

HERE = os.path.dirname(os.path.abspath(__file__))

#: The smallest run, for the test suite (tests/test_benchmark_scripts.py).
SMALLEST = ["--rounds", "1", "--calls", "5", "--out", "{out}"]
#: Level-0 starts as :mod:`jaxcap._src.threshold` passes them (unconstrained ``log χ``).
STARTS = np.log(np.asarray([[0.02], [0.1], [0.5], [2.0]]))


def _per_call(fun, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fun()
    return (time.perf_counter() - t0) / calls


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--out")
    args = ap.parse_args(argv)

    steps = int(unpack(np.asarray(solve_closed_form(STARTS, 0.0, 0.0, objective="threshold")), 0)["newton_steps"])
    plus_one = jax.jit(lambda v: v + 1.0)
    loop = jax.jit(lambda n: jax.lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 0.5 + 1.0), (0, 1.0)))
    cases = {
        "dispatch": lambda: plus_one(1.0).block_until_ready(),
        "while_loop": lambda: jax.block_until_ready(loop(steps)),
        "program": lambda: np.asarray(solve_closed_form(STARTS, 0.0, 0.0, objective="threshold")),
        "threshold": lambda: jaxcap.threshold(0),
        "scipy": lambda: scipy_baseline.threshold(0),
    }
    for fun in cases.values():
        fun()
    samples = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fun in cases.items():
            samples[name].append(_per_call(fun, max(1, args.calls // (20 if name == "scipy" else 1))))
    rows = {name: {"seconds": statistics.median(v), "spread": [min(v), max(v)]} for name, v in samples.items()}
    rows["while_loop"]["iterations"] = steps
    ratio = rows["scipy"]["seconds"] / rows["threshold"]["seconds"]
    for name, row in rows.items():
        print(f"{name:<12} {row['seconds'] * 1e6:9.1f} us")
    print(f"scipy / jaxcap.threshold(0) = {ratio:.2f}x; program share {rows['program']['seconds'] / rows['threshold']['seconds']:.0%}")
    device = jax.devices()[0]
    payload = {"benchmark": "dispatch", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "versions": {"jaxcap": jaxcap.__version__, "jax": jax.__version__, "python": platform.python_version()},
               "backend": jax.default_backend(), "device": str(device),
               "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                           "load_average": [round(v, 2) for v in os.getloadavg()]},
               "rounds": args.rounds, "calls": args.calls, "results": rows, "speedup_over_scipy": ratio,
               "alpha": jaxcap.threshold(0).alpha, "alpha_scipy": float(scipy_baseline.threshold(0)["alpha"])}
    out = args.out or os.path.join(HERE, "results", f"dispatch-{payload['backend']}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(payload, fh, indent=1)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
