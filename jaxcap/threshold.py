"""Single solves on the host: the level-r energy ``e_r(α)`` and the threshold ``α_r`` (``docs/theory.md#threshold``).

Level ``r`` is warm-started from the level-``r−1`` solution by splitting each of
its intervals in turn (:func:`jaxcap.params.split_level`).  Saddle-free Newton
from the first starts usually lands on the maximum directly; otherwise all
starts are ascended at once and the best non-degenerate one is polished by
Newton.  Either way the point is verified
(gradient ≈ 0, Hessian negative definite in ``(χ, q, x)``, resolved by the
engine).  The threshold is the minimum of ``A = (1 − S)/(−G)``: Newton on
``log A`` gives ``α_r = A(θ*)`` and ``θ*`` together, and ``e_r(α_r) = 1`` is
measured, not imposed.

These are the concrete solves behind :func:`jaxcap.threshold` and
:func:`jaxcap.energy`; under JAX transformations those go through
:mod:`jaxcap.sensitivity` instead.
"""
from __future__ import annotations

import functools
import time
from typing import Iterator

import jax
import numpy as np

from . import guards
from .engine import make_engine
from .grid import GridEngine
from .measurement import CONVERGED, envelope_derivatives, quad_error, verdict
from .params import Params, degeneracy, extrapolated_level, from_unconstrained, split_level, to_unconstrained
from .result import ConvergenceError, Diagnostics, Result, start_params
from .solver import ascend, polish, polish_fast_compile, solve_closed_form, unpack
from .zero_energy import gardner, sat

__all__ = ["energy", "threshold", "threshold_chain", "check_level", "check_kappa", "check_alpha"]

#: First level started from the extrapolation of the two below (from levels 1 and 2 it is poor:
#: the level-1 profile is a constant).
EXTRAPOLATE_FROM = 4
#: Starts of a batch tried by Newton alone (no ascent) before the ascent over all of them.
DIRECT_TRIES = 2


#: Level-0 starts in unconstrained coordinates: a ``start=`` batch is padded with them to this
#: size, so that every level-0 solve runs the same compiled program.
_LEVEL0_STARTS = np.log(np.asarray([[0.02], [0.1], [0.5], [2.0]]))
_LEVEL0_PARAMS = [Params(np.exp(u[0]), np.zeros(0), np.zeros(0)) for u in _LEVEL0_STARTS]


def _starts(level: int, previous: Params | None, before: Params | None = None) -> list[Params]:
    """Starting points for level ``level`` (``docs/theory.md#solver``): from level 4 on, first the
    extrapolation of the two levels below (:func:`~jaxcap.params.extrapolated_level`), then the
    splits of each interval of the level below (narrow splits first)."""
    if level == 0:
        return _LEVEL0_PARAMS
    starts = []
    if previous is not None and before is not None and level >= EXTRAPOLATE_FROM:
        starts.append(extrapolated_level(before, previous))
    if previous is not None and level >= 2:
        for spread in (0.3, 0.8):  # the narrow splits first: they are the ones tried by Newton alone
            for where in range(level):
                starts.append(split_level(previous, where, spread))
    if level == 1:
        for q0 in (0.5, 0.8, 0.95):
            for x0 in (1.0, 3.0, 8.0):
                starts.append(Params(np.asarray(0.1), np.asarray([q0]), np.asarray([x0])))
    return starts


def _verdict(m: dict, level: int, engine) -> str | None:
    """Why the measured point ``m`` is not a verified level-``level`` maximum
    (:func:`jaxcap.measurement.verdict`), or ``None``."""
    params = Params(m["chi"], m["q"], m["x"])
    status, why = verdict(params, m["grad_norm"], m["hessian_max_eig"], level, engine)
    if status != CONVERGED:
        return f"{why or ''} grad_norm={m['grad_norm']:.2e} hessian_max_eig={m['hessian_max_eig']:.2e}"
    return None


