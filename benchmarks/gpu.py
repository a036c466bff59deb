"""One script for an accelerator: the engine, a tensor-engine solve, a batched sweep and frsb.

Measures, on whatever device JAX sees (a GPU when there is one, else the CPU):

* ``engine``: one ``value_and_grad`` of ``E_r`` on the tensor engine (level 4,
  ``Q`` nodes per level) and on the grid engine (level 10), at the parameters of
  a level-4 solution extended to the level (as ``benchmarks/engine_bench.py``);
  cold (compile and first call) and warm (median of ``--repeats`` calls);
* ``tensor_threshold``: ``jaxcap.threshold(4, engine="tensor", nodes=128)``,
  cold and warm (the warm solve restarted from the cold one's solution);
* ``sweep``: ``jaxcap.sweep(2, κ)`` over 1024 equally spaced ``κ ∈ [−0.1, 0.1]``,
  cold and warm, thresholds per second;
* ``frsb``: :func:`jaxcap._src.frsb.frsb_sequence` (levels 0–6 and the extrapolation).

``--small`` runs the same four parts at sizes a CPU finishes in seconds (the
engine at level 2 with 12 nodes, the level-1 tensor threshold, a 4-point level-0
sweep, levels 0–3); the test suite runs it, so the
script cannot rot.  Writes ``benchmarks/results/gpu-<backend>[-small].json``
with the date, versions, backend and device::

    python benchmarks/gpu.py                 # full sizes (meant for a GPU)
    python benchmarks/gpu.py --small         # CPU smoke run
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import jax
import numpy as np

import jaxcap
from jaxcap._src.bench import timed_calls
from jaxcap._src.compilation import jit
from jaxcap._src.engine import make_engine
from jaxcap._src.frsb import frsb_sequence
from jaxcap._src.functional import energy_functional
from jaxcap._src.params import Params, extrapolated_level
from jaxcap._src.result import json_safe
from jaxcap._src.tensor import TensorEngine

HERE = os.path.dirname(os.path.abspath(__file__))

#: The smallest run is the test suite's own test of this script, which checks what it writes.
TESTED_BY = "tests/test_gpu_benchmark.py"
ALPHA = 6.7
FULL = {"engine_level": 4, "engine_nodes": 64, "grid_level": 10, "tensor_level": 4, "tensor_nodes": 128,
        "sweep_level": 2, "sweep_points": 1024, "frsb_levels": 6}
SMALL = {"engine_level": 2, "engine_nodes": 8, "grid_level": 2, "tensor_level": 1, "tensor_nodes": None,
         "sweep_level": 0, "sweep_points": 4, "frsb_levels": 3}
#: ``--small``: a level-2 point with the shape of a solution (no solve needed to reach it).
SMALL_POINT = Params(np.asarray(0.02), np.asarray([0.75, 0.95]), np.asarray([2.5, 8.0]))


def _params(res) -> Params:
    return Params(np.asarray(res.params["chi"]), np.asarray(res.params["q"]), np.asarray(res.params["x"]))


def _extended(before: Params, last: Params, level: int) -> Params:
    """``last`` (level ``r``) extended to ``level`` by repeated :func:`extrapolated_level`."""
    while len(last.q) < level:
        before, last = last, extrapolated_level(before, last)
    return last


def _timed_calls(fun, arg, repeats: int) -> dict:
    _, cold, warm, _ = timed_calls(lambda: jax.block_until_ready(fun(arg)), repeats)
    return {"seconds_cold": cold, "seconds_warm": float(np.median(warm)), "warm_spread": [min(warm), max(warm)]}


def engine_part(sizes: dict, repeats: int) -> dict:
    """``value_and_grad`` of ``E_r`` on the tensor engine and the grid engine."""
    if sizes is SMALL:
        before = last = SMALL_POINT
    else:
        chain = list(jaxcap.threshold_chain(4))
        before, last = _params(chain[-2]), _params(chain[-1])
    out = {}
    for name, engine, level in (("tensor", TensorEngine(nodes=sizes["engine_nodes"]), sizes["engine_level"]),
                                ("grid", None, sizes["grid_level"])):
        params = _extended(before, last, level)
        engine = engine or make_engine(level).fitted(params)
        fun = jit(jax.value_and_grad(lambda p, e=engine: energy_functional(ALPHA, p, 0.0, e)))
        row = _timed_calls(fun, jax.tree.map(jax.numpy.asarray, params), repeats)
        out[name] = dict(row, level=level, **engine.describe())
    return out


def tensor_part(sizes: dict) -> dict:
    """The level-``r`` threshold on the tensor engine: cold, then warm from its own solution."""
    level, nodes = sizes["tensor_level"], sizes["tensor_nodes"]
    t0 = time.perf_counter()
    res = jaxcap.threshold(level, engine="tensor", nodes=nodes)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = jaxcap.threshold(level, engine="tensor", nodes=nodes, start=res)
    warm = time.perf_counter() - t0
    return {"level": level, "nodes": nodes, "alpha": res.alpha, "alpha_warm": again.alpha,
            "quad_error": res.diagnostics.quad_error, "seconds_cold": cold, "seconds_warm": warm}


def sweep_part(sizes: dict) -> dict:
    """The batched sweep over ``κ``: cold (compilation included), then warm."""
    level, kappas = sizes["sweep_level"], np.linspace(-0.1, 0.1, sizes["sweep_points"])
    ref = jaxcap.threshold(level, kappa=float(kappas[len(kappas) // 2]))
    t0 = time.perf_counter()
    jaxcap.sweep(level, kappas, start=ref)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = jaxcap.sweep(level, kappas, start=ref)
    warm = time.perf_counter() - t0
    converged = np.asarray(res.converged)
    return {"level": level, "points": len(kappas), "converged": int(converged.sum()), "seconds_cold": cold,
            "seconds_warm": warm, "thresholds_per_second": len(kappas) / warm,
            "alpha_min": float(np.min(res.alpha)), "alpha_max": float(np.max(res.alpha))}


def frsb_part(sizes: dict) -> dict:
    """``jaxcap frsb``'s sequence and extrapolation."""
    res = frsb_sequence(sizes["frsb_levels"])
    return {"max_level": sizes["frsb_levels"], "alphas": [r.alpha for r in res.levels], "alpha_inf": res.alpha_inf,
            "alpha_inf_err": res.alpha_inf_err, "seconds": res.seconds}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="CPU sizes (seconds): the test suite's run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="JSON output (default benchmarks/results/gpu-<backend>[-small].json)")
    args = ap.parse_args(argv)
    sizes = SMALL if args.small else FULL
    device = jax.devices()[0]
    payload = {"benchmark": "gpu", "small": args.small, "sizes": sizes,
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "versions": {"jaxcap": jaxcap.__version__, "jax": jax.__version__, "python": platform.python_version()},
               "backend": jax.default_backend(), "device": str(device),
               "device_kind": getattr(device, "device_kind", ""), "device_count": jax.device_count(),
               "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()}}
    for name, part in (("engine", lambda: engine_part(sizes, args.repeats)), ("tensor_threshold", lambda: tensor_part(sizes)),
                       ("sweep", lambda: sweep_part(sizes)), ("frsb", lambda: frsb_part(sizes))):
        t0 = time.perf_counter()
        payload[name] = part()
        print(f"{name}: {time.perf_counter() - t0:.2f} s  {json.dumps(json_safe(payload[name]))[:300]}", flush=True)
    out = args.out or os.path.join(HERE, "results", f"gpu-{payload['backend']}{'-small' if args.small else ''}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(json_safe(payload), fh, indent=1, allow_nan=False)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
