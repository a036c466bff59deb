"""The one driver of a level-``r`` solve on the host, over an objective record (``docs/theory.md#solver``).

Every objective (the threshold, the energy at fixed ``α``, the zero-energy line) is solved
the same way; an :class:`Objective` holds all they differ in:

* the functional (:data:`jaxcap._src.solver.OBJECTIVES`, by name) and its coordinates
  (``u ↔ θ``: :func:`jaxcap._src.params.to_unconstrained` or, on the zero-energy line without
  ``χ``, :func:`jaxcap._src.params.to_reduced`); the leaf is the engine's (``leaf=``);
* the fixed ``α`` (the energy's; 0 for the ratio objectives, where ``α`` is ``N/(−G)`` with the
  level set's numerator ``N = 1 − S`` or ``−S``, :mod:`jaxcap._src.solver`) and whether the
  discretisation error is taken on ``α`` or on the energy;
* the starts: level 0's (a closed form), level 1's, and how a start from the level below
  is normalised (``χ = 1`` on the zero-energy line);
* the gap floor of merged levels (:func:`jaxcap._src.params.degeneracy`);
* the resource budget: what refuses a point that drifted too far (:func:`jaxcap._src.guards.drift`)
  or an engine that would sum too many terms per evaluation, and the engine that the first
  starts share;
* the bound: a verified point must lower ``below`` (the level under it, on the zero-energy line).

The stages, defined here once (``docs/theory.md#solver``):

1. :func:`starts`: from level 4 the extrapolation of the two levels below
   (:func:`jaxcap._src.params.extrapolated_level`), then the splits of every interval of the level
   below, narrow splits first (:func:`jaxcap._src.params.split_level`); level 1 from the objective's
   fixed set;
2. :func:`candidates`: level 0 by the closed-form program; otherwise the first
   :data:`DIRECT_TRIES` starts by saddle-free Newton alone on one engine fitted to them, then
   every start ascended at once on a coarse engine and, best ascent value first, polished;
3. :func:`polished`: Newton on the engine fitted to the start, repeated on the engine fitted to
   the polished point when that one asks for a finer grid or wider kernels;
4. :func:`verdict`: the measurement's verdict (:func:`jaxcap._src.measurement.verdict`), the
   engine's resolution of the value (:func:`jaxcap._src.guards.unresolved`) and the bound;
5. :func:`solve_level`: the first candidate that passes, else
   :class:`~jaxcap._src.result.ConvergenceError` with every start's reason.

The work is bounded: each level tries at most ``len(starts)`` points, each polished at most
twice by at most :data:`NEWTON_STEPS` Newton steps, on engines the budget admits (terms per
evaluation, :attr:`Objective.refuse_engine`),
on at most :attr:`Objective.max_programs` distinct engines per level (each a compiled program: on
a CPU compiling dominates a cold solve) and within :attr:`Objective.max_work` terms summed in all
(:func:`newton_work`: steps × gradient evaluations × terms per evaluation).  So a level that
cannot succeed ends, with every start's reason, within a known amount of work.
"""
from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

import jax
import numpy as np

from .guards import unresolved
from .measurement import CONVERGED, quad_error, verdict as measured_verdict
from .params import Params, degeneracy, extrapolated_level, split_level
from .result import ConvergenceError
from .solver import ascend, polish, solve_closed_form, unpack

__all__ = ["Objective", "Refused", "Work", "NEWTON_STEPS", "newton_work", "DIRECT_TRIES", "EXTRAPOLATE_FROM", "SPREADS", "starts", "candidates",
           "polished", "verdict", "value_error", "solve_level"]

#: Starts of a level tried by Newton alone (no ascent) before the ascent over all of them.
DIRECT_TRIES = 2
#: First level started from the extrapolation of the two below (from levels 1 and 2 it is poor:
#: the level-1 profile is a constant).
EXTRAPOLATE_FROM = 4
#: Spreads of the splits of each interval of the level below, the narrow ones first: they are the
#: ones tried by Newton alone.
SPREADS = (0.3, 0.8)


class Refused(str):
    """A start refused by the resource budget (the reason): the engine it needs sums too much."""


#: Most Newton steps of one polish (the default of :func:`jaxcap._src.solver.polish`).
NEWTON_STEPS = 30


def newton_work(engine, level: int, steps: float = NEWTON_STEPS) -> float:
    """Terms summed by ``steps`` Newton steps on ``engine``: each step evaluates the gradient at
    ``2n + 1`` points (``n = 2r + 1`` coordinates, :func:`jaxcap._src.solver.value_grad_hessian`), each
    evaluation :meth:`~jaxcap._src.engine.Engine.terms` terms."""
    return steps * (2 * (2 * level + 1) + 1) * engine.terms(level)


