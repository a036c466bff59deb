"""The ``table`` command's side-by-side comparison: every threshold the package computes, each with its meaning.

Beside the levels ``α_0 … α_K`` the table shows (all computed when it runs):

* ``frsb``: the ``r → ∞`` (full RSB) limit, :func:`jaxcap.extrapolate` of the levels
  just computed (``--max-level ≥ 3``; ``docs/theory.md#frsb``);
* ``dat``: at ``κ = 0``, the de Almeida–Thouless line :func:`jaxcap.dat_threshold`,
  where the RS states of energy 1 become unstable at finite temperature (``docs/theory.md#temperature``);
* ``finite``: at ``κ = 0``, the exact finite-size estimate ``α_½(n)``
  (:func:`jaxcap.finite_threshold`, ``docs/theory.md#finite-size``).

The Euler-characteristic prediction (``"euler"``) and the levels are computed by :mod:`jaxcap.cli.commands`.
"""
from __future__ import annotations

import sys

from .. import ConvergenceError

FRSB_METHOD = "r -> infinity extrapolation of the levels computed (jaxcap.extrapolate, as jaxcap frsb)"
DAT_METHOD = "RS replicon reaches 1 on the energy-1 states (jaxcap.dat_threshold, as jaxcap dat)"
FINITE_METHOD = ("median over Gaussian layers of the exact fewest rows m*/n making ReLU(Wx) injective "
                 "(jaxcap.min_active), with the order-statistic interval")

MEANINGS = {   # row -> what it is (listed under the rows present)
    "euler": "Euler: the integral-geometry conjecture (expected Euler characteristic of the non-injectivity set); "
    "refuted, it lies above the rigorous RS bound.",
    "level 0": "level 0: plain RDT = RS, the rigorous upper bound from Gordon's comparison inequality.",
    "levels": "levels r >= 1: the fully lifted RDT (r-step RSB), decreasing in r toward the full-RSB limit.",
    "frsb": "FRSB: the r -> infinity extrapolation of the levels (with its error bar).",
    "dat": "dAT: where the RS solution of the energy-1 states becomes unstable at finite temperature (replicon = 1); "
    "the thresholds lie beyond it, so RS is not exact there.",
    "finite": "finite: exact at small n: the alpha = m/n where P(injective) = 1/2 at n inputs, each layer decided exactly; "
    "it shows the finite-size drift, it does not locate the n -> infinity threshold.",
}


def frsb_limit(rows) -> dict | None:
    """The extrapolation of the computed levels, or ``None`` with fewer than three levels ``r ≥ 1``."""
    from .. import extrapolate
    if sum(r.level >= 1 for r in rows) < 3:
        return None
    return {**extrapolate([r.level for r in rows], [r.alpha for r in rows]), "method": FRSB_METHOD}


def dat_line(kappa: float) -> dict:
    """``α_dAT(κ)`` with its diagnostics, or ``{"converged": false, ...}``."""
    from .. import dat_threshold, to_json
    try:
        return {**to_json(dat_threshold(kappa)), "method": DAT_METHOD}
    except ConvergenceError as exc:
        return {"converged": False, "error": str(exc), "diagnostics": exc.diagnostics, "method": DAT_METHOD}


def finite_estimate(n: int, trials: int) -> dict:
    """``α_½(n)`` from ``trials`` exact layers (seed 0), or ``{"converged": false, ...}`` past a size limit."""
    from tqdm import tqdm
    from .. import finite_threshold
    with tqdm(total=trials, desc=f"finite n={n}", file=sys.stderr, disable=None) as bar:
        try:
            out = finite_threshold(n, trials, progress=lambda done, total: bar.update(done - bar.n))
        except ValueError as exc:
            return {"converged": False, "error": str(exc), "diagnostics": {"n": n, "trials": trials},
                    "method": FINITE_METHOD}
    return {**out, "exact_method": out["method"], "method": FINITE_METHOD}   # exact_method: min_active's


