"""How a bias ``b = −κ`` moves the injectivity threshold: ``α_r(κ)``, ``dα_r/dκ`` and ``d²α_r/dκ²``
for ``κ ∈ [−1, 1]`` at levels 1–3, each level in one vmapped call of :func:`jaxcap.threshold`.

For every level the one call is

    jax.vmap(jax.value_and_grad(slope, has_aux=True))(kappas)

with ``slope(κ) = (threshold.dalpha_dkappa, threshold.alpha)``: the envelope slope and the
threshold come from the batched solve, the second derivative from implicit differentiation
(``docs/guide/jax.md``).  The first call of a level compiles its programs (cold); the same call
is then timed again (warm).  Writes ``benchmarks/results/sensitivity-study.json`` and the figure
``docs/img/sensitivity.png``.

    python benchmarks/sensitivity_study.py [--levels 1 2 3] [--points 41]
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


def study(level: int, kappas) -> tuple[dict, float, float]:
    """``α_r``, ``dα_r/dκ``, ``d²α_r/dκ²`` and convergence at ``kappas``; cold and warm seconds."""
    def slope(k):
        res = jaxcap.threshold(level, kappa=k)
        return res.dalpha_dkappa, (res.alpha, res.converged)

    call = jax.vmap(jax.value_and_grad(slope, has_aux=True))
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        (d1, (alpha, ok)), d2 = call(kappas)
        jax.block_until_ready(d2)
        times.append(time.perf_counter() - t0)
    out = {"alpha": np.asarray(alpha), "dalpha_dkappa": np.asarray(d1), "d2alpha_dkappa2": np.asarray(d2),
           "converged": np.asarray(ok)}
    return out, times[0], times[1]


def plot(path: Path, kappas, rows: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    names = [("alpha", r"$\alpha_r(\kappa)$"), ("dalpha_dkappa", r"$d\alpha_r/d\kappa$"),
             ("d2alpha_dkappa2", r"$d^2\alpha_r/d\kappa^2$")]
    for ax, (key, label) in zip(axes, names):
        for level, row in rows.items():
            ax.plot(kappas, row[key], "-", lw=1.2, label=f"level {level}")
        ax.set_xlabel(r"$\kappa = -b$")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--levels", "0", "--points", "2", "--json", "{out}", "--plot", "{out}.png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--points", type=int, default=41)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "sensitivity-study.json"))
    parser.add_argument("--plot", default=str(ROOT / "docs" / "img" / "sensitivity.png"))
    args = parser.parse_args()
    kappas = jnp.linspace(-1.0, 1.0, args.points)
    rows, report = {}, {"kappas": np.asarray(kappas).tolist(), "levels": {}, "jax_version": jax.__version__,
                        "jaxcap_version": jaxcap.__version__, "backend": jax.default_backend(),
                        "devices": len(jax.devices()), "machine": platform.machine(),
                        "date": time.strftime("%Y-%m-%d")}
    for level in args.levels:
        out, cold, warm = study(level, kappas)
        rows[level] = out
        report["levels"][str(level)] = {**{k: v.tolist() for k, v in out.items()}, "seconds_cold": cold,
                                        "seconds_warm": warm}
        i0 = int(np.argmin(np.abs(np.asarray(kappas))))
        print(f"level {level}: {args.points} kappa in {cold:.1f} s cold, {warm:.2f} s warm; all converged: "
              f"{bool(out['converged'].all())}; at kappa = 0: alpha = {out['alpha'][i0]:.8f}, "
              f"dalpha/dkappa = {out['dalpha_dkappa'][i0]:.6f}, d2alpha/dkappa2 = {out['d2alpha_dkappa2'][i0]:.6f}",
              flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(jaxcap._src.result.json_safe(report), indent=1) + "\n")
    plot(Path(args.plot), np.asarray(kappas), rows)
    print(f"wrote {args.json} and {args.plot}")


if __name__ == "__main__":
    main()