class Work:
    """The work one level solve has done: the engines its Newton programs ran on (each one compiled)
    and the terms they summed (:func:`newton_work`)."""

    def __init__(self, objective: "Objective"):
        self.objective, self.engines, self.terms = objective, set(), 0.0

    def refuse(self, engine, level: int) -> "Refused | None":
        """The budget's reason when a polish on ``engine`` would be one program more than
        :attr:`Objective.max_programs`, or could sum more than :attr:`Objective.max_work` in all."""
        budget = self.objective
        if engine not in self.engines and len(self.engines) >= budget.max_programs:
            return Refused(f"the level's budget of {budget.max_programs:g} Newton programs is spent")
        need = newton_work(engine, level)
        if self.terms + need > budget.max_work:
            return Refused(f"the level's work budget: a polish on an engine of {engine.terms(level):.2e} terms per "
                           f"evaluation could sum {need:.1e} terms, {self.terms:.1e} of {budget.max_work:.0e} spent")
        return None

    def spend(self, engine, level: int, steps: float) -> None:
        self.engines.add(engine)
        self.terms += newton_work(engine, level, steps)


class Objective(NamedTuple):
    """Everything an objective differs in (module docstring); the driver is the same for all."""

    #: The functional, a key of :data:`jaxcap._src.solver.OBJECTIVES`: ``"threshold"``, ``"energy"``, ``"zero_energy"``.
    solver: str
    #: The fixed ``α`` of the energy; 0 for the ratio objectives.
    alpha: float
    #: Whether the discretisation error is taken on ``α`` (threshold, zero-energy line) or on the energy.
    on_alpha: bool
    #: ``u`` of a point (:func:`~jaxcap._src.params.to_unconstrained` or :func:`~jaxcap._src.params.to_reduced`).
    to_u: Callable
    #: The point of ``u`` (their inverses).
    from_u: Callable
    #: The objective's ``u`` in a measurement's ``u`` (which always holds ``χ`` first).
    measured_u: Callable
    #: A start from the level below as this objective starts it.
    start: Callable
    #: The level-1 starts.
    level1_starts: tuple
    #: Level 0's starts (a closed form; empty: level 0 is not solved here) …
    level0_starts: tuple
    #: … and their ``u``, one row each: a batch of other level-0 starts is padded with them to this
    #: size, so that every level-0 solve runs the same compiled program.
    level0_u: np.ndarray
    #: Overlap gaps below this are merged levels (:func:`jaxcap._src.params.degeneracy`).
    gap_floor: float
    #: Why the start or polished point ``params`` (level ``level``, on ``engine`` before fitting) is
    #: beyond the budget, or ``None`` (``(engine, params, level) -> str | None``).
    refuse_point: Callable
    #: Why an engine is beyond the budget (a :class:`Refused`), or ``None`` (``(engine, level) -> ...``).
    refuse_engine: Callable
    #: The engine the first starts share, or ``None`` (``(engine, starts, level) -> Engine | None``).
    direct_engine: Callable
    #: Most distinct Newton programs (engines: each one compiled) one level may run before it gives up.
    max_programs: float = math.inf
    #: Most terms a level's Newton polishes may sum (:func:`newton_work`, each reserved at its most steps).
    max_work: float = math.inf
    #: ``"maximum"`` or ``"minimum"`` (what a verified point is, for messages).
    extremum: str = "maximum"
    #: What the solve is, for messages (``""``: a level of the threshold or the energy).
    title: str = ""


def starts(objective: Objective, level: int, previous: Params | None, before: Params | None = None) -> list:
    """Starting points for level ``level`` (stage 1 of the module docstring)."""
    if level == 0:
        return objective.level0_starts
    out = []
    if previous is not None and before is not None and level >= EXTRAPOLATE_FROM:
        out.append(extrapolated_level(before, previous))
    if previous is not None and level >= 2:
        out += [split_level(previous, where, spread) for spread in SPREADS for where in range(level)]
    if level == 1:
        out += list(objective.level1_starts)
    return [objective.start(p) for p in out]


def value_error(objective: Objective, m: dict) -> tuple[float, float]:
    """``(quad_error, value)`` of a measured point: :func:`jaxcap._src.measurement.quad_error` on ``α``
    or on the energy, and the value it is relative to."""
    err = float(quad_error(float(m["alpha"]), float(m["g"]), float(m["g_refined"]), objective.on_alpha))
    return err, float(m["alpha"] if objective.on_alpha else m["energy"])


def verdict(objective: Objective, m: dict, level: int, engine, below: float = math.inf) -> str | None:
    """Why the measured point ``m`` is not a verified level-``level`` point, or ``None`` (stage 4)."""
    params = Params(m["chi"], m["q"], m["x"])
    status, why = measured_verdict(params, m["grad_norm"], m["hessian_max_eig"], level, engine, m["alpha"],
                                   gap_floor=objective.gap_floor)
    if status == CONVERGED:
        why = unresolved(*value_error(objective, m))
        if not why and not m["alpha"] < below:
            why = f"alpha = {m['alpha']:.12g} does not lower the level below ({below:.12g})"
        if not why:
            return None
    return f"{why or ''} grad_norm={m['grad_norm']:.2e} hessian_max_eig={m['hessian_max_eig']:.2e}"


