"""Toward full RSB: the sequence ``α_r`` and its ``r → ∞`` extrapolation (DESIGN §2, §3).

The level-``r`` thresholds decrease with ``r`` and converge to the FRSB value.
:func:`frsb_sequence` computes them level by level (each warm-started from the
one before), saving every finished level to a checkpoint file so that an
interrupted run resumes where it stopped.  :func:`extrapolate` fits

    α_r = α_∞ + C r^{−p}        (levels r ≥ 1)

by least squares and reports ``α_∞`` with an error bar that is the larger of
the fit's own standard error and the spread of ``α_∞`` over fits that drop the
lowest level (a model-stability estimate).
"""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from .result import Diagnostics, Result
from .threshold import threshold_chain

__all__ = ["frsb_sequence", "extrapolate"]

MODEL = "alpha_r = alpha_inf + C * r**(-p)"


def _power_law(r, alpha_inf, c, p):
    return alpha_inf + c * r ** (-p)


def _fit(levels, alphas):
    r, a = np.asarray(levels, float), np.asarray(alphas, float)
    p0 = (a[-1] - 1e-3, (a[0] - a[-1]) * 1.2, 3.0)
    with warnings.catch_warnings():  # three points fit exactly: no covariance, handled by the caller
        warnings.simplefilter("ignore", OptimizeWarning)
        popt, pcov = curve_fit(_power_law, r, a, p0=p0, maxfev=20000)
    return popt, np.sqrt(np.maximum(np.diag(pcov), 0.0))


def extrapolate(levels, alphas) -> dict:
    """``α_∞`` from the levels ``r ≥ 1`` (needs at least three of them)."""
    pairs = [(r, a) for r, a in zip(levels, alphas) if r >= 1]
    if len(pairs) < 3:
        raise ValueError("the r -> infinity fit needs thresholds at three or more levels r >= 1")
    r, a = map(np.asarray, zip(*pairs))
    popt, perr = _fit(r, a)
    spread = []
    if len(r) >= 4:
        sub, _ = _fit(r[1:], a[1:])
        spread.append(abs(sub[0] - popt[0]))
    err = float(max([perr[0], *spread])) if np.isfinite(perr[0]) else float("inf")
    if len(r) == 3:
        # an exact fit has no residual: fall back to the size of the last correction
        err = float(max(err, abs(a[-1] - popt[0]) / 2))
    return {"alpha_inf": float(popt[0]), "alpha_inf_err": err, "model": MODEL,
            "C": float(popt[1]), "p": float(popt[2]), "fit_levels": [int(v) for v in r]}


def _load(path) -> list[Result]:
    with open(path) as fh:
        rows = json.load(fh)["levels"]
    return [Result(**{**row, "diagnostics": Diagnostics(**row["diagnostics"])}) for row in rows]


def _save(path, kappa, rows) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump({"kappa": kappa, "levels": [r.to_dict() for r in rows]}, fh)
    os.replace(tmp, path)


def frsb_sequence(max_level: int, *, kappa: float = 0.0, checkpoint: str | None = None,
                  progress=None, **options) -> tuple[list[Result], dict, float]:
    """Thresholds ``α_0 … α_max_level`` and the extrapolation; resumable from ``checkpoint``."""
    t0 = time.perf_counter()
    done: list[Result] = []
    if checkpoint and os.path.exists(checkpoint):
        done = [r for r in _load(checkpoint) if r.level <= max_level]
        if done and done[0].kappa != kappa:
            raise ValueError(f"checkpoint {checkpoint} is for kappa={done[0].kappa}, not {kappa}")
    for res in threshold_chain(max_level, kappa=kappa, resume=done[-2:], **options):
        done.append(res)
        if checkpoint:
            _save(checkpoint, kappa, done)
        if progress:
            progress(res)
    fit = extrapolate([r.level for r in done], [r.alpha for r in done])
    return done, fit, time.perf_counter() - t0
