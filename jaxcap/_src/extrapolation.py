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

For the thresholds ``α_r`` (``series=True``, as :mod:`jaxcap._src.frsb` asks), from
:data:`SERIES_FROM` levels ``r ≥ 4`` on (``frsb --max-level 10`` and more) the fit is
the asymptotic series with the leading exponent fixed at 4,

    α_r = α_∞ + c_4 r^{−4} + c_5 r^{−5} + c_6 r^{−6}        (levels r ≥ 4),

linear least squares.  Its ground is the sequence itself: the local exponent of
the differences, ``log(d_r/d_{r+1}) / log((r+3/2)/(r+1/2))``, climbs from 4.3 to
4.90 over levels 1–28 and approaches 5 like ``5 − c/r`` (levels 0–30 in
``benchmarks/results/frsb-levels-30-cpu.json``), so ``α_r − α_∞`` falls as
``r^{−4}`` with corrections in powers of ``1/r``, which the shifted power law
(``p ≈ 4.1``) only mimics.  Fitted to levels 4–10, the series predicts every level
11–30 to within 8e−9; the shifted law, not having the form, settles 7e−8 higher.
The error bar is the largest of the standard error of ``α_∞``, its change when the
lowest or the highest level is left out, and its change with one more term
(``c_7 r^{−7}``).  The shifted law over levels ``r ≥ 2`` is reported beside it
(``alpha_inf_shifted``).
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["extrapolate", "MODEL", "PLAIN_MODEL", "ALTERNATIVE_MODEL", "SERIES_MODEL", "SHIFTED_FROM", "SERIES_FROM"]

MODEL = "alpha_r = alpha_inf + C * (r + s)**(-p), levels r >= 2"
PLAIN_MODEL = "alpha_r = alpha_inf + C * r**(-p), levels r >= 1"
ALTERNATIVE_MODEL = "alpha_r = alpha_inf + C * r**(-p) * (1 + D / r), levels r >= 2"
#: Levels ``r ≥ 2`` needed for the shifted power law (four parameters and one degree of freedom).
SHIFTED_FROM = 5
SERIES_MODEL = "alpha_r = alpha_inf + c4 * r**-4 + c5 * r**-5 + c6 * r**-6, levels r >= 4"
#: Lowest level of the series fit, and the levels ``r ≥`` it needed (four coefficients, and three
#: degrees of freedom left when a level is dropped or a term added).
SERIES_LOWEST, SERIES_FROM = 4, 7
#: Exponents of the series: the leading one and its corrections.
SERIES_POWERS = (4, 5, 6)


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


def _series_fit(levels, alphas, powers=SERIES_POWERS):
    """``(α_∞, its standard error, coefficients)`` of ``α_r = α_∞ + Σ_p c_p r^{−p}`` by linear least squares."""
    r, a = np.asarray(levels, float), np.asarray(alphas, float)
    design = np.stack([np.ones_like(r)] + [r ** -float(p) for p in powers], axis=1)
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    dof = len(r) - design.shape[1]
    resid = a - design @ coef
    var = (resid @ resid / dof) * np.linalg.inv(design.T @ design)[0, 0] if dof > 0 else np.nan
    return float(coef[0]), float(np.sqrt(max(var, 0.0))), coef[1:]


def _series(pairs) -> dict:
    """The series fit over the levels ``r ≥`` :data:`SERIES_LOWEST` of ``pairs`` (module docstring)."""
    r, a = map(np.asarray, zip(*[(lv, al) for lv, al in pairs if lv >= SERIES_LOWEST]))
    alpha_inf, stderr, coef = _series_fit(r, a)
    terms = [stderr, abs(_series_fit(r[1:], a[1:])[0] - alpha_inf), abs(_series_fit(r[:-1], a[:-1])[0] - alpha_inf),
             abs(_series_fit(r, a, SERIES_POWERS + (SERIES_POWERS[-1] + 1,))[0] - alpha_inf)]
    return {"alpha_inf": alpha_inf, "alpha_inf_err": float(max(v for v in terms if np.isfinite(v))),
            "model": SERIES_MODEL, "C": float(coef[0]), "coefficients": [float(c) for c in coef],
            "p": float(SERIES_POWERS[0]),
            "fit_levels": [int(v) for v in r], "reliable": True}


def extrapolate(levels, alphas, series: bool = False) -> dict:
    """``α_∞`` (with ``series``, the threshold sequence of :mod:`jaxcap._src.frsb`, whose ``r^{−4}``
    law the module docstring shows) from the levels ``r ≥ 4`` by the asymptotic series when there
    are at least :data:`SERIES_FROM` of them; else from the levels ``r ≥ 2`` by the shifted power law when there
    are at least :data:`SHIFTED_FROM` of them, else from the levels ``r ≥ 1`` by the plain power law
    (at least three).

    Returns:
        ``alpha_inf``, ``alpha_inf_err`` (always finite, see the module docstring),
        ``model``, ``C``, ``p``, ``fit_levels``, ``reliable`` (``False`` for the plain law,
        with the reason in ``reliability``), and for the shifted law ``s``,
        ``alpha_inf_alternative`` and ``alternative_model``; for the series ``coefficients``
        (``c_4 = C, c_5, c_6``) and the shifted law's ``alpha_inf_shifted``,
        ``alpha_inf_shifted_err`` and ``shifted_model``.

    Raises:
        ValueError: fewer than three levels ``r ≥ 1``.
    """
    pairs = sorted((int(r), float(a)) for r, a in zip(levels, alphas) if r >= 1)
    if series and sum(r >= SERIES_LOWEST for r, _ in pairs) >= SERIES_FROM:
        fit = _series(pairs)
        shifted_fit = _shifted_law(pairs)
        fit.update(alpha_inf_shifted=shifted_fit["alpha_inf"], alpha_inf_shifted_err=shifted_fit["alpha_inf_err"],
                   shifted_model=MODEL)
        return fit
    return _shifted_law(pairs)


def _shifted_law(pairs) -> dict:
    """The shifted (or, with few levels, the plain) power law over ``pairs`` (module docstring)."""
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