def _newton(objective: Objective, u, level: int, kappa: float, engine, work: Work):
    """One Newton polish from ``u`` on ``engine``, measured there: a measurement, or the budget's reason."""
    why = objective.refuse_engine(engine, level) or work.refuse(engine, level)
    if why:
        return why
    m = unpack(np.asarray(polish(u, objective.alpha, kappa, objective=objective.solver, engine=engine,
                                 refined=engine.refined())), level)
    work.spend(engine, level, m["newton_steps"] if np.isfinite(m["newton_steps"]) else NEWTON_STEPS)
    return m


def polished(objective: Objective, u, params: Params, level: int, kappa: float, engine, fitted=None,
             work: Work | None = None):
    """``(engine used, measurement or reason)``: Newton from ``u`` on ``engine`` fitted to ``params``
    (or on ``fitted``), then, when the engine fitted to the polished point is finer or wider than the
    one used (:meth:`~jaxcap._src.engine.Engine.covers`), once more from there on that engine: the result
    is measured on an engine that resolves it at least as well as :meth:`~jaxcap._src.engine.Engine.fitted`
    asks.  A point or an engine beyond the budget gives its reason instead (stage 3)."""
    work = work or Work(objective)
    why = objective.refuse_point(engine, params, level) if fitted is None else None
    if why:
        return engine, why
    fitted = fitted or engine.fitted(params)
    m = _newton(objective, u, level, kappa, fitted, work)
    if isinstance(m, dict) and np.all(np.isfinite(m["u"])):
        reached = Params(m["chi"], m["q"], m["x"])
        why = objective.refuse_point(engine, reached, level)
        if why:
            return fitted, why
        need = engine.fitted(reached)
        if not fitted.covers(need):
            fitted = need
            m = _newton(objective, objective.measured_u(m["u"]), level, kappa, fitted, work)
    return fitted, m


def candidates(objective: Objective, level: int, kappa: float, engine, points: list, fitted=None,
               work: Work | None = None):
    """``(name, engine, measurement or reason)``, most promising first (stage 2).

    Level 0: the one-program closed-form solve from the objective's level-0 starts (and
    ``points``, when they are others).  Otherwise the first :data:`DIRECT_TRIES` points by
    Newton alone, on ``fitted`` or the engine they share (:attr:`Objective.direct_engine`; a
    single point on its own fitted engine), then every point ascended at once on a coarse engine
    and each non-degenerate result, best ascent value first, polished on the engine fitted to
    it.  When the budget refused every direct try, the level's neighbourhood is beyond it and
    the ascent is skipped.  ``work`` (:class:`Work`) counts the level's Newton programs.
    """
    work = work or Work(objective)
    if level == 0:
        base = objective.level0_u
        u0s = base if points is objective.level0_starts else np.stack([objective.to_u(p) for p in points])
        batch = np.concatenate([u0s, base[:max(0, len(base) - len(u0s))]])
        closed = engine if engine.potential else None   # the count's closed form needs no engine
        m = unpack(np.asarray(solve_closed_form(batch, objective.alpha, kappa, objective=objective.solver,
                                                engine=closed)), 0)
        yield "best start", engine, m
        return  # Newton from every start on the closed form: there is nothing for an ascent to add
    u0s = np.stack([objective.to_u(p) for p in points])
    tried = points[:DIRECT_TRIES]
    if fitted is None and len(points) > 1:
        fitted = objective.direct_engine(engine, points, level)
    refused = 0
    for i, p in enumerate(tried):
        used, m = polished(objective, u0s[i], p, level, kappa, engine, fitted, work)
        refused += isinstance(m, Refused)
        yield f"start {i} (Newton only)", used, m
    if tried and refused == len(tried):
        return
    us, values, _, _ = jax.device_get(ascend(u0s, objective.alpha, kappa, objective=objective.solver,
                                             engine=engine.coarse(points)))
    for i in np.argsort(values):
        if not np.isfinite(values[i]):
            continue
        params = objective.from_u(us[i])
        why = degeneracy(params, gap_floor=objective.gap_floor)
        if why:
            yield f"start {i}", engine, f"{why} after ascent"
            continue
        yield f"start {i}", *polished(objective, us[i], params, level, kappa, engine, work=work)


def solve_level(objective: Objective, level: int, kappa: float, engine, points, below: float = math.inf,
                fitted=None) -> tuple[dict, object, dict]:
    """``(measurement, engine, diagnostics)`` of the first candidate that passes :func:`verdict` (stage 5).

    Raises:
        ConvergenceError: no candidate passed; its diagnostics list every start's reason.
    """
    t0 = time.perf_counter()
    failures = []
    for name, used, m in candidates(objective, level, kappa, engine, points, fitted):
        why = m if isinstance(m, str) else verdict(objective, m, level, used, below)
        if why:
            failures.append(f"{name}: {why}")
            continue
        diag = dict(grad_norm=m["grad_norm"], hessian_max_eig=m["hessian_max_eig"],
                    newton_steps=int(m["newton_steps"]), starts_tried=len(failures) + 1,
                    seconds=time.perf_counter() - t0)
        return m, used, diag
    raise ConvergenceError(
        f"{objective.title}level {level} (kappa={kappa}): no start reached a verified non-degenerate "
        f"{objective.extremum}",
        {"level": level, "kappa": kappa, "starts": len(points), "failures": failures, "engine": engine.describe()})
