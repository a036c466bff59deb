"""Single solves on the host: the level-r energy ``e_r(α)`` and the threshold ``α_r`` (``docs/theory.md#threshold``).

Level ``r`` is warm-started from the level-``r−1`` solution by splitting each of
its intervals in turn (:func:`jaxcap._src.params.split_level`).  Saddle-free Newton
from the first starts usually lands on the maximum directly; otherwise all
starts are ascended at once and the best non-degenerate one is polished by
Newton.  Either way the point is verified
(gradient ≈ 0, Hessian negative definite in ``(χ, q, x)``, resolved by the
engine).  All of that is the one driver, :mod:`jaxcap._src.driver`; this module holds the
threshold's and the energy's :class:`~jaxcap._src.driver.Objective` (:func:`objective`) and their chains.  The threshold is the minimum of ``A = (1 − S)/(−G)``: Newton on
``log A`` gives ``α_r = A(θ*)`` and ``θ*`` together, and ``e_r(α_r) = 1`` is
measured, not imposed.

These are the concrete solves behind :func:`jaxcap.threshold` and
:func:`jaxcap.energy`; under JAX transformations those go through
:mod:`jaxcap._src.sensitivity` instead.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from . import driver, guards
from . import potential as potentials
from .engine import joined, make_engine
from .measurement import envelope_derivatives, quad_error
from .params import Params, from_unconstrained, to_unconstrained
from .result import ConvergenceError, Diagnostics, Result, not_converged, start_params
from .validation import check_alpha, check_epsilon, check_kappa, check_level, check_options, check_potential
from .zero_energy import gardner, sat

__all__ = ["energy", "threshold", "threshold_chain", "check_level", "check_kappa", "check_alpha"]

#: Level-0 starts in unconstrained coordinates (``χ`` of 0.02 … 2): a ``start=`` batch is padded with
#: them to this size, so that every level-0 solve runs the same compiled program.
_LEVEL0_STARTS = np.log(np.asarray([[0.02], [0.1], [0.5], [2.0]]))
_LEVEL0_PARAMS = tuple(Params(np.exp(u[0]), np.zeros(0), np.zeros(0)) for u in _LEVEL0_STARTS)
#: Level-1 starts ``(q_0, x_0)`` at ``χ = 0.1``.
LEVEL1_STARTS = [(q0, x0) for q0 in (0.5, 0.8, 0.95) for x0 in (1.0, 3.0, 8.0)]
#: Overlap gaps below this (and below 0.05 of their larger neighbour) are merged levels
#: (:func:`jaxcap._src.params.degeneracy`).
GAP_FLOOR = 1e-3


def _direct_engine(engine, starts, level):
    """The engine the Newton-only tries share: fitted to every narrow split (below level 4; the split
    of the innermost interval is about as narrow as the innermost level Newton pulls in, so no second
    engine is needed), from level 4 to the extrapolated start and the first narrow split
    (:meth:`~jaxcap._src.engine.Engine.joined`)."""
    tried = driver.DIRECT_TRIES if level >= driver.EXTRAPOLATE_FROM else max(driver.DIRECT_TRIES, level)
    return joined([engine.fitted(p) for p in starts[:tried]])


def _no_engine_limit(engine, level):
    """The threshold's engines are bounded when built (:func:`jaxcap._src.engine.make_engine`) and by
    :func:`jaxcap._src.guards.drift`: no further budget."""
    return None


def objective(alpha: float | None = None, epsilon: float = 1.0) -> driver.Objective:
    """The threshold (``alpha=None``: Newton on ``log A``, ``docs/theory.md#threshold``, ``α_r = min A``;
    the level set ``e_r = epsilon``) or the energy at ``alpha`` (``max_θ E_r(α, θ)``) as a
    :class:`~jaxcap._src.driver.Objective`."""
    return driver.Objective(
        solver="threshold" if alpha is None else "energy",
        alpha=float(epsilon) - 1.0 if alpha is None else float(alpha),
        on_alpha=alpha is None, to_u=to_unconstrained, from_u=from_unconstrained, measured_u=lambda u: u,
        start=lambda p: p,
        level1_starts=tuple(Params(np.asarray(0.1), np.asarray([q0]), np.asarray([x0])) for q0, x0 in LEVEL1_STARTS),
        level0_starts=_LEVEL0_PARAMS, level0_u=_LEVEL0_STARTS, gap_floor=GAP_FLOOR, refuse_point=guards.drift,
        refuse_engine=_no_engine_limit, direct_engine=_direct_engine)


_THRESHOLD = objective()


def _objective(alpha, epsilon: float = 1.0) -> driver.Objective:
    return _THRESHOLD if alpha is None and epsilon == 1.0 else objective(alpha, epsilon)


def _result(level, kappa, engine, m, diag, on_alpha) -> Result:
    """The :class:`Result` of a verified solve; envelope derivatives from the measured ``G``, ``∂G/∂κ``."""
    info = engine.describe()
    alpha, g = float(m["alpha"]), float(m["g"])
    kind = "threshold" if on_alpha else "energy"
    extra = {k: float(v) for k, v in envelope_derivatives(kind, alpha, g, float(m["dg_dkappa"])).items()}
    return Result(
        alpha=alpha, energy=float(m["energy"]), level=level, kappa=float(kappa), kind=kind,
        params=Params(np.asarray(float(m["chi"])), np.atleast_1d(np.asarray(m["q"], float)),
                      np.atleast_1d(np.asarray(m["x"], float))), potential=engine.potential,
        diagnostics=Diagnostics(
            quad_nodes=info.get("nodes", 0), quad_error=float(quad_error(alpha, g, float(m["g_refined"]), on_alpha)),
            engine=info["engine"], grid_spacing=info.get("spacing"), **diag), **extra)


def _level_result(level, kappa, alpha, starts, engine=None, nodes=None, spacing=None, potential=(),
                  epsilon=1.0) -> Result:
    """One level from ``starts``: the threshold (``alpha=None``; the level set ``e_r = epsilon``) or the
    energy at ``alpha`` (:func:`jaxcap._src.driver.solve_level`), of ``potential`` (a key)."""
    eng = make_engine(level, engine, nodes, spacing, kappa, potential=potential)
    m, used, diag = driver.solve_level(_objective(alpha, epsilon), level, float(kappa), eng, starts)
    return _result(level, kappa, used, m, diag, on_alpha=alpha is None)


def _chain(alpha, max_level, kappa, options, resume=(), first=0, cost=None) -> Iterator[Result]:
    """Levels ``first … max_level`` (after the finished ``resume``), each from the ones before;
    ``cost``: the ``potential`` key and the level ``epsilon``.

    No start depends on level 0 (level 1 starts from a fixed set, :func:`jaxcap._src.driver.starts`),
    so a chain toward one level ``r ≥ 1`` may begin at level 1.
    """
    cost = cost or {}
    # refuses what the last level could not afford, up front
    make_engine(max_level, kappa=kappa, potential=cost.get("potential", ()), **options)
    done = [resume] if isinstance(resume, Result) else list(resume or ())
    known = [start_params(res, res.level) for res in done[-2:]]
    first = done[-1].level + 1 if done else first
    for r in range(first, max_level + 1):
        before, previous = ([None, None] + known)[-2:]
        res = _level_result(r, kappa, alpha, driver.starts(_THRESHOLD, r, previous, before), **options, **cost)
        known = [*known[-1:], start_params(res, r)]
        yield res


def threshold_chain(max_level: int, *, kappa: float = 0.0, resume=None, throw: bool = True, potential=None,
                    epsilon: float = 1.0, **options) -> Iterator[Result]:
    """Thresholds ``α_0, α_1, …, α_{max_level}``, each warm-started from the ones before.

    ``resume`` (a finished level-``s`` threshold, or the finished thresholds of
    consecutive levels ending at ``s``) skips levels ``0 … s`` and starts level
    ``s + 1`` from the last two of them.  ``options``: ``engine``, ``nodes``, ``spacing``.
    ``throw=False``: a level that does not converge is yielded as a not-converged :class:`Result`
    (:mod:`jaxcap._src.status`) and ends the chain, instead of raising :class:`ConvergenceError`.
    ``potential`` and ``epsilon``: the cost and the level set ``e_r = ε``, as in :func:`threshold`.
    """
    max_level, kappa, options = check_level(max_level), check_kappa(kappa), check_options(options)
    cost = dict(potential=check_potential(potential), epsilon=check_epsilon(epsilon))
    chain = _chain(None, max_level, kappa, options, resume, cost=cost)
    return chain if throw else _not_throwing(chain, kappa, options)


def _not_throwing(chain, kappa: float, options: dict) -> Iterator[Result]:
    """``chain``, its first failing level yielded as a not-converged :class:`Result` (and the last)."""
    level = -1
    try:
        for res in chain:
            level = res.level
            yield res
    except ConvergenceError as err:
        failed = err.diagnostics.get("level", level + 1)
        yield not_converged("threshold", failed, kappa, None, str(err), engine=options.get("engine") or "grid")


def threshold(level: int, *, kappa: float = 0.0, start=None, potential=None, epsilon: float = 1.0,
              **options) -> Result:
    """The level-``level`` injectivity threshold ``α_r`` (``e_r(α_r) = 1``) at threshold ``κ``, on the host;
    with ``epsilon``, the level set ``e_r(α) = ε`` (``docs/theory.md#potentials``).

    ``start`` (a level-``level`` :class:`Result` or parameters) continues from a
    nearby solution instead of building levels ``0 … level`` again.  ``potential``: the cost
    ``V`` at ``κ = 0`` (:func:`jaxcap._src.validation.check_potential`; the count by default).
    ``options``: ``engine``, ``nodes``, ``spacing`` (:func:`make_engine`).

    Raises:
        TypeError, ValueError: invalid ``level``, ``kappa``, ``potential``, ``epsilon`` or options.
        ConvergenceError: no start reached a verified maximum.
    """
    level, kappa, options = check_level(level), check_kappa(kappa), check_options(options)
    cost = dict(potential=check_potential(potential), epsilon=check_epsilon(epsilon))
    if start is not None:
        return _level_result(level, kappa, None, [start_params(start, level)], **options, **cost)
    *_, last = _chain(None, level, kappa, options, first=min(level, 1), cost=cost)
    return last


def energy(alpha: float, level: int, *, kappa: float = 0.0, start=None, potential=None, **options) -> Result:
    """The level-``level`` ground-state energy ``e_r(α) = max E_r(α; ·)`` of ``potential`` (the count
    by default, as :func:`threshold`), on the host.

    Raises:
        TypeError, ValueError: invalid ``alpha``, ``level``, ``kappa``, ``potential`` or options.
        ConvergenceError: no verified maximum.  At or below the zero-energy boundary the error says
            so; at level 0 and at ``κ ≤ 0``, where the boundary is Gardner's closed form, before any
            solve.  The boundary is the count's for every potential that vanishes exactly on ``u ≤ κ``
            (``docs/theory.md#potentials``); for other potentials it is not checked.
    """
    level, kappa, alpha = check_level(level), check_kappa(kappa), check_alpha(alpha)
    options = check_options(options)
    key = check_potential(potential)
    jamming = not key or potentials.vanishes_exactly_below_zero(potentials.from_key(key, host=True))
    # alpha_sat,0(kappa) is Gardner's at every kappa, and alpha_sat,r(kappa) = alpha_sat,0(kappa) at kappa <= 0
    # (docs/theory.md#zero-energy)
    if jamming and (level == 0 or kappa <= 0.0):
        line = gardner(kappa)[0]
        if alpha <= line:
            raise _below_zero_energy_line(alpha, kappa, level, line, {"level": level, "kappa": kappa})
    try:
        if start is not None:
            return _level_result(level, kappa, alpha, [start_params(start, level)], **options, potential=key)
        *_, last = _chain(alpha, level, kappa, options, first=min(level, 1), cost=dict(potential=key))
        return last
    except ConvergenceError as err:
        raise (_zero_energy_phase(err, alpha, kappa, level) if jamming else err) from None


def _zero_energy_phase(err: ConvergenceError, alpha, kappa, level) -> ConvergenceError:
    """``err``, explained when ``α ≤ α_sat,r(κ)`` (:func:`jaxcap._src.zero_energy.sat` at the same level ``r``)."""
    try:
        line = sat(float(kappa), level).alpha
    except ConvergenceError:
        return err
    if float(alpha) > line:
        return err
    return _below_zero_energy_line(alpha, kappa, level, line, err.diagnostics)


def _below_zero_energy_line(alpha, kappa, level, line: float, diagnostics: dict) -> ConvergenceError:
    """The error of an energy solve at ``α ≤ α_sat,r(κ) = line``: there ``e_r = 0``, the supremum of
    ``E_r`` approached as ``χ → ∞``, with no finite maximiser (``docs/theory.md#zero-energy``)."""
    return ConvergenceError(
        f"alpha = {float(alpha):g} is at or below the level-{level} zero-energy boundary alpha_sat,{level}"
        f"(kappa={float(kappa):g}) = {line:.10g} (jaxcap sat --level {level}): e_{level}(alpha) = 0 there, "
        "approached as chi -> infinity, with no finite maximiser",
        dict(diagnostics, alpha_sat=line, zero_energy_phase=True, energy=0.0))