def _candidates(level, kappa, engine, starts, objective, alpha):
    """Polished and measured points (host dicts with their engine), most promising first.

    Level 0 first tries the one-program closed-form solve.  A single start (a
    nearby solution, ``start=``) is first polished directly by Newton on the
    engine fitted to it; so are the first :data:`DIRECT_TRIES` starts of a
    batch (from level 4 the extrapolated start, then the narrow splits), on one
    engine fitted to them and to the other narrow splits.
    Otherwise, or when that fails, every start is
    ascended at once on a coarse version of the engine, and each
    non-degenerate result, best ascent value first, is polished by Newton on
    the engine fitted to it (which removes the coarse engine's error) and
    measured there.
    """
    u0s = _LEVEL0_STARTS if starts is _LEVEL0_PARAMS else np.stack([to_unconstrained(p) for p in starts])
    if level == 0:
        batch = np.concatenate([u0s, _LEVEL0_STARTS[:max(0, len(_LEVEL0_STARTS) - len(u0s))]])
        yield "best start", engine, unpack(np.asarray(solve_closed_form(batch, alpha, kappa, objective=objective)), 0)
        return  # four Newton starts on the closed form: there is nothing for an ascent to add
    elif len(starts) == 1:
        yield "start 0 (Newton only)", *_polished(u0s[0], starts[0], level, kappa, engine, objective, alpha)
    elif DIRECT_TRIES > 0:
        # saddle-free Newton alone usually reaches the maximum from these starts (from level 4 the
        # extrapolation of the levels below, then the narrow splits), on one engine (one compiled
        # program) fitted to them; below level 4, to every narrow split: the split of the innermost
        # interval is about as narrow as the innermost level Newton pulls in (no second engine).
        # The ascent is the fallback
        tried = DIRECT_TRIES if level >= EXTRAPOLATE_FROM else max(DIRECT_TRIES, level)
        fitted = _fitted_to_all(engine, starts[:tried])
        for i in range(min(DIRECT_TRIES, len(starts))):
            yield f"start {i} (Newton only)", *_polished(u0s[i], starts[i], level, kappa, engine, objective, alpha,
                                                         fitted)
    us, values, _, _ = jax.device_get(ascend(u0s, alpha, kappa, objective=objective, engine=engine.coarse(starts)))
    for i in np.argsort(values):
        if not np.isfinite(values[i]):
            continue
        params = from_unconstrained(us[i])
        why = degeneracy(params)
        if why:
            yield f"start {i}", engine, f"{why} after ascent"
            continue
        yield f"start {i}", *_polished(us[i], params, level, kappa, engine, objective, alpha)


def _polished(u, params, level, kappa, engine, objective, alpha, fitted=None):
    """``(engine used, measurement)``: Newton from ``u`` on ``engine`` fitted to ``params`` (:func:`polish`;
    :func:`polish_fast_compile` from level 2 on),
    or on ``fitted`` when given.

    When the engine fitted to the polished point is finer or wider than the one used, Newton is
    repeated from there on that engine: the result is always measured on an engine that resolves it
    at least as well as :meth:`GridEngine.fitted` asks.  When the start or the polished point has
    drifted so far that its engine would exceed a limit of :mod:`jaxcap.guards`
    (:func:`~jaxcap.guards.drift`), the measurement is replaced by the reason, a string.
    """
    if not level:
        return engine, unpack(np.asarray(polish(u, alpha, kappa, objective=objective, engine=engine)), level)
    why = guards.drift(engine, params, level) if fitted is None else None
    if why:
        return engine, why
    fitted = fitted or engine.fitted(params)
    newton = polish_fast_compile if level >= 2 else polish   # past level 1 compiling dominates
    m = unpack(np.asarray(newton(u, alpha, kappa, objective=objective, engine=fitted, refined=fitted.refined())), level)
    if isinstance(fitted, GridEngine) and np.all(np.isfinite(m["u"])):
        reached = Params(m["chi"], m["q"], m["x"])
        why = guards.drift(engine, reached, level)
        if why:
            return fitted, why
        need = engine.fitted(reached)
        if not fitted.covers(need):
            fitted = need
            m = unpack(np.asarray(newton(m["u"], alpha, kappa, objective=objective, engine=fitted,
                                         refined=fitted.refined())), level)
    return fitted, m


def _fitted_to_all(engine, starts):
    """One engine for every start: the finest spacing and the widest kernel that
    :meth:`GridEngine.fitted` asks for any of them."""
    if not isinstance(engine, GridEngine):
        return engine.fitted(starts[0])
    return functools.reduce(GridEngine.joined, [engine.fitted(p) for p in starts])


