"""Public solves: the level-r energy ``e_r(α)`` and the threshold ``α_r`` (DESIGN §2, §4, §5).

Level ``r`` is warm-started from the level-``r−1`` solution by splitting each of
its intervals in turn (:func:`jaxcap.params.split_level`), all starts ascended
at once; the best non-degenerate one is polished by Newton and verified
(gradient ≈ 0, Hessian negative definite in ``(χ, q, x)``).  The threshold
is then certified by Newton in ``α`` with the envelope derivative
``∂e_r/∂α = −G`` until ``e_r(α_r) = 1``.
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from .functional import energy_functional, outer_mean
from .params import Params, degeneracy, from_unconstrained, split_level, to_unconstrained
from .result import ConvergenceError, Diagnostics, Result
from .solver import ascend, newton_polish
from .grid import GridEngine
from .tensor import TensorEngine

__all__ = ["energy", "threshold", "threshold_chain", "energy_chain", "make_engine"]

GRAD_TOL = 1e-9


def make_engine(level: int, engine: str | None = None, nodes: int | None = None,
                spacing: float | None = None, kappa: float = 0.0):
    """The engine for ``level``: ``"grid"`` (default; spacing ``spacing``) or ``"tensor"`` (``nodes`` per level).

    Level 0 has a closed form and ignores the engine.
    """
    name = engine or "grid"
    if nodes is not None and (int(nodes) != nodes or nodes < 8):
        raise ValueError(f"nodes must be an integer >= 8, got {nodes!r}")
    if spacing is not None and not (0.0 < spacing <= 0.05):
        raise ValueError(f"grid spacing must be in (0, 0.05], got {spacing!r}")
    if name == "tensor":
        q = nodes or (256 if level <= 2 else 96)
        if q ** max(level, 1) > 5e7:
            raise ValueError(f"tensor engine at level {level} with {q} nodes needs {q ** level:.1e} "
                             "leaf evaluations; use the grid engine (--engine grid) or fewer nodes")
        return TensorEngine(nodes=q)
    if name == "grid":
        return GridEngine.around(kappa, spacing=spacing or 0.01)
    raise ValueError(f"unknown engine {engine!r} (expected 'tensor' or 'grid')")


def _flat(params: Params) -> jax.Array:
    return jnp.concatenate([jnp.atleast_1d(params.chi), params.q, params.x])


@jax.jit
def _param_jacobian(u):
    """``J = ∂(χ, q, x)/∂u`` of the coordinate map of :mod:`jaxcap.params`."""
    return jax.jacfwd(lambda v: _flat(from_unconstrained(v)))(u)


def natural_stationarity(u, grad_u, hess_u):
    """Gradient norm and largest Hessian eigenvalue of ``E_r`` in ``(χ, q, x)``.

    From the derivatives of ``φ = −E_r`` in ``u``: ``∇_θ E = −J^{−T} ∇_u φ`` and, at a
    stationary point (where the curvature of the coordinate map drops out),
    ``∇²_θ E = −J^{−T} ∇²_u φ J^{−1}``.
    """
    jinv = np.linalg.inv(np.asarray(_param_jacobian(u)))
    g = -jinv.T @ np.asarray(grad_u)
    h = -jinv.T @ np.asarray(hess_u) @ jinv
    return float(np.linalg.norm(g)), float(np.linalg.eigvalsh(0.5 * (h + h.T)).max())


@functools.partial(jax.jit, static_argnames=("engine", "r"))
def _energy_and_g(v, alpha, kappa, *, engine, r):
    p = Params(v[0], v[1:r + 1], v[r + 1:])
    return energy_functional(alpha, p, kappa, engine), outer_mean(p, kappa, engine)


def _starts(level: int, previous: Params | None) -> list[Params]:
    """Starting points for level ``level`` (DESIGN §4, warm starts)."""
    if level == 0:
        return [Params(jnp.asarray(c), jnp.zeros(0), jnp.zeros(0)) for c in (0.02, 0.1, 0.5, 2.0)]
    starts = []
    if previous is not None and level >= 2:
        for where in range(level):
            for spread in (0.3, 0.8):
                starts.append(split_level(previous, where, spread))
    if level == 1:
        for q0 in (0.5, 0.8, 0.95):
            for x0 in (1.0, 3.0, 8.0):
                starts.append(Params(jnp.asarray(0.1), jnp.asarray([q0]), jnp.asarray([x0])))
    return starts


def _solve(level, kappa, engine, starts, alpha=None):
    """Shared driver: ascend all starts, polish the best non-degenerate, verify.

    ``alpha=None`` solves for the threshold (ascent on ``log A``, then Newton in
    ``α``), otherwise maximises ``E_r(alpha, ·)``.
    """
    t0 = time.perf_counter()
    base_engine = engine
    objective = "threshold" if alpha is None else "energy"
    u0s = jnp.stack([to_unconstrained(p) for p in starts])
    # ascent on a coarse version of the engine; Newton below removes the difference
    us, values, _, _ = ascend(u0s, 0.0 if alpha is None else float(alpha), kappa,
                              objective=objective, engine=engine.coarse())
    failures = []
    for i in np.argsort(np.asarray(values)):
        if not np.isfinite(values[i]):
            continue
        why = degeneracy(from_unconstrained(us[i]))
        if why:
            failures.append(f"start {i}: {why} after ascent")
            continue
        engine = base_engine.fitted(from_unconstrained(us[i])) if level else base_engine
        a = float(jnp.exp(values[i])) if alpha is None else float(alpha)
        u, grad, hess, steps = us[i], None, None, 0
        for _ in range(1 if alpha is not None else 20):
            u, _, grad, hess, k = newton_polish(u, a, kappa, objective="energy", engine=engine)
            steps += k
            if alpha is not None:
                break
            # Newton in α with the envelope derivative ∂e/∂α = −G (DESIGN §2)
            e, g = _energy_and_g(_flat(from_unconstrained(u)), a, kappa, engine=engine, r=level)
            new = a - (float(e) - 1.0) / (-float(g))
            converged = abs(new - a) <= 1e-14 * abs(a)
            a = new
            if converged:
                break
        params = from_unconstrained(u)
        e, g = _energy_and_g(_flat(params), a, kappa, engine=engine, r=level)
        gnorm, lam_max = natural_stationarity(u, grad, hess)
        why = degeneracy(params) or (engine.check(params) if level else None)
        if why or not (gnorm <= GRAD_TOL and lam_max < 0.0):
            failures.append(f"start {i}: {why or ''} grad_norm={gnorm:.2e} hessian_max_eig={lam_max:.2e}")
            continue
        return a, float(e), float(g), params, engine, dict(
            grad_norm=gnorm, hessian_max_eig=lam_max, newton_steps=steps,
            starts_tried=len(failures) + 1, seconds=time.perf_counter() - t0)
    raise ConvergenceError(
        f"level {level} (kappa={kappa}): no start reached a verified non-degenerate maximum",
        {"level": level, "kappa": kappa, "starts": len(starts), "failures": failures,
         "engine": engine.describe()})


def _quad_error(alpha, params, kappa, engine, g, on_alpha: bool) -> float:
    refined = engine.refined()
    r = params.q.shape[0]
    if r == 0:
        return 0.0
    e0, _ = _energy_and_g(_flat(params), alpha, kappa, engine=engine, r=r)
    e1, _ = _energy_and_g(_flat(params), alpha, kappa, engine=refined, r=r)
    de = abs(float(e1) - float(e0))
    return de / abs(g) if on_alpha else de


def _result(level, kappa, engine, alpha, e, g, params, diag, on_alpha) -> Result:
    from .sensitivity import dalpha_dkappa, denergy
    info = engine.describe()
    extra = {}
    if on_alpha:
        extra["dalpha_dkappa"] = float(dalpha_dkappa(alpha, params, kappa, engine))
    else:
        de_da, de_dk = denergy(alpha, params, kappa, engine)
        extra["denergy_dalpha"], extra["denergy_dkappa"] = float(de_da), float(de_dk)
    return Result(
        alpha=float(alpha), energy=float(e), level=level, kappa=float(kappa),
        params=params.as_dict(),
        diagnostics=Diagnostics(
            quad_nodes=info.get("nodes", 0), quad_error=_quad_error(alpha, params, kappa, engine, g, on_alpha),
            engine=info["engine"], grid_spacing=info.get("spacing"), **diag), **extra)


def _check_common(level, kappa):
    if isinstance(level, bool) or int(level) != level or level < 0:
        raise ValueError(f"level must be a non-negative integer, got {level!r}")
    if not np.isfinite(kappa):
        raise ValueError(f"kappa must be finite, got {kappa!r}")


def _check_alpha(alpha):
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")


def _as_params(start, level) -> Params:
    p = start.params if isinstance(start, Result) else start
    if isinstance(p, tuple) and not isinstance(p, Params):
        p = {"chi": p[0], "q": p[1], "x": p[2]}
    if isinstance(p, dict):
        p = Params(jnp.asarray(p["chi"], jnp.float64), jnp.asarray(p["q"], jnp.float64),
                   jnp.asarray(p["x"], jnp.float64))
    if np.atleast_1d(p.q).shape[0] != level:
        raise ValueError(f"start is a level-{np.atleast_1d(p.q).shape[0]} point, expected level {level}")
    return Params(jnp.asarray(p.chi, jnp.float64), jnp.atleast_1d(jnp.asarray(p.q, jnp.float64)),
                  jnp.atleast_1d(jnp.asarray(p.x, jnp.float64)))


def _solve_level(level, kappa, alpha, starts, engine=None, nodes=None, spacing=None) -> Result:
    """One level from ``starts``: the threshold (``alpha=None``) or the energy at ``alpha``."""
    eng = make_engine(level, engine, nodes, spacing, kappa)
    a, e, g, params, used, diag = _solve(level, float(kappa), eng, starts, alpha=alpha)
    return _result(level, kappa, used, a, e, g, params, diag, on_alpha=alpha is None)


def _chain(alpha, max_level, kappa, options, resume=None) -> Iterator[Result]:
    previous = None if resume is None else _as_params(resume, resume.level)
    first = 0 if resume is None else resume.level + 1
    for r in range(first, max_level + 1):
        res = _solve_level(r, kappa, alpha, _starts(r, previous), **options)
        previous = _as_params(res, r)
        yield res


def threshold_chain(max_level: int, *, kappa: float = 0.0, resume: Result | None = None,
                    **options) -> Iterator[Result]:
    """Thresholds ``α_0, α_1, …, α_{max_level}``, each warm-started from the one before.

    ``resume`` (a finished level-``s`` threshold) skips levels ``0 … s`` and starts
    level ``s + 1`` from it.  ``options``: ``engine``, ``nodes``, ``spacing``.
    """
    _check_common(max_level, kappa)
    return _chain(None, max_level, kappa, options, resume)


def energy_chain(alpha: float, max_level: int, *, kappa: float = 0.0, **options) -> Iterator[Result]:
    """Energies ``e_0(α), …, e_{max_level}(α)``, each warm-started from the one before."""
    _check_common(max_level, kappa)
    _check_alpha(alpha)
    return _chain(alpha, max_level, kappa, options)


def _with_start(options: dict, start, level) -> dict:
    """``options`` plus ``start`` as a hashable ``(chi, q, x)`` tuple (for the traced path)."""
    if start is None:
        return options
    p = _as_params(start, level)
    return dict(options, start=(float(p.chi), tuple(map(float, p.q)), tuple(map(float, p.x))))


def _is_traced(*values) -> bool:
    return any(isinstance(v, jax.core.Tracer) for v in values)


def threshold(level: int, *, kappa: float = 0.0, start=None, **options) -> Result:
    """The level-``level`` injectivity threshold ``α_r`` (``e_r(α_r) = 1``) at threshold ``κ``.

    ``start`` (a level-``level`` :class:`Result` or parameters) continues from a
    nearby solution instead of building levels ``0 … level`` again.  Under
    ``jax.grad``/``jax.jvp``/``jit`` (``kappa`` traced) the returned ``alpha``
    is differentiable in ``κ`` by the envelope theorem
    (:mod:`jaxcap.sensitivity`); parameters and diagnostics are then constants.
    """
    if _is_traced(kappa):
        from .sensitivity import traced_result
        return traced_result("threshold", level, None, kappa, _with_start(options, start, level))
    if start is not None:
        _check_common(level, kappa)
        return _solve_level(level, kappa, None, [_as_params(start, level)], **options)
    *_, last = threshold_chain(level, kappa=kappa, **options)
    return last


def energy(alpha: float, level: int, *, kappa: float = 0.0, start=None, **options) -> Result:
    """The level-``level`` ground-state energy ``e_r(α) = max E_r(α; ·)``.

    Differentiable in ``α`` and ``κ`` when they are traced (see :func:`threshold`).
    """
    if _is_traced(alpha, kappa):
        from .sensitivity import traced_result
        return traced_result("energy", level, alpha, kappa, _with_start(options, start, level))
    if start is not None:
        _check_common(level, kappa)
        _check_alpha(alpha)
        return _solve_level(level, kappa, alpha, [_as_params(start, level)], **options)
    *_, last = energy_chain(alpha, level, kappa=kappa, **options)
    return last
