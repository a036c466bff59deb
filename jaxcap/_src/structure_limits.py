"""The ``r → ∞`` limits of the ground state: the contacts per dimension ``c_∞`` and the continuous
Parisi function (``docs/theory.md#structure-limits``).

* :func:`structure_sequence` solves levels ``0 … R`` (thresholds by :func:`jaxcap._src.threshold.threshold_chain`,
  or the zero-energy line by :func:`jaxcap._src.zero_energy.sat_chain`) and takes the
  :func:`jaxcap._src.structure.structure` of each.
* :func:`contacts_limit` extrapolates ``c_r`` with the thresholds' own extrapolation,
  :func:`jaxcap._src.extrapolation.extrapolate` (the shifted power law over levels ``r ≥ 2`` from five of
  them, else the plain law over ``r ≥ 1``; the error bar is the largest of the fit's standard error,
  the leave-one-out changes and the model-choice difference).  That fit describes a decreasing
  sequence; an increasing one is fitted as ``−c_r``.
* :func:`parisi_limit` reads a step function as a continuous curve (:func:`parisi_curve`: the plateau
  ``q_0`` up to ``x_0``, then through the midpoints ``((x_{l−1} + x_l)/2, q_l)`` of the inner steps, to 1
  at ``x_{r−1}``), and takes the level-``R`` curve as the limit, with
  the band ``|q_R − q_{⌈R/2⌉}|`` (levels ``R`` and about ``R/2``: an upper estimate of the error of
  level ``R`` while the differences shrink at least like ``1/r``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .extrapolation import extrapolate
from .result import sequence_pytree
from .structure import Structure, structure
from .threshold import threshold_chain
from .zero_energy import sat_chain

__all__ = ["StructureSequence", "structure_sequence", "contacts_limit", "parisi_curve", "parisi_limit"]


@sequence_pytree(data=("results", "structures"))
class StructureSequence:
    """Levels ``0 … R`` at one ``κ``: their :class:`~jaxcap._src.result.Result` (``results``) and
    :class:`~jaxcap._src.structure.Structure` (``structures``), the fit of ``c_r`` (``fit``, :func:`contacts_limit`;
    empty below three levels ``r ≥ 1``) and the Parisi limit (``parisi``, :func:`parisi_limit`).  A JAX
    pytree: its leaves are those of the results and structures; ``kappa``, ``sat``, ``fit`` and
    ``parisi`` are static."""

    kappa: float
    sat: bool
    results: tuple
    structures: tuple
    fit: dict
    parisi: dict

    @property
    def levels(self) -> list:
        return [s.level for s in self.structures]

    @property
    def contacts(self) -> list:
        return [s.contacts_per_dimension for s in self.structures]

    def to_json(self) -> dict:
        out = {"kappa": self.kappa, "sat": self.sat, "levels": self.levels,
               "alphas": [s.alpha for s in self.structures],
               "contacts_per_dimension": self.contacts,
               "fractions": [s.fractions for s in self.structures],
               "parisi": [{"x": s.parisi["x"], "q": s.parisi["q"]} for s in self.structures]}
        if self.fit:
            out.update(contacts_per_dimension_inf=self.fit["contacts_per_dimension_inf"],
                       contacts_per_dimension_inf_err=self.fit["contacts_per_dimension_inf_err"], fit=self.fit)
        if self.parisi:
            out["parisi_inf"] = self.parisi
        return out


def contacts_limit(levels, contacts) -> dict:
    """``c_∞`` and its error bar from ``c_r`` at ``levels`` by :func:`jaxcap._src.extrapolation.extrapolate`
    (module docstring): ``contacts_per_dimension_inf``, ``contacts_per_dimension_inf_err``, ``model``,
    ``p``, ``fit_levels``, ``reliable`` (with ``reliability`` when not) and ``direction``.

    Raises:
        ValueError: fewer than three levels ``r ≥ 1``.
    """
    pairs = sorted((int(r), float(c)) for r, c in zip(levels, contacts) if r >= 1)
    if len(pairs) < 3:
        raise ValueError("the r -> infinity fit of the contacts needs three or more levels r >= 1")
    r, c = map(np.asarray, zip(*pairs))
    sign = 1.0 if c[-1] <= c[0] else -1.0
    fit = extrapolate(r, sign * c)
    out = {"contacts_per_dimension_inf": sign * fit["alpha_inf"],
           "contacts_per_dimension_inf_err": fit["alpha_inf_err"],
           "model": fit["model"].replace("alpha", "c"), "C": sign * fit["C"], "p": fit["p"], "s": fit.get("s", 0.0),
           "fit_levels": fit["fit_levels"], "reliable": fit["reliable"],
           "direction": "decreasing" if sign > 0 else "increasing"}
    if "reliability" in fit:
        out["reliability"] = fit["reliability"]
    steps = np.diff(sign * c[np.isin(r, fit["fit_levels"])])
    if np.any(steps > 0):
        out["reliable"] = False
        out["reliability"] = "c_r is not monotone over the fitted levels"
    return out


def parisi_curve(s: Structure, at) -> np.ndarray:
    """The continuous reading of ``s``'s Parisi step function at ``at`` (module docstring): ``q_0`` up to ``x_0``
    (the plateau), then linear through the midpoints ``((x_{l−1} + x_l)/2, q_l)`` of the inner steps, to 1
    at ``x_{r−1}`` and beyond."""
    xs, qs = np.asarray(s.parisi["x"], float), np.asarray(s.parisi["q"], float)
    at = np.asarray(at, float)
    if xs.size == 0:
        return np.ones_like(at)
    mid = 0.5 * (xs[:-1] + xs[1:])
    knots, values = np.concatenate([xs[:1], mid, xs[-1:]]), np.concatenate([qs, [1.0]])
    return np.interp(at, knots, values)


def parisi_limit(structures, points: int = 200) -> dict:
    """The continuous ``q(x)`` of the highest level with its error band (module docstring): ``x`` (from 0 to
    the last breakpoint of the highest level), ``q``, ``q_err``, ``levels`` (the two compared); empty below
    level 2."""
    by_level = {s.level: s for s in structures if len(s.parisi["q"]) == s.level}
    top = max(by_level, default=0)
    if top < 2:
        return {}
    other = max((r for r in by_level if r <= math.ceil(top / 2) and r >= 1), default=None)
    if other is None:
        return {}
    x = np.linspace(0.0, by_level[top].parisi["x"][-1], points)
    q, q_other = parisi_curve(by_level[top], x), parisi_curve(by_level[other], x)
    return {"x": x.tolist(), "q": q.tolist(), "q_err": np.abs(q - q_other).tolist(), "levels": [top, other]}


def structure_sequence(max_level: int, kappa: float = 0.0, *, sat: bool = False, progress: Any = None,
                       **options: Any) -> StructureSequence:
    """Levels ``0 … max_level`` at ``κ`` (thresholds, or the zero-energy line with ``sat``), the structure of
    each, and the limits (:func:`contacts_limit` from three levels ``r ≥ 1``, :func:`parisi_limit`).

    ``progress(result, structure)`` is called as each level is done.  ``options``: ``engine``, ``nodes``,
    ``spacing``.

    Raises:
        ValueError: bad level, ``κ`` or options.
        ConvergenceError: a level with no verified solution.
    """
    chain = sat_chain(max_level, kappa, **options) if sat else threshold_chain(max_level, kappa=kappa, **options)
    results, structures = [], []
    for res in chain:
        st = structure(res, **options)
        results.append(res)
        structures.append(st)
        if progress:
            progress(res, st)
    levels = [s.level for s in structures]
    if sat and kappa <= 0.0:   # every level is the replica-symmetric point (docs/theory.md#zero-energy)
        c0 = structures[0].contacts_per_dimension
        fit = {"contacts_per_dimension_inf": c0, "contacts_per_dimension_inf_err": 0.0,
               "model": "replica symmetric (kappa <= 0)", "reliable": True}
    else:
        fit = contacts_limit(levels, [s.contacts_per_dimension for s in structures]) if max_level >= 3 else {}
    return StructureSequence(kappa=float(kappa), sat=sat, results=tuple(results), structures=tuple(structures),
                             fit=fit, parisi=parisi_limit(structures))
