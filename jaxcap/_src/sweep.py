"""Many thresholds (or energies) in one compiled, vmapped and sharded program.

The threshold at ``κ`` is ``α_r(κ) = min_θ A(θ, κ)`` with ``A = (1 − S)/(−G)``
(:mod:`jaxcap._src.solver`); at the minimiser ``E_r(α_r, θ) = 1`` and ``∇_θ E_r = 0``,
because ``∇A = 0 ⇔ ∇S = A ∇G``.  A sweep over ``κ_1 … κ_n`` therefore needs no
Newton in ``α``: per ``κ`` it minimises ``φ(u) = log A(θ(u), κ)`` in the
unconstrained coordinates ``u`` of :mod:`jaxcap._src.params`, all ``κ`` at once.  An
energy grid over ``(α_i, κ_j)`` minimises ``φ = −E_r(α_i; θ(u), κ_j)`` the same way.

1. one ordinary :func:`jaxcap.threshold` (:func:`jaxcap.energy`) in the middle of
   the batch gives a verified start ``u*`` (and the engine is fitted to it, its
   grid widened to cover every ``κ`` of the batch);
2. a coarse pass (default from 32 points on): the same Newton from ``u*`` at
   ``m`` Chebyshev points of the ``κ`` range (``m × m`` for an ``α × κ`` grid).
   ``u(κ)`` is analytic, so the degree-``(m − 1)`` polynomial through them
   (barycentric formula, weights ``(−1)^j``, halved at the ends) is a start
   within ``O(ρ^{−m})`` of every element: one or two Newton steps remain.  If a
   coarse point failed, every element starts from ``u*`` instead;
3. optionally a few L-BFGS steps (:func:`jaxcap._src.solver.lbfgs`, as in :func:`jaxcap._src.solver.ascend`);
4. the single solve's own Newton (:func:`jaxcap._src.solver.newton_in_u`: saddle-free,
   Levenberg–Marquardt damped, here with the autodiff Hessian
   (:func:`jaxcap._src.solver.value_grad_hessian_autodiff`: dearer to compile, but a
   batch compiles once and runs it hundreds of times), ``lax.while_loop`` that stops per element at
   ``‖∇φ‖ ≤ 1e−13``, at most ``newton_iters`` iterations, the first of which
   measures the start) and its own measurement
   (:func:`jaxcap._src.solver.measure`): ``α`` (``= e^φ`` for a threshold), ``E``,
   ``G``, ``∂G/∂κ`` (from ``∂φ/∂κ``, a by-product of the last gradient), ``G`` on
   the refined engine, and the gradient norm and
   largest Hessian eigenvalue of ``E_r(α, ·)`` in ``(χ, q, x)``;
5. on the host, the single solve's own :mod:`jaxcap._src.measurement`: the envelope
   derivatives ``dα/dκ = −α (∂G/∂κ)/G`` or ``(∂e/∂α, ∂e/∂κ) = (−G, −α ∂G/∂κ)``,
   the quadrature-error estimate ``α |G_refined − G|`` (divided by ``|G|`` on
   ``α``), and the verdict.

Steps 2–4 are one ``jit`` of a ``vmap``; the batch axis is sharded over
``jax.devices()`` (``Mesh`` + ``NamedSharding(mesh, P('batch'))``), padded to a
multiple of the device count by repeating the last point.  Under
``jax.distributed`` the devices are those of every process: each process fills
and solves its own shards (``jax.make_array_from_callback``) and the results are
gathered with ``multihost_utils.process_allgather``.  An element is
``converged`` when ``‖∇_θ E‖ ≤ 1e−9``, the Hessian is negative definite, the
point is not degenerate (:func:`jaxcap._src.params.degeneracy`) and the engine
resolves it; the others are reported with their diagnostics, never dropped.
The batch comes back as one :class:`~jaxcap._src.result.Result` with a leading axis.

**Chunks and checkpoints.**  :func:`sweep_chunks` (``jaxcap sweep``) solves the batch in chunks of one
compiled program each and saves every finished chunk to a checkpoint file
(:mod:`jaxcap._src.checkpoint`), so that an interrupted sweep resumes where it stopped.

**Potentials.**  ``potential=`` (``docs/theory.md#potentials``) puts the potential's key in the
batch engine (:func:`batch_engine`), so every element of the program evaluates its leaf, level 0
its closed form (:func:`jaxcap._src.functional.outer_mean`: the engine's potential); the planning
solve is of the same potential.  ``epsilon=`` sweeps the level set ``e_r = ε``: the objective's
fixed number ``ε − 1`` (:mod:`jaxcap._src.solver`) is the ``α`` each threshold element is solved at
(0 for the threshold itself, so the count's program and numbers are unchanged).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import checkpoint as ckpt
from . import guards
from .compilation import jit
from .engine import make_engine
from .potential import from_key
from .measurement import GRAD_TOL, envelope_derivatives, quad_error, verdict
from .params import Params, from_unconstrained, to_unconstrained
from .result import ConvergenceError, Diagnostics, Result, not_converged, start_params, to_json
from .status import Status
from .solver import OBJECTIVES, lbfgs, measure, newton_in_u, value_grad_hessian, value_grad_hessian_autodiff
from .threshold import energy, threshold
from .validation import check_epsilon, check_level, check_points, check_potential

__all__ = ["Plan", "plan", "batch_engine", "solve_batch", "concatenate", "sweep", "energy_grid", "sweep_chunks",
           "checkpoint_key", "AUTO_COARSE", "AUTO_COARSE_FROM", "SWEEP_HESSIANS"]

NEWTON_TOL = 1e-13
#: Coarse-pass points per axis when ``coarse`` is not given (from :data:`AUTO_COARSE_FROM` points on).
AUTO_COARSE = 8
#: The batch size from which the coarse pass runs when ``coarse`` is not given.
AUTO_COARSE_FROM = 32
#: How the batched Newton gets its Hessians: ``"autodiff"`` (forward over reverse; cheaper to run,
#: dearer to compile) or ``"difference"`` (central differences of exact gradients, as the single solve).
HESSIANS = {"autodiff": value_grad_hessian_autodiff, "difference": value_grad_hessian}
#: The names ``hessian=`` takes (:data:`HESSIANS`).
SWEEP_HESSIANS = tuple(HESSIANS)
#: Elements a device solves at once (one step of the ``lax.scan`` through its share).
BLOCK = 4


class Plan(NamedTuple):
    """What every chunk of a batch shares: the level, the (static) engine (with the potential's key,
    :attr:`~jaxcap._src.engine.Engine.potential`), the start ``u*``, the objective and, for a threshold
    plan, the level ``ε`` of the level set ``e_r = ε`` (1: the threshold)."""

    level: int
    engine: object
    start: Params
    objective: str = "threshold"
    epsilon: float = 1.0


# ---------------------------------------------------------------------------------------------
# the traced program

def _solve_one(u_start, alpha, kappa, newton_iters, *, engine, refined, objective, ascent_steps, hessian):
    """One element: (L-BFGS,) then the Newton and the measurement of :func:`jaxcap._src.solver.polish`."""
    phi = lambda v, k: OBJECTIVES[objective](v, alpha, k, engine)
    u = u_start
    if ascent_steps:
        u, *_ = lbfgs(lambda v: phi(v, kappa), u, ascent_steps, 1e-12)
    u, value, grad, hess, dphi_dkappa, steps = newton_in_u(phi, u, kappa, newton_iters, NEWTON_TOL,
                                                           HESSIANS[hessian])
    out = measure(objective, u, value, grad, hess, alpha, kappa, engine, refined, dphi_dkappa)
    # (χ, q, x) are rebuilt from u on the host: the scan cannot carry level 0's empty q and x
    return {key: v for key, v in out.items() if key not in Params._fields} | {"newton_steps": steps}


def _chebyshev(lo, hi, m: int):
    """``m`` Chebyshev points of the second kind on ``[lo, hi]`` (the midpoint when ``m = 1``)."""
    if m == 1:
        return jnp.reshape(0.5 * (lo + hi), (1,))
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * jnp.cos(jnp.pi * jnp.arange(m) / (m - 1))


def _lagrange_weights(nodes, x):
    """``ℓ_j(x_i)``, the Lagrange basis at ``x`` for Chebyshev ``nodes`` (barycentric formula).

    ``ℓ_j(x) = (c_j/(x − x_j)) / Σ_k c_k/(x − x_k)`` with ``c_j = (−1)^j``, halved at
    both ends; ``ℓ_j(x_j) = 1`` exactly at a node.
    """
    m = nodes.shape[0]
    if m == 1:
        return jnp.ones((x.shape[0], 1), x.dtype)
    j = jnp.arange(m)
    c = (-1.0) ** j * jnp.where((j == 0) | (j == m - 1), 0.5, 1.0)
    diff = x[:, None] - nodes[None, :]
    hit = diff == 0.0
    w = c / jnp.where(hit, 1.0, diff)
    w = jnp.where(jnp.any(hit, axis=1, keepdims=True), hit.astype(x.dtype), w)
    return w / jnp.sum(w, axis=1, keepdims=True)


def _coarse_grid(box, coarse):
    """The coarse pass's ``(α, κ)`` points (``m_α × m_κ`` Chebyshev nodes, α-major) and its nodes per axis."""
    node_a, node_k = _chebyshev(box[0, 0], box[0, 1], coarse[0]), _chebyshev(box[1, 0], box[1, 1], coarse[1])
    grid_a, grid_k = (v.ravel() for v in jnp.meshgrid(node_a, node_k, indexing="ij"))
    return grid_a, grid_k, node_a, node_k


