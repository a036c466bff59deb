"""The zero-energy line ``α_sat,r(κ)``: the capacity of the (negative) spherical perceptron at every level.

``α_sat,r(κ)`` is the largest ``α`` at which the level-``r`` ground-state energy
is still 0, i.e. at which some unit ``x`` has no field above ``κ``
(``docs/theory.md#zero-energy``).  With ``E_r = S − αG`` (``S, G < 0``) the
energy is positive iff ``α > S/G`` somewhere, so ``α_sat,r = inf_θ S/G``; the
infimum is reached as ``χ → ∞`` with ``y_l = x_l/χ`` fixed, where

* the leaf becomes the quadratic hinge ``g_r(h) = −(h − κ)_+²/2``
  (:func:`jaxcap._src.leaf.leaf_hinge`; ``χ f_r → g_r``), and each smoothing
  ``(1/y_l) log E exp(y_l ·)`` (:func:`jaxcap._src.leaf.hinge_innermost_level` in closed
  form, the engines with ``leaf="hinge"`` above it);
* the sphere part becomes ``S = −A/(2χ)`` with
  ``A = q_0/λ_0 + Σ_l (1/y_l) ln(λ_l/λ_{l+1})`` and
  ``λ_l = 1 + Σ_{j≥l} y_j (q_{j+1} − q_j)`` (:func:`jaxcap._src.functional.reduced_sphere_term`).

So ``α_sat,r(κ) = min_{q, y} A(q, y) / (−2 E_z g_0(√q_0 z))``, a χ-free problem.
At every finite ``χ`` (``x = χy``) the ratio is larger: the finite-``χ`` leaf
``max(g_r, −χ)/χ`` lies above the hinge's, so the nested mean ``−G`` is smaller.

* Level 0 is Gardner's capacity ``1/E(z − κ)_+²`` (:func:`gardner`).
* For ``κ ≤ 0`` (a convex problem) the minimum is the replica-symmetric point at
  every level: the level-``r ≥ 1`` minimiser degenerates to ``q → 1`` and
  ``α_sat,r = α_sat,0``; :func:`sat` returns level 0's value for them, with that
  reason in its diagnostics.
* For ``κ > 0`` level ``r ≥ 1`` minimises ``log(S/G)`` with the threshold's own
  driver (:mod:`jaxcap._src.driver`, objective :data:`LINE`; :data:`jaxcap._src.solver.OBJECTIVES` ``"zero_energy"``: saddle-free
  Newton in the reduced coordinates of :func:`jaxcap._src.params.from_reduced`, L-BFGS
  ascent as the fallback, the same measurement) on a grid or tensor engine with
  the hinge leaf; each point is verified: gradient of the reduced energy
  ``S − α_sat G`` in ``(q, y)`` ≤ 1e−9, its Hessian negative definite (``α`` has a
  strict minimum), no merged levels, and the engine resolves the point.

``dα_sat/dκ = −α (∂G/∂κ)/G`` by the envelope theorem (``S`` does not depend on ``κ``), and
(:func:`second_derivative`, ``docs/theory.md#derivatives``) with ``φ = log(S/G)`` and ``u*`` its minimiser,

    d²α_sat/dκ² = α [(∂_κ φ)² + ∂²_κ φ − ∂²_{κu} φ · H⁻¹ ∂²_{uκ} φ],    H = ∇²_u φ(u*).
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, Iterator, Sequence

import jax.numpy as jnp
import numpy as np

from . import driver
from .extrapolation import extrapolate
from .measurement import envelope_derivatives
from .params import Params, from_reduced, to_reduced
from .result import ConvergenceError, Diagnostics, Result
from .compilation import jit
from .solver import log_zero_energy_ratio, polish_many, unpack, value_grad_hessian
from .engine import joined, make_engine
from .validation import check_kappa, check_level, check_options, check_points

__all__ = ["gardner", "sat", "sat_chain", "sat_sequence", "sat_curve", "second_derivative"]

#: Level-1 starts ``(q_0, y_0)``: the minimisers for ``κ`` from 0.1 to 3 lie among them.
LEVEL1_STARTS = [(q0, y0) for q0 in (0.85, 0.6, 0.3, 0.1) for y0 in (15.0, 40.0, 5.0)]
#: Overlap gaps below this (and below 0.05 of their larger neighbour) are merged levels.  Lower than the
#: threshold's 1e−3: as ``κ → 0+`` the minimiser tends to the replica-symmetric point continuously
#: (``1 − q_0 = 3.2e−3`` at ``κ = 0.05``, ``5.5e−4`` at ``κ = 0.02``, level 1), so small gaps are genuine.
GAP_FLOOR = 1e-6
#: ``κ`` above which :func:`gardner` integrates by Gauss–Laguerre (the closed form cancels).
_LAGUERRE_FROM = 1.5
_INV_SQRT_2PI = 0.3989422804014327


def _normal_tail(kappa: float) -> float:
    """``Φ(−κ)`` by ``scipy.special.ndtr`` (SciPy loads only where it is used)."""
    from scipy.special import ndtr

    return float(ndtr(-kappa))


@functools.cache
def _laguerre(nodes: int = 80):
    from scipy.special import roots_laguerre  # SciPy loads only where it is used

    return roots_laguerre(nodes)


def _positive_part_moments(kappa: float) -> tuple[float, float]:
    """``(E(z − κ)_+, E(z − κ)_+²)`` for a standard normal ``z``.

    Closed forms ``φ(κ) − κΦ(−κ)`` and ``(1 + κ²)Φ(−κ) − κφ(κ)`` up to ``κ = 1.5``;
    beyond, where they cancel (7 digits lost at ``κ = 20``),
    ``E(z − κ)_+^n = φ(κ) κ^{−n−1} ∫_0^∞ s^n e^{−s} e^{−s²/(2κ²)} ds`` by 80-point
    Gauss–Laguerre (relative error ≤ 1e−14 for ``κ ≥ 1``).
    """
    phi = _INV_SQRT_2PI * math.exp(-0.5 * kappa * kappa)
    if kappa <= _LAGUERRE_FROM:
        tail = _normal_tail(kappa)
        return phi - kappa * tail, (1.0 + kappa * kappa) * tail - kappa * phi
    s, w = _laguerre()
    damp = w * np.exp(-s * s / (2.0 * kappa * kappa))
    return (phi / kappa**2 * float(np.sum(damp * s)), phi / kappa**3 * float(np.sum(damp * s * s)))


def gardner(kappa: float) -> tuple[float, float]:
    """Level 0: ``(α_sat,0(κ), dα_sat,0/dκ) = (1/m_2, 2 m_1/m_2²)`` with ``m_n = E(z − κ)_+^n``
    (Gardner's capacity; ``A = 1`` and ``g_0 = −(z − κ)_+²/2``, ``docs/theory.md#zero-energy``).

    Raises:
        ValueError: ``κ`` not finite, or so large (about 38) that ``α`` exceeds float64.
    """
    if not math.isfinite(kappa):
        raise ValueError(f"kappa must be finite, got {kappa!r}")
    m1, m2 = _positive_part_moments(float(kappa))
    if not m2 > 0.0 or not math.isfinite(1.0 / m2):
        raise ValueError(f"alpha_sat at kappa = {kappa:g} exceeds the float64 range")
    return 1.0 / m2, 2.0 * m1 / m2**2


def _level0(kappa: float, level: int, t0: float, why: str = "") -> Result:
    alpha, slope = gardner(kappa)
    return Result(alpha=alpha, energy=0.0, level=level, kappa=float(kappa), params=_line_params([], []),
                  diagnostics=Diagnostics(grad_norm=0.0, hessian_max_eig=float("nan"), quad_nodes=0, quad_error=0.0,
                                          seconds=time.perf_counter() - t0, engine="closed form"),
                  dalpha_dkappa=slope, kind="sat", messages=(why,) if why else ())


def _work(engine, level: int) -> float:
    """Terms summed by one evaluation of the level-``level`` hinge nesting on ``engine``
    (:meth:`~jaxcap._src.engine.Engine.terms`), for :data:`MAX_WORK`."""
    return engine.terms(level)


#: Most terms per evaluation (:func:`_work`) a grid may sum: a start whose polished point needs more (one
#: drifting toward ``q → 1``, where the grid's spacing follows ``√(1 − q)``) is refused with that reason.
MAX_WORK = 2e7
_OVER_BUDGET = "the grid needs"
#: Most distinct Newton programs (engines) one level of the line may compile: a verified level needs at
#: most four (level 1 at ``κ = 4``: two direct tries, their refits).
MAX_PROGRAMS = 4
#: Most terms the Newton polishes of one level of the line may sum (:func:`jaxcap._src.driver.newton_work`,
#: each polish reserved at its most steps): about ten polishes of a level-2 point (5e5 terms per
#: evaluation, 11 gradients a step, 30 steps); a start whose own engine needs more (``q_0 → 0``) is refused.
MAX_LEVEL_WORK = 2e9


def _over_budget(engine, level: int):
    """The budget's reason (:class:`~jaxcap._src.driver.Refused`) when ``engine`` sums more than :data:`MAX_WORK`."""
    if _work(engine, level) > MAX_WORK:
        return driver.Refused(f"{_OVER_BUDGET} {_work(engine, level):.1e} terms per evaluation "
                              f"(limit {MAX_WORK:.0e})")
    return None


def _no_drift(engine, params, level):
    """The line's points are bounded by :data:`MAX_WORK` on the engine they need, not by a drift test."""
    return None


def _direct_engine(engine, starts, level):
    """One engine (one compiled program) for the Newton-only tries, unless joining far apart starts
    (a fine grid from one, a wide range and kernel from another) costs more than both apart."""
    own = [engine.fitted(p) for p in starts[:driver.DIRECT_TRIES]]
    together = joined(own)
    return together if _work(together, level) <= sum(_work(e, level) for e in own) else None


#: The zero-energy line as a :class:`~jaxcap._src.driver.Objective`: ``log(S/G)`` in the reduced
#: coordinates ``(q, y)`` (``χ = 1``), a minimum that must lower the level below.
LINE = driver.Objective(
    solver="zero_energy", alpha=0.0, on_alpha=True, to_u=to_reduced, from_u=from_reduced,
    measured_u=lambda u: u[1:], start=lambda p: Params(np.ones(()), p.q, p.x),
    level1_starts=tuple(Params(np.ones(()), np.array([q0]), np.array([y0])) for q0, y0 in LEVEL1_STARTS),
    level0_starts=(), level0_u=np.zeros((0, 1)), gap_floor=GAP_FLOOR, refuse_point=_no_drift,
    refuse_engine=_over_budget, direct_engine=_direct_engine, max_programs=MAX_PROGRAMS, max_work=MAX_LEVEL_WORK,
    extremum="minimum", title="zero-energy line, ")


def _quad_error(m: dict) -> float:
    """:func:`jaxcap._src.measurement.quad_error` on ``α`` of the measured point ``m``."""
    return driver.value_error(LINE, m)[0]


def _result(m: dict, used, level: int, kappa: float, seconds: float, tried: int) -> Result:
    """The :class:`~jaxcap._src.result.Result` of a verified measurement ``m`` on engine ``used``."""
    alpha, g, info = float(m["alpha"]), float(m["g"]), used.describe()
    diag = Diagnostics(grad_norm=m["grad_norm"], hessian_max_eig=m["hessian_max_eig"],
                       quad_nodes=info.get("nodes", 0), quad_error=_quad_error(m), seconds=seconds,
                       engine=info["engine"], grid_spacing=info.get("spacing"),
                       newton_steps=int(m["newton_steps"]), starts_tried=tried)
    return Result(alpha=alpha, energy=float(m["energy"]), level=level, kappa=float(kappa),
                  params=_line_params(m["q"], m["x"]),
                  diagnostics=diag, kind="sat", **envelope_derivatives("threshold", alpha, g, float(m["dg_dkappa"])))


def _level_result(level: int, kappa: float, starts, engine, below: float, fitted=None) -> tuple[Result, object]:
    """The verified level-``level`` point from ``starts`` (below ``below``) and the engine that resolved it
    (:func:`jaxcap._src.driver.solve_level`)."""
    m, used, diag = driver.solve_level(LINE, level, kappa, engine, starts, below, fitted)
    return _result(m, used, level, kappa, diag["seconds"], diag["starts_tried"]), used


def _check(level, kappa) -> tuple[int, float]:
    """``(level, κ)`` checked (:mod:`jaxcap._src.validation`)."""
    return check_level(level), check_kappa(kappa)


def _engine(level: int, kappa: float, options: dict):
    """The hinge engine of ``level`` at ``κ`` (:func:`jaxcap._src.engine.make_engine`; ``options``: ``engine``,
    ``nodes``, ``spacing``)."""
    check_options(options)
    return make_engine(level, options.get("engine"), options.get("nodes"), options.get("spacing"), kappa, leaf="hinge")


def _line_params(q, y) -> Params:
    """A point ``(q, y)`` of the line as the :class:`~jaxcap._src.params.Params` of a result (``χ = 1``, ``x = y``)."""
    return Params(np.ones(()), np.asarray(q, float).reshape(-1), np.asarray(y, float).reshape(-1))


def _as_params(res: Result) -> Params:
    return Params(np.ones(()), np.asarray(res.params["q"], float), np.asarray(res.params["y"], float))


def sat_chain(max_level: int, kappa: float, *, first: int = 0, **options: Any) -> Iterator[Result]:
    """``α_sat,first … α_sat,max_level`` at ``κ``, each level started from the ones below it.

    Args:
        max_level: the last level.
        kappa: the field threshold (finite).
        first: the first level returned (levels below it are still solved when ``κ > 0``: they start it).
        **options: ``engine`` (``"grid"``, default, or ``"tensor"``), ``nodes``, ``spacing``
            (as for :func:`jaxcap.threshold`).

    Raises:
        ValueError: bad level, ``κ`` or options.
        ConvergenceError: a level with no verified minimum (its diagnostics attached).
    """
    max_level, kappa = _check(max_level, kappa)
    # the options, and the last level's engine where one is solved (kappa > 0), checked before any work
    _engine(max_level if kappa > 0.0 else 0, kappa, options)
    return _sat_levels(max_level, kappa, first, options)


def _sat_levels(max_level: int, kappa: float, first: int, options: dict) -> Iterator[Result]:
    """:func:`sat_chain` after its checks."""
    known: list[Params] = []
    below = math.inf
    for r in range(0, max_level + 1):
        t0 = time.perf_counter()
        if r == 0 or kappa <= 0.0:
            why = "" if r == 0 else ("kappa <= 0: a convex problem, the minimum is the replica-symmetric point "
                                     "(q -> 1) at every level, alpha_sat,r = alpha_sat,0")
            res = _level0(kappa, r, t0, why)
            below = res.alpha
            if r >= first:
                yield res
            continue
        before, previous = ([None, None] + known)[-2:]
        res, _ = _level_result(r, kappa, driver.starts(LINE, r, previous, before), _engine(r, kappa, options), below)
        known, below = [*known[-1:], _as_params(res)], res.alpha
        if r >= first:
            yield res


def sat(kappa: float, level: int = 0, **options) -> Result:
    """``α_sat,r(κ)``: the level-``level`` zero-energy line (``docs/theory.md#zero-energy``).

    Args:
        kappa: the field threshold (finite); ``κ > 0`` is the negative spherical perceptron.
        level: the lifting level ``r ≥ 0`` (0: Gardner's ``1/E(z − κ)_+²``).
        **options: ``engine`` (``"grid"``, default, or ``"tensor"``), ``nodes``, ``spacing``.

    Returns:
        A :class:`~jaxcap._src.result.Result` with ``alpha``, ``level``, ``kappa``, ``params``
        (``{"q": [...], "y": [...]}``, ``y_l = x_l/χ``; empty at level 0 and for ``κ ≤ 0``),
        ``energy`` (the reduced energy ``S − αG`` at the minimiser: 0 up to rounding),
        ``diagnostics`` (``quad_error`` on ``α``) and ``dalpha_dkappa`` (envelope theorem).

    Raises:
        ValueError: bad level, ``κ`` or options.
        ConvergenceError: no verified minimum at some level up to ``level``.
    """
    *_, last = sat_chain(level, kappa, first=level, **options)
    return last


def sat_sequence(max_level: int, kappa: float, **options) -> tuple[list[Result], dict]:
    """Levels ``0 … max_level`` of the line at ``κ`` and their ``r → ∞`` extrapolation.

    The extrapolation is :func:`jaxcap._src.extrapolation.extrapolate` (the threshold's: a shifted power
    law over levels ``r ≥ 2`` from five of them, else a plain power law over ``r ≥ 1``),
    with its error bar.  For ``κ ≤ 0`` every level is level 0 and so is the limit (error 0).

    Raises:
        ValueError: ``max_level < 3`` (the fit needs three levels ``r ≥ 1``), bad ``κ`` or options.
        ConvergenceError: as :func:`sat_chain`.
    """
    if isinstance(max_level, bool) or int(max_level) != max_level or max_level < 3:
        raise ValueError(f"the r -> infinity fit needs max_level >= 3, got {max_level!r}")
    rows = list(sat_chain(max_level, kappa, **options))
    if kappa <= 0.0:
        fit = {"alpha_inf": rows[0].alpha, "alpha_inf_err": 0.0, "model": "replica symmetric (kappa <= 0)"}
    else:
        fit = extrapolate([r.level for r in rows], [r.alpha for r in rows])
    return rows, fit


#: ``κ`` of a curve solved together, in one vmapped Newton program per level (:func:`sat_curve`).
CURVE_CHUNK = 8


def sat_curve(kappas: Sequence[float], level: int, *, keep_going: bool = False, chunk: int = CURVE_CHUNK,
              **options: Any) -> list:
    """``α_sat,0 … α_sat,level`` at every ``κ`` of ``kappas``, batched by chunks of neighbouring ``κ``.

    The ``κ > 0`` are taken in the given order (sorted input continues best), ``chunk`` at a
    time.  The first ``κ`` is solved from scratch (:func:`sat_chain`); then, level by level,
    every ``κ`` of a chunk starts from the straight line through the last two solutions of
    that level before it (in the reduced coordinates ``u``; the last one alone at first) and
    all of them are polished together, one vmapped Newton program on one engine fitted to
    all those starts (:func:`jaxcap._src.solver.polish_many`), each then verified as a single
    solve is (:func:`jaxcap._src.driver.verdict`, below the level under it, on an engine that resolves it).  A
    ``κ`` that fails there is solved alone from its start (Newton, then the ascent), and
    from scratch if that fails too.  For ``κ ≤ 0`` every level is level 0 (module docstring).

    Args:
        kappas: the ``κ`` (finite), solved in this order.
        level: the highest level ``R``.
        keep_going: a ``κ`` whose solve from scratch fails too gets its
            :class:`~jaxcap._src.result.ConvergenceError` in place of its list, and the loop goes on.
        chunk: how many ``κ`` one program polishes.
        **options: as :func:`sat`.

    Returns:
        Per ``κ`` the list of its levels ``0 … R`` (:class:`~jaxcap._src.result.Result`).

    Raises:
        ValueError: bad level, ``κ``, ``chunk`` or options.
        ConvergenceError: a ``κ`` where the solve from scratch fails too (unless ``keep_going``).
    """
    check_points(np.size(kappas), f"a curve of {np.size(kappas)} kappas")
    ks = [float(k) for k in np.atleast_1d(np.asarray(kappas, dtype=float))]
    for k in ks:
        _check(level, k)
    if isinstance(chunk, bool) or int(chunk) != chunk or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    _engine(level, 0.0, options)      # the options checked before any work
    out: list = [None] * len(ks)
    for i, k in enumerate(ks):
        if k <= 0.0 or level == 0:
            out[i] = list(sat_chain(level, k, **options))
    todo = [i for i, k in enumerate(ks) if out[i] is None]
    known: dict = {r: [] for r in range(1, level + 1)}   # per level the (κ, u) solved so far, in order

    def cold(i):
        try:
            out[i] = list(sat_chain(level, ks[i], **options))
        except ConvergenceError as err:
            if not keep_going:
                raise
            out[i] = err
            return
        for res in out[i][1:]:
            known[res.level].append((ks[i], to_reduced(_as_params(res))))

    while todo and not any(known.values()):
        cold(todo.pop(0))
    for at in range(0, len(todo), int(chunk)):
        _curve_chunk(todo[at:at + int(chunk)], ks, level, options, out, known, cold)
    return out


def _predicted(known: list, kappa: float) -> np.ndarray:
    """The start at ``κ``: the straight line through the last two ``(κ, u)`` of ``known`` (the last alone
    when it is the only one)."""
    (k1, u1) = known[-1]
    if len(known) < 2 or known[-2][0] == k1:
        return u1
    k0, u0 = known[-2]
    return u1 + (kappa - k1) * (u1 - u0) / (k1 - k0)


def _polish_chunk(us: np.ndarray, kappas: list, size: int, level: int, base) -> list:
    """Per row of ``us`` ``(engine, measurement)`` of Newton at its ``κ``, or ``None``: the rows polished
    together (:func:`jaxcap._src.solver.polish_many`, padded to ``size`` rows by repeating the last) on one
    engine fitted to all their starts; a row whose polished point that engine does not cover
    (:meth:`~jaxcap._src.grid.GridEngine.covers`) is polished once more from there, with the others of
    its kind, on an engine fitted to those points (as a single solve refits)."""
    measured: list = [None] * len(us)
    pending, us = list(range(len(us))), np.array(us)
    for _ in range(2):
        if not pending or not all(np.all(np.isfinite(us[j])) for j in pending):
            break
        engine = joined([base.fitted(from_reduced(us[j])) for j in pending])
        if _work(engine, level) > MAX_WORK:
            break
        pad = [pending[-1]] * (size - len(pending))
        packed = np.asarray(polish_many(us[pending + pad], 0.0, np.asarray(kappas)[pending + pad],
                                        objective="zero_energy", engine=engine, refined=engine.refined()))
        again = []
        for j, v in zip(pending, packed):
            m = unpack(v, level)
            if not np.all(np.isfinite(m["u"])):
                continue
            if engine.covers(base.fitted(Params(m["chi"], m["q"], m["x"]))):
                measured[j] = (engine, m)
            else:
                again.append(j)
                us[j] = m["u"][1:]
        pending = again
    return measured


def _curve_chunk(idx: list, ks: list, level: int, options: dict, out: list, known: dict, cold) -> None:
    """Levels ``1 … level`` at the ``κ`` of ``idx`` (:func:`sat_curve`), written into ``out``."""
    rows = {i: [_level0(ks[i], 0, time.perf_counter())] for i in idx}
    for r in range(1, level + 1):
        live = [i for i in idx if i in rows]
        if not live:
            return
        t0 = time.perf_counter()
        us = np.stack([_predicted(known[r], ks[i]) for i in live])
        base = _engine(r, max(ks[i] for i in live), options)
        starts = [from_reduced(u) for u in us]
        # an engine fitted to each point joins the chunk's into one; one that is not solves each alone
        measured = _polish_chunk(us, [ks[i] for i in live], len(idx), r, base) if base.adaptive \
            else [None] * len(live)
        seconds = (time.perf_counter() - t0) / len(live)
        for j, i in enumerate(live):
            res, below = None, rows[i][-1].alpha
            if measured[j] is not None:
                engine, m = measured[j]
                if not driver.verdict(LINE, m, r, engine, below):
                    res = _result(m, engine, r, ks[i], seconds, 1)
            if res is None:
                # alone: from the nearest solution of this level (the last one), then from the prediction
                # (from_reduced gives chi = 1, as the zero-energy starts have)
                tries = [from_reduced(known[r][-1][1]), starts[j]]
                try:
                    res, _ = _level_result(r, ks[i], tries, _engine(r, ks[i], options), below)
                except ConvergenceError:
                    del rows[i]
                    cold(i)
                    continue
            rows[i].append(res)
            known[r].append((ks[i], to_reduced(_as_params(res))))
    for i, levels in rows.items():
        out[i] = levels


@jit(static_argnames=("engine",))
def _objective_hessian(v, *, engine):
    """``(φ, ∇φ, ∇²φ)`` of ``φ(u, κ) = log(S/G)`` in ``v = (u, κ)`` (central differences of exact gradients,
    :func:`~jaxcap._src.solver.value_grad_hessian`)."""
    phi = lambda w, _: log_zero_energy_ratio(w[:-1], 0.0, w[-1], engine)  # noqa: E731
    value, grad, hess, _ = value_grad_hessian(phi, v, jnp.zeros(()))
    return value, grad, hess


def second_derivative(res: Result, **options: Any) -> float:
    """``d²α_sat,r/dκ²`` at the point of ``res`` (a :func:`sat` result).

    At a level-``r ≥ 1`` minimiser: the implicit function theorem (module docstring) on the
    engine fitted to the point, with the derivatives of ``φ = log(S/G)`` in ``(u, κ)`` from
    central differences of exact gradients (relative error about 1e−9).  At level 0, and
    for ``κ ≤ 0`` where every level is level 0: Gardner's closed form.

    Args:
        res: a converged result of :func:`sat`.
        **options: the engine options ``res`` was solved with (as :func:`sat`).

    Raises:
        ValueError: ``res`` is not a converged zero-energy result.
    """
    if res.kind != "sat" or not bool(np.all(res.converged)):
        raise ValueError("second_derivative needs a converged zero-energy result (jaxcap.sat)")
    return curvature(res.level, float(res.kappa), res.params["q"], res.params["y"], **options)


def curvature(level: int, kappa: float, q, y, **options) -> float:
    """:func:`second_derivative` at the level-``level`` minimiser ``(q, y)`` of ``κ`` (empty: level 0)."""
    if len(q) == 0:
        return _gardner_second(kappa)
    params = Params(np.ones(()), np.asarray(q, float), np.asarray(y, float))
    engine = _engine(level, kappa, options).fitted(params)
    v = jnp.asarray(np.append(to_reduced(params), kappa))
    value, grad, hess = (np.asarray(a) for a in _objective_hessian(v, engine=engine))
    alpha, h_uu, h_uk = math.exp(float(value)), hess[:-1, :-1], hess[:-1, -1]
    return alpha * (grad[-1] ** 2 + hess[-1, -1] - h_uk @ np.linalg.solve(h_uu, h_uk))


def _gardner_second(kappa: float) -> float:
    """``d²/dκ²`` of Gardner's ``1/m_2`` (``m_n = E(z − κ)_+^n``, ``dm_2/dκ = −2 m_1``, ``dm_1/dκ = −Φ(−κ)``):
    ``d/dκ (2 m_1/m_2²) = (−2Φ(−κ) m_2 + 8 m_1²)/m_2³``."""
    m1, m2 = _positive_part_moments(kappa)
    return (-2.0 * _normal_tail(kappa) * m2 + 8.0 * m1 * m1) / m2**3
