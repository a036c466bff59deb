"""Figures of the ground-state guide from ``benchmarks/results/structure-cpu.json`` (written by
``structure_bench.py``): ``c_r`` against ``r`` with the limits, the density of ``u*`` below ``κ``
by level, and the Parisi functions by level::

    python benchmarks/structure_figures.py        # writes docs/img/structure-*.png
    python benchmarks/structure_figures.py --dir DIR --out FILE   # figures to DIR, the limits as JSON to FILE
"""
from __future__ import annotations

import argparse
import json
import os
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
#: The universal jamming exponent of the gap density ``g^{−γ}`` (Franz, Parisi, Sevelev, Urbani, Zamponi 2017).
GAMMA = 0.41269

#: The smallest run (``tests/test_benchmark_scripts.py``): the stored results, figures to the working directory.
SMALLEST = ["--dir", ".", "--out", "{out}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(HERE, "results", "structure-cpu.json"), metavar="FILE",
                        help="structure_bench.py output (default benchmarks/results/structure-cpu.json)")
    parser.add_argument("--frsb", default=os.path.join(HERE, "results", "structure-frsb-cpu.json"), metavar="FILE",
                        help="structure_bench.py --from-frsb output, drawn if it exists")
    parser.add_argument("--dir", default=os.path.join(ROOT, "docs", "img"), help="figure folder (default docs/img)")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the limits as JSON to FILE")
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import jaxcap  # noqa: F401
    from jaxcap._src.structure_limits import contacts_limit, parisi_curve

    data = json.load(open(args.data))
    rows = [("threshold", r) for r in data["threshold"]] + [("sat", r) for r in data["sat"]]
    out = args.dir
    os.makedirs(out, exist_ok=True)

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8), layout="constrained")
    for i, (kind, row) in enumerate(rows):
        r, c = np.asarray(row["levels"], float), np.asarray(row["contacts_per_dimension"], float)
        fit = contacts_limit(r, c)
        name = ("threshold" if kind == "threshold" else "zero-energy line") + f", kappa = {row['kappa']:g}"
        left.plot(r, c, "o", ms=3, color=f"C{i}", label=f"{name}: c_inf = {fit['contacts_per_dimension_inf']:.4f}"
                                                         f" ± {fit['contacts_per_dimension_inf_err']:.1e}")
        fine = np.linspace(min(fit["fit_levels"]), r.max(), 100)
        law = fit["contacts_per_dimension_inf"] + fit["C"] * (fine + fit["s"]) ** (-fit["p"])
        left.plot(fine, law, "-", lw=0.7, color=f"C{i}")
        right.loglog(r[1:], np.abs(c[1:] - fit["contacts_per_dimension_inf"]), "o-", ms=3, lw=0.7, color=f"C{i}")
    stored = args.frsb
    if os.path.exists(stored):   # the thresholds of the levels 0-30 run (structure_bench.py --from-frsb)
        rows30 = json.load(open(stored))["levels"]
        r = np.asarray([v["level"] for v in rows30], float)
        c = np.asarray([v["contacts_per_dimension"] for v in rows30], float)
        fit = contacts_limit(r, c)
        right.loglog(r[1:], c[1:] - fit["contacts_per_dimension_inf"], "k.", ms=4,
                     label=f"threshold, levels 0-{int(r[-1])}: c_inf = {fit['contacts_per_dimension_inf']:.5f}"
                           f" ± {fit['contacts_per_dimension_inf_err']:.1e}")
        right.legend(fontsize=6.5)
    left.axhline(1.0, color="k", ls=":", lw=0.8, label="isostatic, c = 1")
    left.set_ylim(0.95, 1.5)
    left.set_xlabel("lifting level r")
    left.set_ylabel("contacts per dimension c_r")
    left.legend(fontsize=6.5)
    right.set_xlabel("lifting level r")
    right.set_ylabel("c_r - c_inf")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.savefig(os.path.join(out, "structure-contacts.png"), dpi=120)
    plt.close(fig)

    sats = [row for kind, row in rows if kind == "sat" and "gap_density" in row]
    fig, axes = plt.subplots(1, len(sats), figsize=(3.6 * len(sats), 3.4), layout="constrained", squeeze=False)
    for ax, row in zip(axes[0], sats):
        for g in row["gap_density"]:
            ax.loglog(g["gaps"], g["u_density"], "-", lw=1, label=f"r = {g['level']}")
        gaps = np.asarray(row["gap_density"][-1]["gaps"])
        top = row["gap_density"][-1]["u_density"][0]
        ax.loglog(gaps, top * (gaps / gaps[0]) ** (-GAMMA), "k:", lw=0.8, label="g^(-0.41269)")
        ax.set_title(f"zero-energy line, kappa = {row['kappa']:g}", fontsize=9)
        ax.set_xlabel("gap g = kappa - u*")
        ax.set_ylabel("density of u* at kappa - g")
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    fig.savefig(os.path.join(out, "structure-gaps.png"), dpi=120)
    plt.close(fig)

    picks = [(kind, row) for kind, row in rows if (kind, row["kappa"]) in (("threshold", 0.0), ("sat", 0.5))]
    fig, axes = plt.subplots(1, len(picks), figsize=(4.5 * len(picks), 3.6), layout="constrained", squeeze=False)
    for ax, (kind, row) in zip(axes[0], picks):
        var = "x" if kind == "threshold" else "y"
        for level, p in zip(row["levels"], row["parisi"]):
            if not p["x"]:
                continue
            xs, qs = [0.0] + p["x"], p["q"] + [1.0]
            ax.step(xs + [2 * xs[-1]], qs + [1.0], where="post", lw=0.9, label=f"r = {level}")
        top = types.SimpleNamespace(parisi=row["parisi"][-1])
        half = types.SimpleNamespace(parisi=row["parisi"][(len(row["levels"]) - 1 + 1) // 2])
        x = np.geomspace(row["parisi"][-1]["x"][0] / 3, row["parisi"][-1]["x"][-1], 300)
        q, band = parisi_curve(top, x), np.abs(parisi_curve(top, x) - parisi_curve(half, x))
        ax.plot(x, q, "k-", lw=0.8, label="limit (midpoints)")
        ax.fill_between(x, q - band, q + band, color="k", alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel(var)
        ax.set_ylabel(f"q({var})")
        ax.set_title(("threshold" if kind == "threshold" else "zero-energy line") + f", kappa = {row['kappa']:g}",
                     fontsize=9)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    fig.savefig(os.path.join(out, "structure-parisi.png"), dpi=120)
    plt.close(fig)
    limits = []
    for kind, row in rows:
        r, c = row["levels"], row["contacts_per_dimension"]
        fit = contacts_limit(r, c)
        limits.append({"kind": kind, "kappa": row["kappa"], "contacts_per_dimension": c,
                       "contacts_per_dimension_inf": fit["contacts_per_dimension_inf"],
                       "contacts_per_dimension_inf_err": fit["contacts_per_dimension_inf_err"],
                       "p": fit["p"], "fit_levels": list(fit["fit_levels"])})
        print(kind, row["kappa"], " ".join(f"{v:.6f}" for v in c),
              f"-> {fit['contacts_per_dimension_inf']:.6f} +- {fit['contacts_per_dimension_inf_err']:.1e} "
              f"(p = {fit['p']:.2f}, levels {fit['fit_levels'][0]}-{fit['fit_levels'][-1]})")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"data": args.data, "figures": out, "limits": limits}, fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
