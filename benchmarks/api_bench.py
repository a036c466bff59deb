"""Cost of the JAX transformations of :func:`jaxcap.threshold` against the batched sweep.

* ``vmap_grad``: ``jax.vmap(jax.grad(α_1))`` over 256 level-1 ``κ`` against
  ``jaxcap.sweep(1, κ)`` on the same ``κ`` (target: within 1.5×, warm);
* ``vmap_hessian``: ``jax.vmap(jax.hessian(α_1))`` on the same ``κ`` against ``vmap_grad``
  (target: at most 3×, warm);
* the same two inside ``jax.jit``, where XLA drops what the first derivative does not use;
  ``vmap_grad / sweep`` is the eager ratio (no outer ``jax.jit``), ``jit_vmap_grad / sweep`` the jitted one.

Every timing is warm: each call runs once untimed (compilation), then the best of ``--repeats``.
Prints the figures and writes ``benchmarks/results/api-cpu.json``.

    python benchmarks/api_bench.py [--points 256] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import jaxcap
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))
    import jaxcap


def best_of(fn, repeats: int) -> tuple[float, object]:
    out = jax.block_until_ready(fn())   # compiles
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best, out


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--level", "0", "--points", "3", "--repeats", "1", "--json", "{out}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "api-cpu.json"))
    args = parser.parse_args()
    ks = np.linspace(-0.5, 0.5, args.points)
    kj = jnp.asarray(ks)
    level = args.level
    alpha = lambda k: jaxcap.threshold(level, kappa=k).alpha
    runs = {
        "sweep": lambda: jaxcap.sweep(level, ks).alpha,
        "vmap_grad": lambda: jax.vmap(jax.grad(alpha))(kj),
        "vmap_hessian": lambda: jax.vmap(jax.hessian(alpha))(kj),
    }
    jitted = {"jit_vmap_grad": jax.jit(jax.vmap(jax.grad(alpha))),
              "jit_vmap_hessian": jax.jit(jax.vmap(jax.hessian(alpha)))}
    runs.update({name: (lambda f=f: f(kj)) for name, f in jitted.items()})
    seconds, values = {}, {}
    for name, fn in runs.items():
        seconds[name], values[name] = best_of(fn, args.repeats)
        print(f"{name:>17}: {seconds[name]:.3f} s warm for {args.points} level-{level} kappa", flush=True)
    sweep = jaxcap.sweep(level, ks)
    ratios = {"vmap_grad / sweep": seconds["vmap_grad"] / seconds["sweep"],
              "jit_vmap_grad / sweep": seconds["jit_vmap_grad"] / seconds["sweep"],
              "vmap_hessian / vmap_grad": seconds["vmap_hessian"] / seconds["vmap_grad"],
              "jit_vmap_hessian / jit_vmap_grad": seconds["jit_vmap_hessian"] / seconds["jit_vmap_grad"]}
    agreement = {"max_rel_grad_vs_sweep_slope": float(np.max(np.abs(np.asarray(values["vmap_grad"])
                                                                      - sweep.dalpha_dkappa) / np.abs(sweep.dalpha_dkappa))),
                 "all_sweep_converged": bool(np.all(sweep.converged))}
    for name, v in ratios.items():
        print(f"{name:>33}: {v:.2f}x")
    print(f"max |grad - sweep slope| / |slope|: {agreement['max_rel_grad_vs_sweep_slope']:.1e}")
    report = {"points": args.points, "kappa_range": [float(ks[0]), float(ks[-1])], "level": level,
              "repeats": args.repeats, "seconds_warm": seconds, "ratios": ratios,
              "targets": {"vmap_grad / sweep": 1.5, "vmap_hessian / vmap_grad": 3.0}, **agreement,
              "jax_version": jax.__version__, "jaxcap_version": jaxcap.__version__, "backend": jax.default_backend(),
              "devices": len(jax.devices()), "machine": platform.machine(), "date": time.strftime("%Y-%m-%d")}
    Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
