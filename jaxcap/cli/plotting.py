"""Every figure the command line writes (``--plot``), with matplotlib's Agg backend.

matplotlib is optional (``pip install 'jaxcap[plot]'``); :func:`check_format` checks,
before any computation, that it imports and writes the format the file name asks for.
"""
from __future__ import annotations

import os

import numpy as np

from ..references import FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA
from .errors import BadInput


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BadInput("--plot needs matplotlib: pip install 'jaxcap[plot]'") from None
    return plt


def check_format(path) -> None:
    """:class:`BadInput` unless matplotlib imports and writes the format of ``path``'s extension."""
    plt = _pyplot()
    ext = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if ext not in formats:
        raise BadInput(f"--plot {path}: the file name must end in one of {', '.join('.' + f for f in sorted(formats))}")


def _save(fig, plt, path) -> None:
    try:
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)


def levels(path, rows) -> None:
    """``α_r`` against the level ``r`` (``table``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot([r.level for r in rows], [r.alpha for r in rows], "o-", ms=3)
    ax.set_xlabel("lifting level r")
    ax.set_ylabel("alpha_r")
    ax.grid(alpha=0.3)
    _save(fig, plt, path)


def kappa_curve(path, results, level: int) -> None:
    """``α(κ)`` of a sweep: converged points with their tangents ``dα/dκ``, the others marked."""
    plt = _pyplot()
    ks = np.array([r["kappa"] for r in results], float)
    al = np.array([np.nan if r["alpha"] is None else r["alpha"] for r in results], float)
    sl = np.array([np.nan if r.get("dalpha_dkappa") is None else r["dalpha_dkappa"] for r in results], float)
    ok = np.array([r["converged"] for r in results], bool)
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot(ks, al, "-", lw=1)
    ax.plot(ks[ok], al[ok], "o", ms=3, label="converged")
    half = 0.25 * (ks.max() - ks.min()) / max(len(ks) - 1, 1)
    for x, y, s in zip(ks[ok], al[ok], sl[ok]):
        if np.isfinite(s):
            ax.plot([x - half, x + half], [y - s * half, y + s * half], "r-", lw=0.8)
    if (~ok).any():
        ax.plot(ks[~ok], al[~ok], "rx", ms=5, label="not converged")
    ax.set_xlabel("kappa")
    ax.set_ylabel(f"alpha_{level}")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, plt, path)


def sat_curve(path, points, level: int) -> None:
    """The zero-energy line: ``α_sat,r(κ)`` for ``r = 0`` (RS, Gardner) … ``level`` and, when the points
    carry it, the ``r → ∞`` extrapolation with its error bars (log scale)."""
    plt = _pyplot()
    ks = [p["kappa"] for p in points]
    fig, ax = plt.subplots(figsize=(5, 3.8), layout="constrained")
    for r in range(level + 1):
        ax.plot(ks, [p["alphas"][r] for p in points], "-", lw=1,
                label="RS (level 0, Gardner)" if r == 0 else f"level {r}")
    if "alpha_inf" in points[0]:
        ax.errorbar(ks, [p["alpha_inf"] for p in points], yerr=[p["alpha_inf_err"] for p in points], fmt="k.",
                    ms=3, lw=0.8, label="r -> infinity (extrapolated)")
    ax.set_yscale("log")
    ax.set_xlabel("kappa")
    ax.set_ylabel("alpha_sat")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    _save(fig, plt, path)


def frsb(path, levels, alphas, fit) -> None:
    """``α_r`` against ``r ≥ 1`` with the fitted law and ``α_∞ ± err`` (left), and ``α_r − α_∞``
    against ``r`` on log–log axes (right), where the fit's quality shows."""
    plt = _pyplot()
    r, a = np.asarray(levels, float), np.asarray(alphas, float)
    keep = r >= 1
    shift = fit.get("s", 0.0)
    fine = np.linspace(min(fit["fit_levels"]), r.max(), 200)
    if "coefficients" in fit:   # the asymptotic series c_4 r^-4 + c_5 r^-5 + ...
        law = fit["alpha_inf"] + sum(c * fine ** (-(fit["p"] + j)) for j, c in enumerate(fit["coefficients"]))
    else:
        law = fit["alpha_inf"] + fit["C"] * (fine + shift) ** (-fit["p"])
    err = fit["alpha_inf_err"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    left.plot(r[keep], a[keep], "o", ms=3, label="alpha_r (verified maxima)")
    left.plot(fine, law, "-", lw=0.8, label=fit["model"].split(",")[0])
    if np.isfinite(err):
        left.axhspan(fit["alpha_inf"] - err, fit["alpha_inf"] + err, color="C2", alpha=0.3,
                     label=f"alpha_inf = {fit['alpha_inf']:.7f} ± {err:.1e}")
    left.set_xlabel("lifting level r")
    left.set_ylabel("alpha_r")
    left.legend(fontsize=7)
    above = a[keep] - fit["alpha_inf"]
    right.loglog(r[keep][above > 0], above[above > 0], "o", ms=3)
    right.loglog(fine, law - fit["alpha_inf"], "-", lw=0.8)
    right.set_xlabel("lifting level r")
    right.set_ylabel("alpha_r - alpha_inf")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    _save(fig, plt, path)


#: Published asymptotic thresholds at ``κ = 0`` drawn on the finite-size figure.
_ASYMPTOTIC = [(RS_ALPHA, "RS = plain RDT", ":"), (ONE_RSB_ALPHA, "1RSB", "--"), (FRSB_ALPHA, "FRSB", "-")]


def finite(path, out: dict) -> None:
    """P(injective) against ``α`` with Wilson intervals, and the asymptotic thresholds."""
    plt = _pyplot()
    a = np.array([r["alpha"] for r in out["results"]])
    p = np.array([r["p_injective"] for r in out["results"]])
    lo = np.array([r["ci"][0] for r in out["results"]])
    hi = np.array([r["ci"][1] for r in out["results"]])
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.errorbar(a, p, yerr=[p - lo, hi - p], fmt="o-", capsize=3, label=f"n = {out['n']}, {out['trials']} trials")
    for x, name, style in _ASYMPTOTIC:
        ax.axvline(x, color="gray", ls=style, lw=1, label=f"{name} {x:g}")
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel("P(injective)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8)
    _save(fig, plt, path)


def bench_costs(path, payload: dict) -> bool:
    """Cost of one value-and-gradient against the level, per engine; ``False`` when there is nothing to draw
    (no gradient task, or no matplotlib: the figure is optional)."""
    grads = [e for e in payload["tasks"] if e["kind"] == "grad" and not e.get("error")]
    try:
        plt = _pyplot()
    except BadInput:
        return False
    if not grads:
        return False
    series = {}
    for e in grads:
        label = "grid (spacing %g)" % e["grid_spacing"] if e["engine"] == "grid" else f"tensor, Q = {e['nodes']}"
        series.setdefault(label, []).append((e["level"], e["seconds_warm"] * 1e3, e["warm_spread"]))
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for label, pts in series.items():
        pts.sort()
        ms = [p[1] for p in pts]
        ax.errorbar([p[0] for p in pts], ms, yerr=[[p[1] - p[2][0] * 1e3 for p in pts],
                                                   [p[2][1] * 1e3 - p[1] for p in pts]],
                    marker="o", capsize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("level r")
    ax.set_ylabel("ms per value_and_grad of E_r (warm)")
    ax.set_title(f"jaxcap cost against level ({payload['backend']}, {payload['machine'].get('cpus_usable')} CPUs)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, plt, path)
    return True


def euler_rates(path, curves: dict, alpha_euler: float) -> None:
    """The rate ``(1/n) log |E χ(K)|`` against ``α``: the exact values at several ``n``, the limit
    ``r(α)``, ``α_Euler`` and the RS bound that refutes it (``euler --threshold``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for n, (a, r) in curves["finite"].items():
        r = np.asarray(r, float)
        ax.plot(a, np.where(np.isfinite(r), r, np.nan), "-", lw=0.8, label=f"n = {n} (exact)")
    ax.plot(*curves["limit"], "k-", lw=1.5, label="limit r(alpha)")
    ax.axhline(0.0, color="gray", lw=0.6)
    ax.axvline(alpha_euler, color="C3", ls="--", lw=1, label=f"alpha_Euler = {alpha_euler:.6f}")
    ax.axvline(RS_ALPHA, color="gray", ls=":", lw=1, label=f"RS bound {RS_ALPHA:g}")
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel(r"$(1/n)\,\log|E\,\chi(K)|$")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    _save(fig, plt, path)


def structure(path, structures, fit, parisi_inf) -> None:
    """``jaxcap structure``: the Parisi function ``q(x)`` of each level (with the limit and its band,
    when extrapolated), the law of ``u*`` of the highest level (the density and the contact atom at
    ``κ``), and, with several levels, ``c_r`` against ``r`` with ``c_∞ ± err`` and the isostatic line."""
    plt = _pyplot()
    panels = 3 if len(structures) > 1 else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6), layout="constrained")
    top = structures[-1]
    var = top.variable
    for s in structures:
        if not s.parisi["x"]:
            continue
        xs = [0.0] + list(s.parisi["x"])
        qs = list(s.parisi["q"]) + [1.0]
        axes[0].step(xs + [xs[-1] * 1.5], qs + [1.0], where="post", lw=1, label=f"r = {s.level}")
    if parisi_inf:
        x, q, err = (np.asarray(parisi_inf[k]) for k in ("x", "q", "q_err"))
        axes[0].plot(x, q, "k-", lw=0.8, label=f"limit (band: levels {parisi_inf['levels'][0]}, "
                                               f"{parisi_inf['levels'][1]})")
        axes[0].fill_between(x, q - err, q + err, color="k", alpha=0.15)
    if top.parisi["x"] and top.parisi["x"][-1] > 10.0 * top.parisi["x"][0]:
        axes[0].set_xscale("symlog", linthresh=top.parisi["x"][0])
    axes[0].set_xlabel(var)
    axes[0].set_ylabel(f"q({var})")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=7)
    else:   # level 0: q = 1 for every x > 0
        axes[0].axhline(1.0, lw=1)
    h, dens = np.asarray(top.density["h"]), np.asarray(top.density["u_density"])
    dens = np.where((h > top.kappa) & (dens == 0.0), np.nan, dens)   # no line through the empty window
    axes[1].plot(h, dens, lw=1, label="density of u*")
    axes[1].vlines([top.kappa], 0, [top.fractions["contact"]], colors="C3", lw=2,
                   label=f"contact atom at kappa: {top.fractions['contact']:.4f}")
    axes[1].set_xlabel("u*")
    axes[1].set_title(f"level {top.level}, kappa = {top.kappa:g}", fontsize=9)
    axes[1].legend(fontsize=7)
    if panels == 3:
        r = np.array([s.level for s in structures], float)
        c = np.array([s.contacts_per_dimension for s in structures], float)
        axes[2].plot(r, c, "o", ms=3, label="c_r = alpha P(contact)")
        axes[2].axhline(1.0, color="k", ls=":", lw=0.8, label="isostatic (c = 1)")
        if fit and "C" in fit:
            fine = np.linspace(min(fit["fit_levels"]), r.max(), 200)
            axes[2].plot(fine, fit["contacts_per_dimension_inf"] + fit["C"] * (fine + fit.get("s", 0.0)) ** (-fit["p"]),
                         "-", lw=0.8, label="fit")
        if fit:
            ci, err = fit["contacts_per_dimension_inf"], fit["contacts_per_dimension_inf_err"]
            axes[2].axhspan(ci - err, ci + err, color="C2", alpha=0.3, label=f"c_inf = {ci:.4f} ± {err:.1e}")
        axes[2].set_xlabel("lifting level r")
        axes[2].set_ylabel("contacts per dimension")
        axes[2].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    _save(fig, plt, path)
