"""The ``r → ∞`` extrapolation of a decreasing level sequence ``α_r`` (``docs/theory.md#frsb``).

:func:`extrapolate` fits, by least squares, the shifted power law

    α_r = α_∞ + C (r + s)^{−p}        (levels r ≥ 2, at least five of them)

or, with fewer levels, the plain power law ``α_∞ + C r^{−p}`` (levels ``r ≥ 1``).
The corrections do not follow a plain power law: the local exponent
``log(d_r/d_{r+1}) / log((r+1)/r)`` of the differences ``d_r = α_r − α_{r+1}``
climbs from 3.2 to 4.5 over levels 1–10, so the plain law's ``α_∞`` drifts up by
8e−5 as low levels are dropped, while the shifted law (``p ≈ 4.1``, ``s ≈ 0.7``)
moves by about 1e−6.  The error bar is the largest of the fit's own standard
error, the change of ``α_∞`` when the lowest or the highest level is left out,
and (for the shifted law) the difference from a second four-parameter model
with the same levels, ``α_∞ + C r^{−p} (1 + D/r)`` (a model-choice estimate:
2.8e−6 with levels 2–6, 1.1e−6 with levels 2–10).

With fewer levels (``frsb --max-level`` 3, 4 or 5) the plain law is all there is,
and it extrapolates too far: its exponent, fitted to the lowest levels, is the
smallest of the climbing local exponents (2.8–2.9 against 4.1), so its ``α_∞`` lies
below the converged value (by 1.5e−4, 1.1e−4 and 8.8e−5 at ``κ = 0``, against the
fit over levels 2–30), beyond its own error terms.  Since ``α_r`` decreases with
``r``, the last level computed bounds ``α_∞`` from above; the error bar of a plain
fit is therefore at least the distance from ``α_∞`` to that level (7.9e−4, 3.5e−4
and 2.0e−4 there), and the fit is marked ``reliable: false`` with the reason.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["extrapolate", "MODEL", "PLAIN_MODEL", "ALTERNATIVE_MODEL", "SHIFTED_FROM"]

MODEL = "alpha_r = alpha_inf + C * (r + s)**(-p), levels r >= 2"
PLAIN_MODEL = "alpha_r = alpha_inf + C * r**(-p), levels r >= 1"
ALTERNATIVE_MODEL = "alpha_r = alpha_inf + C * r**(-p) * (1 + D / r), levels r >= 2"
#: Levels ``r ≥ 2`` needed for the shifted power law (four parameters and one degree of freedom).
SHIFTED_FROM = 5


def _power_law(r, alpha_inf, c, p):
    return alpha_inf + c * r ** (-p)


def _shifted_power_law(r, alpha_inf, c, p, s):
    return alpha_inf + c * (r + s) ** (-p)


def _corrected_power_law(r, alpha_inf, c, p, d):
    return alpha_inf + c * r ** (-p) * (1.0 + d / r)


def _fit(model, levels, alphas):
    from scipy.optimize import OptimizeWarning, curve_fit  # SciPy loads only where a fit is made

    r, a = np.asarray(levels, float), np.asarray(alphas, float)
    p0 = [a[-1] - 1e-3 * (a[0] - a[-1]), (a[0] - a[-1]) * 1.2 * r[0] ** 3, 3.0]
    lower, upper = [-np.inf, 0.0, 0.5], [np.inf, np.inf, 20.0]
    if model is _shifted_power_law:
        p0, lower, upper = p0 + [0.5], lower + [-0.9 * r[0]], upper + [10.0]
    elif model is _corrected_power_law:
        p0, lower, upper = p0 + [0.0], lower + [-0.9 * r[0]], upper + [10.0 * r[0]]
    bounds = (lower, upper)
    with warnings.catch_warnings():  # exact fits have no covariance: handled by the caller
        warnings.simplefilter("ignore", OptimizeWarning)
        popt, pcov = curve_fit(model, r, a, p0=p0, bounds=bounds, maxfev=20000, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return popt, np.sqrt(np.maximum(np.diag(pcov), 0.0))


def extrapolate(levels, alphas) -> dict:
    """``α_∞`` from the levels ``r ≥ 2`` by the shifted power law when there are at least
    :data:`SHIFTED_FROM` of them, else from the levels ``r ≥ 1`` by the plain power law
    (at least three).

    Returns:
        ``alpha_inf``, ``alpha_inf_err`` (always finite, see the module docstring),
        ``model``, ``C``, ``p``, ``fit_levels``, ``reliable`` (``False`` for the plain law,
        with the reason in ``reliability``), and for the shifted law ``s``,
        ``alpha_inf_alternative`` and ``alternative_model``.

    Raises:
        ValueError: fewer than three levels ``r ≥ 1``.
    """
    pairs = sorted((int(r), float(a)) for r, a in zip(levels, alphas) if r >= 1)
    shifted = sum(r >= 2 for r, _ in pairs) >= SHIFTED_FROM
    if shifted:
        pairs = [(r, a) for r, a in pairs if r >= 2]
    if len(pairs) < 3:
        raise ValueError("the r -> infinity fit needs thresholds at three or more levels r >= 1")
    r, a = map(np.asarray, zip(*pairs))
    model = _shifted_power_law if shifted else _power_law
    popt, perr = _fit(model, r, a)
    minimum = 4 if shifted else 3  # points a left-out fit still needs
    spread = [abs(_fit(model, rr, aa)[0][0] - popt[0]) for rr, aa in ((r[1:], a[1:]), (r[:-1], a[:-1]))
              if len(rr) >= minimum and len(r) > minimum]
    if shifted:
        alternative = float(_fit(_corrected_power_law, r, a)[0][0])
        spread.append(abs(alternative - popt[0]))
    else:
        # the plain law's alpha_inf lies below the converged value; the last level bounds it from above
        spread.append(abs(a[-1] - popt[0]))
    terms = [v for v in (perr[0], *spread) if np.isfinite(v)]  # an exact fit has no standard error
    fit = {"alpha_inf": float(popt[0]), "alpha_inf_err": float(max(terms)), "model": MODEL if shifted else PLAIN_MODEL,
           "C": float(popt[1]), "p": float(popt[2]), "fit_levels": [int(v) for v in r], "reliable": bool(shifted)}
    if shifted:
        fit.update(s=float(popt[3]), alpha_inf_alternative=alternative, alternative_model=ALTERNATIVE_MODEL)
    else:
        fit["reliability"] = (f"only {sum(v >= 2 for v in r)} levels r >= 2 (the shifted law needs {SHIFTED_FROM}): "
                              "the plain power law's alpha_inf is biased low, and the error bar reaches the last level")
    return fit