def compute(kappa: float, rows, finite_n: int, finite_trials: int) -> dict:
    """The keys ``"frsb"`` (when there are enough levels), and at ``κ = 0`` ``"dat"`` and ``"finite"`` (``finite_n > 0``)."""
    out = {}
    frsb = frsb_limit(rows)
    if frsb is not None:
        out["frsb"] = frsb
    if kappa == 0.0:
        out["dat"] = dat_line(kappa)
        if finite_n > 0:
            out["finite"] = finite_estimate(finite_n, finite_trials)
    return out


def failures(extra: dict) -> list[str]:
    """Two lines per comparison row that did not converge: the reason, and its diagnostics as JSON."""
    from .output import dumps
    return [line for key in ("dat", "finite") if key in extra and extra[key].get("converged") is False
            for line in (f"jaxcap: not converged ({key}): {extra[key]['error']}",
                         dumps({k: extra[key][k] for k in ("converged", "error", "diagnostics")}))]


def _row(name: str, value: str, meaning: str) -> str:
    return f"  {name:<22} {value:<28} {meaning}"


def _rsb(level: int) -> str:
    return "RS" if level == 0 else f"{level}RSB"


def text(kappa: float, rows, euler: dict | None, extra: dict, max_level: int) -> str:
    """The side-by-side block: one row per threshold, its value and what it is."""
    lines = ["", f"Side by side (kappa = {kappa:g}):", _row("row", "alpha", "what it is")]
    rs = rows[0].alpha if rows and rows[0].level == 0 else None
    if euler is not None:
        verdict = "refuted: above the RS bound" if rs is not None and rs < euler["alpha"] else "see the RS bound"
        lines.append(_row("Euler heuristic", f"{euler['alpha']:.10f}", f"conjectured (integral geometry); {verdict}"))
    for r in rows:
        meaning = ("rigorous upper bound (plain RDT, Gordon)" if r.level == 0
                   else f"lifting level {r.level} (fl RDT)")
        lines.append(_row(f"level {r.level} ({_rsb(r.level)})", f"{r.alpha:.10f}", meaning))
    frsb = extra.get("frsb")
    if frsb is not None:
        note = "" if frsb["reliable"] else "; unreliable: fewer than 5 levels r >= 2 (see jaxcap frsb)"
        lines.append(_row("FRSB limit", f"{frsb['alpha_inf']:.7f} +- {frsb['alpha_inf_err']:.1e}",
                          f"r -> inf fit of levels {frsb['fit_levels'][0]}-{frsb['fit_levels'][-1]}{note}"))
    else:
        lines.append(_row("FRSB limit", "-", f"needs three levels r >= 1 (--max-level 3; this table: {max_level})"))
    dat = extra.get("dat")
    if dat is not None:
        value = "not converged" if dat.get("converged") is False else f"{dat['alpha']:.10f}"
        lines.append(_row("dAT line", value, "RS unstable beyond it at finite temperature (replicon = 1)"))
    fin = extra.get("finite")
    if fin is not None:
        if fin.get("converged") is False:
            lines.append(_row("finite size", "not resolved", fin["error"]))
        else:
            lines.append(_row(f"finite size, n = {fin['n']}", f"{fin['alpha']:.4f} [{fin['ci'][0]:.4f}, "
                              f"{fin['ci'][1]:.4f}]", f"exact, P(inj) = 1/2: median of {fin['trials']} layers "
                              f"(seed {fin['seed']}), {100 * fin['coverage']:.1f}% interval"))
    lines.append("What the rows are:")
    present = {"euler": euler is not None, "level 0": bool(rows) and rows[0].level == 0,
               "levels": any(r.level >= 1 for r in rows), "frsb": True, "dat": "dat" in extra,
               "finite": "finite" in extra}
    lines += [f"  {m}" for key, m in MEANINGS.items() if present[key]]
    return "\n".join(lines)
