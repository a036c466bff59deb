"""Cost of one ``value_and_grad`` of ``E_r`` at high levels, on whatever backend JAX sees.

The engine half of the GPU-against-CPU benchmark: the tensor engine at
level 4 (``Q`` Gauss–Hermite nodes per level, ``Q^4`` leaf evaluations) and the
grid engine at levels 10, 20 and 30.  Run it once on a CPU and once on a GPU and
compare the JSON files it writes (``benchmarks/results/engines-<backend>.json``,
with the JAX version, backend and device)::

    python benchmarks/engine_bench.py                         # tensor Q = 32, 64; grid r = 10, 20, 30
    python benchmarks/engine_bench.py --nodes 32 64 128       # Q = 128 needs about 60 GB (a GPU)

The level-4 point is the level-4 threshold solution (solved first, a few
seconds); the level-``r`` points of the grid are built from it by repeated
:func:`jaxcap._src.params.extrapolated_level` (levels 3, 4 → 5 → … → r): smooth,
valid points with the shape of a solution, not solutions.  Each grid point is
timed on the engine :meth:`GridEngine.fitted` chooses for it.  Cold is
compile + first call; warm is the median of ``--repeats`` calls.
"""
from __future__ import annotations

import argparse
import json
import os
import platform

import jax
import numpy as np

import jaxcap
from jaxcap._src.bench import timed_calls
from jaxcap._src.compilation import jit
from jaxcap._src.functional import energy_functional
from jaxcap._src.params import Params, extrapolated_level
from jaxcap._src.tensor import TensorEngine
from jaxcap._src.engine import make_engine

ALPHA = 6.7


def _params(res) -> Params:
    return Params(np.asarray(res.params["chi"]), np.asarray(res.params["q"]), np.asarray(res.params["x"]))


def _time(engine, params, repeats: int) -> dict:
    fun = jit(jax.value_and_grad(lambda p: energy_functional(ALPHA, p, 0.0, engine)))
    p = jax.tree.map(jax.numpy.asarray, params)
    _, cold, warm, _ = timed_calls(lambda: jax.block_until_ready(fun(p)), repeats)
    return {"seconds_cold": cold, "seconds_warm": float(np.median(warm)),
            "warm_spread": [float(min(warm)), float(max(warm))], **engine.describe()}


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--tensor-level", "2", "--nodes", "8", "--levels", "3", "--repeats", "1", "--out", "{out}"]


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--levels", type=int, nargs="+", default=[10, 20, 30])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tensor-level", type=int, default=4, help="the level of the tensor rows (at least 2)")
    ap.add_argument("--out", default=os.path.join(here, "results", f"engines-{jax.default_backend()}.json"))
    args = ap.parse_args(argv)

    top = max(args.tensor_level, 2)
    chain = list(jaxcap.threshold_chain(top))
    known = [_params(chain[top - 1]), _params(chain[top])]
    rows = []
    for q in args.nodes:
        row = {"engine": "tensor", "level": top, **_time(TensorEngine(nodes=q), known[-1], args.repeats)}
        rows.append(row)
        print(f"tensor Q = {q:4d}, level {top}: cold {row['seconds_cold']:.2f} s, warm {row['seconds_warm'] * 1e3:.3g} ms")
    for r in sorted(args.levels):
        while len(known[-1].q) < r:
            known = [known[-1], extrapolated_level(*known[-2:])]
        engine = make_engine(r).fitted(known[-1])
        row = {"level": r, **_time(engine, known[-1], args.repeats)}
        rows.append(row)
        print(f"grid level {r:3d} ({row['nodes']} innermost points, strides {row['strides'][:4]}…): "
              f"cold {row['seconds_cold']:.2f} s, warm {row['seconds_warm'] * 1e3:.3g} ms")
    payload = {"jaxcap": jaxcap.__version__, "jax": jax.__version__, "backend": jax.default_backend(),
               "device": str(jax.devices()[0].device_kind), "machine": platform.platform(),
               "cpu_count": os.cpu_count(), "rows": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(payload, fh, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