@jit(static_argnames=("engine", "refined", "objective", "coarse", "ascent_steps", "mesh", "block", "hessian"))
def _program(alphas, kappas, u0, box, newton_iters, *, engine, refined, objective, coarse, ascent_steps, mesh, block,
             hessian):
    """The whole batch: (coarse pass and interpolated starts,) Newton, measurement.

    ``box = [[α_lo, α_hi], [κ_lo, κ_hi]]`` is the range of the coarse pass, ``coarse``
    its ``(m_α, m_κ)`` points or ``None``.  Each device of ``mesh`` takes its
    contiguous share of the batch (``shard_map``; a multiple of ``block``) and works
    through it ``block`` elements at a time in a ``lax.scan`` (a block's grids stay in
    cache, where one ``vmap`` over hundreds of elements streams them through memory at
    every step).  The coarse points are the first blocks of the same scan, started
    from ``u0``; the scan carries their solutions, and every later block starts from
    their interpolation.  The program therefore holds one copy of the solve: compiling
    it, not running it, is most of a cold sweep on a CPU.
    """
    solve = jax.vmap(functools.partial(_solve_one, engine=engine, refined=refined, objective=objective,
                                       ascent_steps=ascent_steps, hessian=hessian), in_axes=(0, 0, 0, None))
    if coarse:
        grid_a, grid_k, node_a, node_k = _coarse_grid(box, coarse)
    else:
        grid_a = grid_k = jnp.zeros(0, alphas.dtype)
    first = -(-grid_a.shape[0] // block)                                  # coarse blocks
    pad = lambda v: jnp.concatenate([v, jnp.full(first * block - v.shape[0], v[-1])]) if first else v

    def local(a, k, iters):
        points = [jnp.concatenate([pad(g), v]).reshape(-1, block) for g, v in ((grid_a, a), (grid_k, k))]

        def body(done, blk):
            i, ba, bk = blk
            starts = jnp.broadcast_to(u0, (block, u0.shape[0]))
            if coarse:
                # one failed coarse point (grad norm above tolerance, or NaN) sends every element back to u0
                ok = jnp.all(done[1][:grid_a.shape[0]] <= GRAD_TOL)
                fitted = jnp.einsum("ia,ik,akd->id", _lagrange_weights(node_a, ba), _lagrange_weights(node_k, bk),
                                    done[0][:grid_a.shape[0]].reshape(coarse[0], coarse[1], -1))
                starts = jnp.where((i >= first) & ok, fitted, starts)
            out = solve(starts, ba, bk, iters)
            if coarse:
                row = jnp.minimum(i, first - 1) * block
                new = (jax.lax.dynamic_update_slice(done[0], out["u"], (row, 0)),
                       jax.lax.dynamic_update_slice(done[1], out["grad_norm"], (row,)))
                done = jax.tree.map(lambda n, o: jnp.where(i < first, n, o), new, done)
            return done, out

        done = (jnp.zeros((first * block, u0.shape[0]), u0.dtype), jnp.full(first * block, jnp.inf, u0.dtype))
        _, out = jax.lax.scan(body, done, (jnp.arange(points[0].shape[0]), *points))
        return jax.tree.map(lambda v: v.reshape(-1, *v.shape[2:])[first * block:], out)

    spec = PartitionSpec("batch")
    per_device = jax.shard_map(local, mesh=mesh, in_specs=(spec, spec, PartitionSpec()), out_specs=spec,
                               check_vma=False)
    return per_device(alphas, kappas, newton_iters)


# ---------------------------------------------------------------------------------------------
# host side

def _checked_values(values, name: str, positive: bool = False) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or (positive and not np.all(v > 0)):
        raise ValueError(f"{name} must be finite{' and > 0' if positive else ''}")
    return v


def batch_engine(level: int, kappas: np.ndarray, engine, nodes, spacing, potential: tuple = ()):
    """The engine for the whole batch: for the grid, the union of the grids around ``min κ`` and ``max κ``;
    of the count, or of ``potential`` (a key, :func:`jaxcap._src.potential.key`).

    Level 0 is closed-form and ignores the engine but for its potential: one canonical engine per
    potential, one compiled program.
    """
    if level == 0:
        return make_engine(0, engine, nodes, spacing, 0.0, potential=potential)
    lo_eng = make_engine(level, engine, nodes, spacing, float(kappas.min()), potential=potential)
    hi_eng = make_engine(level, engine, nodes, spacing, float(kappas.max()), potential=potential)
    if hasattr(lo_eng, "lo"):
        return dataclasses.replace(lo_eng, lo=min(lo_eng.lo, hi_eng.lo), hi=max(lo_eng.hi, hi_eng.hi))
    return lo_eng


def _agreed(u: np.ndarray) -> np.ndarray:
    """Process 0's ``u`` (a start, the chunks left) on every process, so that all of them compile and run
    the same programs."""
    if jax.process_count() == 1:
        return u
    return np.asarray(multihost_utils.broadcast_one_to_all(u))


def host_potential(key: tuple):
    """The ``potential=`` of a host solve for a key (:func:`jaxcap._src.potential.key`): ``None`` for the count."""
    return from_key(key) if key else None


def plan(level: int, kappas, *, alpha: float | None = None, engine: str | None = None, nodes: int | None = None,
         spacing: float | None = None, start=None, potential=None, epsilon: float = 1.0) -> Plan:
    """Solve the middle ``κ`` one at a time (from ``start`` when given) and fit the batch engine to it.

    ``alpha=None`` plans thresholds (the level set ``e_r = epsilon``); a number plans energies at that
    ``α`` (the middle of an energy grid).  ``potential``: as in :func:`jaxcap.threshold` (the count by default).
    """
    level = check_level(level)
    k = _checked_values(kappas, "kappas")
    key, epsilon = check_potential(potential), check_epsilon(epsilon)
    if alpha is not None and epsilon != 1.0:
        raise ValueError("epsilon is the level set of a threshold; an energy plan takes none")
    k0 = float(k[len(k) // 2])
    opts = dict(engine=engine, nodes=nodes, spacing=spacing, potential=host_potential(key))
    if start is None:
        ref = (threshold(level, kappa=k0, epsilon=epsilon, **opts) if alpha is None
               else energy(alpha, level, kappa=k0, **opts))
        params = start_params(ref, level)
    else:
        params = start_params(start, level)
    if jax.process_count() > 1:
        params = from_unconstrained(jnp.asarray(_agreed(np.asarray(to_unconstrained(params)))))
    eng = batch_engine(level, k, engine, nodes, spacing, potential=key)
    if level:
        eng = eng.fitted(params)
    return Plan(level, eng, params, "threshold" if alpha is None else "energy", epsilon)


def _mesh(devices) -> Mesh:
    return Mesh(np.asarray(list(devices)), ("batch",))


def _coarse_shape(coarse: int | None, n: int, box) -> tuple[int, int] | None:
    """``(m_α, m_κ)`` for the coarse pass: ``coarse`` points along each axis that has a range, or ``None``."""
    m = (AUTO_COARSE if n >= AUTO_COARSE_FROM else 0) if coarse is None else int(coarse)
    if m < 0:
        raise ValueError(f"coarse must be a non-negative integer, got {coarse!r}")
    shape = tuple(m if hi > lo else 1 for lo, hi in box)
    check_points(math.prod(shape), f"a coarse pass of {' x '.join(map(str, shape))} points")
    return shape if m >= 2 and shape != (1, 1) else None


def _sharded(values: np.ndarray, sharding) -> jax.Array:
    """``values`` as one array over the mesh; each process fills only its own shards."""
    return jax.make_array_from_callback(values.shape, sharding, lambda index: values[index])


def _fetch(out) -> dict:
    """The program's outputs as NumPy on this host, gathered from every process when there are several."""
    if jax.process_count() > 1:
        return multihost_utils.process_allgather(out, tiled=True)
    return jax.tree_util.tree_map(np.asarray, out)


def _batch_result(p: Plan, alphas, kappas, out: dict, seconds: float) -> Result:
    """The first ``len(kappas)`` elements of the program's output as one batched :class:`Result`,
    each with its verdict (:mod:`jaxcap._src.measurement`)."""
    n = len(kappas)
    chi, q, x = (np.asarray(v)[:n] for v in out["params"])
    out = {key: np.asarray(v)[:n] for key, v in out.items() if key != "params"}
    alpha, g, gnorm, lam = out["alpha"], out["g"], out["grad_norm"], out["hessian_max_eig"]
    errors = quad_error(alpha, g, out["g_refined"], p.objective == "threshold")
    values = alpha if p.objective == "threshold" else out["energy"]
    verdicts = [verdict(Params(chi[i], q[i], x[i]), float(gnorm[i]), float(lam[i]), p.level, p.engine,
                        float(alpha[i]), float(g[i])) for i in range(n)]
    # the discretisation error the engine must resolve (jaxcap._src.guards.unresolved)
    verdicts = [(Status.UNRESOLVED, why) if status in (Status.CONVERGED, Status.NOT_MAXIMUM) and why
                else (status, reason) for (status, reason), why in zip(verdicts, (guards.unresolved(float(e), float(v)) for e, v in zip(errors, values)))]
    info = p.engine.describe()
    on_alpha = p.objective == "threshold"
    return Result(
        alpha=alpha if on_alpha else np.asarray(alphas, float), energy=out["energy"],
        kappa=np.asarray(kappas, float), params=Params(chi, q, x),
        diagnostics=Diagnostics(grad_norm=gnorm, hessian_max_eig=lam,
                                quad_error=errors,
                                seconds=np.full(n, seconds / n), newton_steps=out["newton_steps"].astype(int),
                                starts_tried=np.ones(n, int), quad_nodes=info.get("nodes", 0),
                                engine=info["engine"], grid_spacing=info.get("spacing")),
        status=np.array([int(s) for s, _ in verdicts]), level=p.level, kind=p.objective,
        messages=tuple(why or "" for _, why in verdicts), potential=p.engine.potential,
        **envelope_derivatives(p.objective, alpha, g, out["dg_dkappa"]))


def concatenate(results) -> Result:
    """Batched :class:`Result` s joined along their leading axis."""
    bare = [dataclasses.replace(r, messages=()) for r in results]  # messages are static: not joined by tree.map
    joined = jax.tree.map(lambda *v: np.concatenate(v), *bare)
    return dataclasses.replace(joined, messages=sum((r.messages for r in results), ()))


def solve_batch(p: Plan, kappas, *, alphas=None, bounds=None, alpha_bounds=None, devices=None,
                size: int | None = None, newton_iters: int = 12, ascent_steps: int = 0,
                coarse: int | None = None, block: int = BLOCK, hessian: str = "autodiff") -> Result:
    """The thresholds (energies at ``alphas``, for an energy plan) at ``kappas`` from plan ``p``,
    in one compiled program sharded over ``devices``.

    ``size`` pads the batch (repeating the last point) so that chunks of one sweep
    share one compiled program; ``bounds`` (``alpha_bounds``) is the ``κ`` (``α``)
    range of the coarse pass (default: this batch's own range); ``coarse`` its
    points per axis (``None``: :data:`AUTO_COARSE` from :data:`AUTO_COARSE_FROM`
    points on; ``0``: off); ``block`` how many elements a device solves at once; ``hessian``
    how Newton gets its Hessians (:data:`HESSIANS`: ``"difference"`` compiles in about
    60 % of the time and runs about 1.4× longer — the better choice for a one-off sweep on a CPU).
    """
    k = _checked_values(kappas, "kappas")
    if (alphas is None) != (p.objective == "threshold"):
        raise ValueError("alphas are given for an energy plan, and only for one")
    # a threshold element is solved at the objective's fixed number ε − 1 (module docstring)
    a = np.full_like(k, p.epsilon - 1.0) if alphas is None else _checked_values(alphas, "alphas", positive=True)
    if a.shape != k.shape:
        raise ValueError(f"alphas and kappas differ in length ({a.size} and {k.size})")
    if hessian not in HESSIANS:
        raise ValueError(f"hessian must be one of {sorted(HESSIANS)}, got {hessian!r}")
    if int(block) < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    if int(newton_iters) < 1:  # the first iteration is the measurement of the start
        raise ValueError(f"newton_iters must be an integer >= 1, got {newton_iters!r}")
    t0 = time.perf_counter()
    devices = list(devices or jax.devices())
    n = max(len(k), size or 0)
    check_points(n, f"a batch of {n} elements")
    guards.check_engine(p.engine, p.level, f"a batch at level {p.level} ({block} elements at once on each of "
                                           f"{len(devices)} devices)", copies=len(devices) * int(block))
    n = -(-n // (len(devices) * block)) * len(devices) * block   # every device's share a multiple of block
    pad = lambda v: np.concatenate([v, np.full(n - len(v), v[-1])])
    sharding = NamedSharding(_mesh(devices), PartitionSpec("batch"))
    box = np.array([(a.min(), a.max()) if alpha_bounds is None else alpha_bounds,
                    (k.min(), k.max()) if bounds is None else bounds], dtype=float)
    out = _program(_sharded(pad(a), sharding), _sharded(pad(k), sharding), to_unconstrained(p.start),
                   jnp.asarray(box), jnp.asarray(int(newton_iters)), engine=p.engine,
                   refined=p.engine.refined(), objective=p.objective, coarse=_coarse_shape(coarse, n, box),
                   ascent_steps=int(ascent_steps), mesh=sharding.mesh, block=int(block), hessian=hessian)
    out = _fetch(out)
    out["params"] = jax.tree.map(np.asarray, jax.vmap(from_unconstrained)(out["u"]))
    return _batch_result(p, a, k, out, time.perf_counter() - t0)


def _failed(kind: str, level: int, kappas, alphas, err: ConvergenceError, engine, potential) -> Result:
    """Every element not converged (:func:`jaxcap._src.result.not_converged`), with the potential's key."""
    res = not_converged(kind, level, kappas, alphas, str(err), engine=engine or "grid")
    return dataclasses.replace(res, potential=check_potential(potential))


def _chunks(k: np.ndarray, chunk: int | None) -> tuple[int, list[np.ndarray]]:
    """The chunk size (``chunk``, or all of ``k``) and the chunks of ``k``, in order."""
    size = int(chunk) if chunk else len(k)
    if size < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    return size, [k[i:i + size] for i in range(0, len(k), size)]


def sweep(level: int, kappas, *, engine: str | None = None, nodes: int | None = None,
          spacing: float | None = None, start=None, chunk: int | None = None, devices=None,
          newton_iters: int = 12, ascent_steps: int = 0, coarse: int | None = None, hessian: str = "autodiff",
          progress: Callable[[int, int, Result], None] | None = None, throw: bool = True, potential=None,
          epsilon: float = 1.0) -> Result:
    """Level-``level`` thresholds at every ``κ`` of ``kappas``, batched (module docstring); with
    ``potential`` and ``epsilon`` the level sets ``e_r(α) = ε`` of that cost (as :func:`jaxcap.threshold`).

    Returns:
        One :class:`~jaxcap._src.result.Result` with a leading axis over ``kappas`` (in order;
        ``len``, indexing and iteration give the elements): ``alpha``, ``dalpha_dkappa``,
        ``params``, ``converged`` / ``reason`` per element and ``diagnostics``.  An element that
        failed the verdict is kept (``converged`` false), never dropped.

    ``chunk`` splits the batch into programs of that many ``κ`` (one compilation);
    ``hessian`` as in :func:`solve_batch`; ``progress(i, n_chunks, result)`` is called after each chunk.
    ``throw=False``: when the planning solve fails, every element comes back not converged
    (:mod:`jaxcap._src.status`) instead of raising.

    Raises:
        TypeError, ValueError: invalid ``level``, ``kappas``, ``potential``, ``epsilon`` or options.
        ConvergenceError: (``throw=True``) the single solve that plans the batch failed.
    """
    k = _checked_values(kappas, "kappas")
    check_points(len(k), f"a sweep of {len(k)} kappas")
    try:
        p = plan(level, k, engine=engine, nodes=nodes, spacing=spacing, start=start, potential=potential,
                 epsilon=epsilon)
    except ConvergenceError as err:
        if throw:
            raise
        return _failed("threshold", level, k, None, err, engine, potential)
    size, chunks = _chunks(k, chunk)
    results = []
    for i, part in enumerate(chunks):
        res = solve_batch(p, part, bounds=(k.min(), k.max()), devices=devices, size=size,
                          newton_iters=newton_iters, ascent_steps=ascent_steps, coarse=coarse, hessian=hessian)
        results.append(res)
        if progress:
            progress(i, len(chunks), res)
    return concatenate(results)


def energy_grid(alphas, kappas, level: int, *, engine: str | None = None, nodes: int | None = None,
                spacing: float | None = None, start=None, devices=None, newton_iters: int = 30,
                coarse: int | None = None, hessian: str = "autodiff", throw: bool = True, potential=None) -> Result:
    """Level-``level`` energies ``e_r(α_i; κ_j)`` on the ``α × κ`` grid, in one program, of the count or of
    ``potential`` (as :func:`jaxcap.energy`).

    Returns:
        One :class:`~jaxcap._src.result.Result` of shape ``(len(alphas), len(kappas))``:
        ``result[i][j]`` is the energy at ``(alphas[i], kappas[j])`` with ``energy``,
        ``denergy_dalpha``, ``denergy_dkappa``, ``params``, ``converged`` and ``diagnostics``
        (as in :func:`sweep`).  The start is one :func:`jaxcap.energy` at the middle
        ``(α, κ)`` (or ``start``).  ``throw`` as in :func:`sweep`.

    Raises:
        TypeError, ValueError: invalid ``level``, ``alphas``, ``kappas``, ``potential`` or options.
        ConvergenceError: (``throw=True``) the single solve that plans the grid failed.
    """
    a = _checked_values(alphas, "alphas", positive=True)
    k = _checked_values(kappas, "kappas")
    check_points(len(a) * len(k), f"an energy grid of {len(a)} x {len(k)} points")
    try:
        p = plan(level, k, alpha=float(a[len(a) // 2]), engine=engine, nodes=nodes, spacing=spacing, start=start,
                 potential=potential)
    except ConvergenceError as err:
        if throw:
            raise
        return _failed("energy", level, k[None, :], a[:, None], err, engine, potential)
    grid_a, grid_k = (v.ravel() for v in np.meshgrid(a, k, indexing="ij"))
    flat = solve_batch(p, grid_k, alphas=grid_a, devices=devices, newton_iters=newton_iters, coarse=coarse,
                       hessian=hessian)
    shape = (len(a), len(k))
    return dataclasses.replace(jax.tree.map(lambda v: np.reshape(v, shape + np.shape(v)[1:]), flat),
                               messages=flat.messages)


def checkpoint_key(level: int, kappas, *, chunk=None, coarse=None, engine=None, nodes=None, spacing=None,
                   newton_iters: int = 12, hessian: str = "autodiff") -> dict:
    """Everything that affects the numbers a :func:`sweep_chunks` checkpoint holds."""
    return {"level": level, "kappas": [float(k) for k in kappas], "chunk": chunk, "coarse": coarse,
            "engine": engine, "nodes": nodes, "spacing": spacing, "newton_iters": newton_iters, "hessian": hessian}


def sweep_chunks(level: int, kappas, *, checkpoint: str | None = None, chunk: int | None = None,
                 coarse: int | None = None, newton_iters: int = 12, hessian: str = "autodiff",
                 engine: str | None = None, nodes: int | None = None, spacing: float | None = None,
                 progress: Callable | None = None, on_write_error: Callable | None = None,
                 solve: Callable | None = None) -> dict:
    """The thresholds of :func:`sweep` chunk by chunk, resumable from ``checkpoint`` (``jaxcap sweep``).

    One plan (:func:`plan`, from the checkpoint's start when it has one) serves every chunk of ``chunk``
    thresholds (default: all in one), each chunk one batched program (:func:`solve_batch` with
    ``newton_iters``, ``coarse``, ``hessian``).  ``checkpoint`` (a path, :mod:`jaxcap._src.checkpoint`)
    receives every finished chunk; a rerun with the same ``kappas`` and options computes only the
    chunks it lacks, a file from other ones is refused (``CheckpointError``, a ``ValueError``).  Under
    ``jax.distributed`` every process solves its shards of every chunk, process 0's checkpoint decides
    which chunks remain, and only process 0 writes it.

    Returns:
        ``{"level", "results", "seconds"}``: ``results`` one JSON row per ``κ`` in order
        (:func:`jaxcap.to_json` of each element: ``kappa``, ``alpha``, ``dalpha_dkappa``, ``converged``,
        ``diagnostics``, ...), those that did not converge included; ``seconds`` the whole run.

    ``progress(i, n_chunks, rows, seconds)`` is called for every chunk ``i`` (from 0) with its rows,
    ``seconds=None`` for a chunk read from the checkpoint; ``on_write_error(exc)``, when given, is called
    for a checkpoint write that failed (``OSError``) and the sweep goes on, else it raises.  ``solve(plan,
    kappas, bounds=, size=)`` replaces the batch solve (default :func:`solve_batch` with the options above).

    Raises:
        TypeError, ValueError: invalid ``level``, ``kappas``, ``chunk`` or options, or an unusable checkpoint.
        ConvergenceError: the single solve that plans the sweep failed.
    """
    t0 = time.perf_counter()
    level = check_level(level)
    k = _checked_values(kappas, "kappas")
    check_points(len(k), f"a sweep of {len(k)} kappas")
    writer = jax.process_index() == 0
    solve = solve or functools.partial(solve_batch, newton_iters=newton_iters, coarse=coarse, hessian=hessian)
    key = checkpoint_key(level, k, chunk=chunk, coarse=coarse, engine=engine, nodes=nodes, spacing=spacing,
                         newton_iters=newton_iters, hessian=hessian)
    if checkpoint:
        ckpt.check_writable(checkpoint, "checkpoint")
    start, done = ckpt.read_chunks(checkpoint, key) if checkpoint else (None, {})
    p = plan(level, k, engine=engine, nodes=nodes, spacing=spacing, start=start)
    start = p.start.as_dict()
    size, chunks = _chunks(k, chunk)
    todo = _agreed(np.array([i not in done for i in range(len(chunks))]))
    for i, part in enumerate(chunks):
        if not todo[i]:
            if progress:
                progress(i, len(chunks), done[i], None)
            continue
        t = time.perf_counter()
        done[i] = to_json(solve(p, part, bounds=(k.min(), k.max()), size=size))
        if progress:
            progress(i, len(chunks), done[i], time.perf_counter() - t)
        if checkpoint and writer:
            try:
                ckpt.write_chunks(checkpoint, key, start, {i: done[i]})
            except OSError as exc:
                if on_write_error is None:
                    raise
                on_write_error(exc)
    results = [r for i in range(len(chunks)) for r in done[i]]
    return {"level": level, "results": results, "seconds": time.perf_counter() - t0}