def _solve(level, kappa, engine, starts, alpha=None):
    """Shared driver: the first candidate that passes :func:`_verdict` and whose discretisation error
    the engine resolves (:func:`jaxcap.guards.unresolved`), else :class:`ConvergenceError`.

    ``alpha=None`` solves for the threshold (Newton on ``log A``, ``docs/theory.md#threshold``:
    ``α_r = min A``), otherwise maximises ``E_r(alpha, ·)``.
    """
    t0 = time.perf_counter()
    objective = "threshold" if alpha is None else "energy"
    failures = []
    for name, used, m in _candidates(level, kappa, engine, starts, objective, 0.0 if alpha is None else float(alpha)):
        why = m if isinstance(m, str) else (_verdict(m, level, used) or guards.unresolved(
            _quad_error(m, alpha is None), m["alpha"] if alpha is None else m["energy"]))
        if why:
            failures.append(f"{name}: {why}")
            continue
        diag = dict(grad_norm=m["grad_norm"], hessian_max_eig=m["hessian_max_eig"],
                    newton_steps=int(m["newton_steps"]), starts_tried=len(failures) + 1,
                    seconds=time.perf_counter() - t0)
        return m, used, diag
    raise ConvergenceError(
        f"level {level} (kappa={kappa}): no start reached a verified non-degenerate maximum",
        {"level": level, "kappa": kappa, "starts": len(starts), "failures": failures,
         "engine": engine.describe()})


def _quad_error(m: dict, on_alpha: bool) -> float:
    """:func:`jaxcap.measurement.quad_error` of the measured point ``m``."""
    return float(quad_error(float(m["alpha"]), float(m["g"]), float(m["g_refined"]), on_alpha))


def _result(level, kappa, engine, m, diag, on_alpha) -> Result:
    """The :class:`Result` of a verified solve; envelope derivatives from the measured ``G``, ``∂G/∂κ``."""
    info = engine.describe()
    alpha, g = float(m["alpha"]), float(m["g"])
    kind = "threshold" if on_alpha else "energy"
    extra = {k: float(v) for k, v in envelope_derivatives(kind, alpha, g, float(m["dg_dkappa"])).items()}
    return Result(
        alpha=alpha, energy=float(m["energy"]), level=level, kappa=float(kappa), kind=kind,
        params={"chi": float(m["chi"]), "q": np.atleast_1d(np.asarray(m["q"], float)),
                "x": np.atleast_1d(np.asarray(m["x"], float))},
        diagnostics=Diagnostics(
            quad_nodes=info.get("nodes", 0), quad_error=_quad_error(m, on_alpha),
            engine=info["engine"], grid_spacing=info.get("spacing"), **diag), **extra)


def _real(value, name: str) -> float:
    """``value`` as a float; ``TypeError`` when it is not a real number (bool, None and strings included)."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}") from None


def check_level(level) -> int:
    """``level`` as an int, or ``TypeError`` (not an integer: bool, None, str, float, a traced value)
    or ``ValueError`` (negative, or beyond :data:`jaxcap.guards.MAX_LEVEL`).  The level fixes the
    shapes of every program, so it is static."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, np.integer)):
        raise TypeError(f"level must be an int >= 0 (a static Python integer, not traced), "
                        f"got {type(level).__name__} {level!r}")
    if level < 0:
        raise ValueError(f"level must be a non-negative integer, got {level!r}")
    guards.MAX_LEVEL.check(int(level), f"level {level}")
    return int(level)


def check_kappa(kappa) -> float:
    """``kappa`` as a float: ``TypeError`` if it is not a real number, ``ValueError`` if not finite."""
    k = _real(kappa, "kappa")
    if not np.isfinite(k):
        raise ValueError(f"kappa must be finite, got {kappa!r}")
    return k


def check_alpha(alpha) -> float:
    """``alpha`` as a float: ``TypeError`` if it is not a real number, ``ValueError`` unless finite and > 0."""
    a = _real(alpha, "alpha")
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    return a


def _solve_level(level, kappa, alpha, starts, engine=None, nodes=None, spacing=None) -> Result:
    """One level from ``starts``: the threshold (``alpha=None``) or the energy at ``alpha``."""
    eng = make_engine(level, engine, nodes, spacing, kappa)
    m, used, diag = _solve(level, float(kappa), eng, starts, alpha=alpha)
    return _result(level, kappa, used, m, diag, on_alpha=alpha is None)


def _chain(alpha, max_level, kappa, options, resume=(), first=0) -> Iterator[Result]:
    """Levels ``first … max_level`` (after the finished ``resume``), each from the ones before.

    No start depends on level 0 (level 1 starts from a fixed set, :func:`_starts`),
    so a chain toward one level ``r ≥ 1`` may begin at level 1.
    """
    make_engine(max_level, kappa=kappa, **options)  # refuses what the last level could not afford, up front
    done = [resume] if isinstance(resume, Result) else list(resume or ())
    known = [start_params(res, res.level) for res in done[-2:]]
    first = done[-1].level + 1 if done else first
    for r in range(first, max_level + 1):
        before, previous = ([None, None] + known)[-2:]
        res = _solve_level(r, kappa, alpha, _starts(r, previous, before), **options)
        known = [*known[-1:], start_params(res, r)]
        yield res


def threshold_chain(max_level: int, *, kappa: float = 0.0, resume=None, **options) -> Iterator[Result]:
    """Thresholds ``α_0, α_1, …, α_{max_level}``, each warm-started from the ones before.

    ``resume`` (a finished level-``s`` threshold, or the finished thresholds of
    consecutive levels ending at ``s``) skips levels ``0 … s`` and starts level
    ``s + 1`` from the last two of them.  ``options``: ``engine``, ``nodes``, ``spacing``.
    """
    max_level, kappa = check_level(max_level), check_kappa(kappa)
    return _chain(None, max_level, kappa, options, resume)


def threshold(level: int, *, kappa: float = 0.0, start=None, **options) -> Result:
    """The level-``level`` injectivity threshold ``α_r`` (``e_r(α_r) = 1``) at threshold ``κ``, on the host.

    ``start`` (a level-``level`` :class:`Result` or parameters) continues from a
    nearby solution instead of building levels ``0 … level`` again.
    ``options``: ``engine``, ``nodes``, ``spacing`` (:func:`make_engine`).

    Raises:
        TypeError, ValueError: invalid ``level``, ``kappa`` or options.
        ConvergenceError: no start reached a verified maximum.
    """
    level, kappa = check_level(level), check_kappa(kappa)
    if start is not None:
        return _solve_level(level, kappa, None, [start_params(start, level)], **options)
    *_, last = _chain(None, level, kappa, options, first=min(level, 1))
    return last


def energy(alpha: float, level: int, *, kappa: float = 0.0, start=None, **options) -> Result:
    """The level-``level`` ground-state energy ``e_r(α) = max E_r(α; ·)``, on the host.

    Raises:
        TypeError, ValueError: invalid ``alpha``, ``level``, ``kappa`` or options.
        ConvergenceError: no verified maximum.  At or below the zero-energy boundary (from level 1
            on) the error says so; at ``κ ≤ 0``, where the boundary is Gardner's closed form, before
            any solve.
    """
    level, kappa, alpha = check_level(level), check_kappa(kappa), check_alpha(alpha)
    if level >= 1 and kappa <= 0.0:   # alpha_sat,r(kappa) = alpha_sat,0(kappa) (docs/theory.md#zero-energy)
        line = gardner(kappa)[0]
        if alpha <= line:
            raise _below_zero_energy_line(alpha, kappa, level, line, {"level": level, "kappa": kappa})
    try:
        if start is not None:
            return _solve_level(level, kappa, alpha, [start_params(start, level)], **options)
        *_, last = _chain(alpha, level, kappa, options, first=min(level, 1))
        return last
    except ConvergenceError as err:
        raise _zero_energy_phase(err, alpha, kappa, level) from None


def _zero_energy_phase(err: ConvergenceError, alpha, kappa, level) -> ConvergenceError:
    """``err``, explained when ``α ≤ α_sat,r(κ)`` (:func:`jaxcap.zero_energy.sat` at the same level ``r``)."""
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
        dict(diagnostics, alpha_sat=line, zero_energy_phase=True))
