"""Thresholds and energies as JAX functions: ``jit``, ``vmap`` and derivatives of any order.

Under a JAX transformation (``kappa`` or ``alpha`` traced) :func:`jaxcap.threshold`
and :func:`jaxcap.energy` call :func:`traced_solve`, which splits the solve in two
(``docs/theory.md#derivatives``):

* **the optimum on the host.**  :func:`optimum` is a ``jax.pure_callback`` with
  ``vmap_method="broadcast_all"``: under ``jax.vmap`` the whole batch reaches the
  host at once and is solved by the batched program of :func:`jaxcap.sweep`
  (one single solve plans it, :func:`jaxcap._src.sweep.solve_batch` does the rest), never
  by a loop of single solves.  It returns the maximiser ``u*`` in the unconstrained
  coordinates of :mod:`jaxcap._src.params`, a status code (:class:`jaxcap._src.status.Status`)
  and diagnostics.  An element that fails (no verified maximum, invalid input,
  ``κ`` outside the engine's range) comes back with ``u* = NaN`` and its status:
  nothing raises inside a traced call;
* **everything else in JAX**, from ``(u*, α, κ)`` on one static engine: the
  objective ``φ`` (``log A`` for a threshold, ``−E_r`` for an energy), the
  parameters, the energy and the envelope derivatives.

Derivatives come from two ``jax.custom_jvp`` rules written in JAX operations, so
JAX can differentiate the rules again (``jax.grad`` of ``jax.grad``,
``jax.hessian``, ``jax.jacfwd``, ``jax.jacrev``):

* the value: by the envelope theorem (``∇_u φ = 0`` at the optimum)
  ``dφ* = ∂φ/∂α dα + ∂φ/∂κ dκ``, so ``dα_r/dκ = α_r ∂ log A/∂κ = −α_r (∂G/∂κ)/G``,
  ``∂e_r/∂α = −G`` and ``∂e_r/∂κ = −α ∂G/∂κ``;
* the maximiser: by the implicit function theorem on ``∇_u φ(u*, α, κ) = 0``,
  ``du* = −H⁻¹ (∂²φ/∂u∂α dα + ∂²φ/∂u∂κ dκ)`` with ``H = ∇²_u φ(u*)``.

Differentiating the first rule once more brings in the second: for example
``d²α_r/dκ² = α_r [(∂_κ log A)² + ∂²_κ log A − ∂²_{κu} log A · H⁻¹ ∂²_{uκ} log A]``.

The engine is static, so it is fixed before anything is traced
(:func:`traced_engine`): the grid around the ``κ`` range ``kappa_range`` (default
``(−1, 1)``), fitted to the level's solutions at both ends and the middle of that
range.  Values under transformations therefore agree with the concrete solves to
the engines' quadrature error (``quad_error``), not to the last digit.

A potential (``docs/theory.md#potentials``) and the level ``ε`` of a level set are static too: the
potential's key is in the engine and in the :class:`Spec` (the anchor solves are of the same
cost), and a threshold's objective is solved at its fixed number ``ε − 1``
(:mod:`jaxcap._src.solver`), so the rules above hold unchanged: ``dα/dκ = −α (∂G/∂κ)/G`` on the
level set, ``∂e/∂α = −G`` and ``∂e/∂κ = −α ∂G/∂κ`` of the potential's ``G``.
"""
from __future__ import annotations

import concurrent.futures
import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .compilation import jit
from .status import Status
from .params import Params, from_unconstrained, to_unconstrained
from .result import ConvergenceError, Diagnostics, Result, start_params
from .solver import HESSIAN_STEP, OBJECTIVES
from .functional import energy_functional
from .sweep import AUTO_COARSE_FROM, Plan, batch_engine, host_potential, solve_batch
from .threshold import energy as host_energy, threshold as host_threshold
from .engine import make_engine
from .zero_energy import curvature, gardner, sat_curve

__all__ = ["Spec", "spec_for", "traced_engine", "optimum", "objective_at", "implicit_tangent", "traced_solve",
           "SatSpec", "sat_spec", "sat_line", "sat_curvature", "traced_sat", "DEFAULT_KAPPA_RANGE"]

#: ``κ`` range whose solutions the traced engine is fitted to, unless ``kappa_range`` is given.
DEFAULT_KAPPA_RANGE = (-1.0, 1.0)
#: Most Newton iterations of the batched program.  Each element stops at its own tolerance,
#: but the coarse points of a wide batch start from the middle solution: with 12 (the sweep's
#: default) the level-2 coarse points at ``κ = ±1`` of a batch over ``[−1, 1]`` stop short, every
#: element falls back to the middle start and those far from it fail; with 30 every coarse
#: point converges and no element needs more than 3 steps.
NEWTON_ITERS = {"threshold": 30, "energy": 30}
#: Single solves tried, nearest the middle of the batch first, before a batch is declared failed.
ANCHOR_TRIES = 3
#: Diagnostics carried through the callback, in this order.
DIAGNOSTICS = ("grad_norm", "hessian_max_eig", "quad_error", "newton_steps", "seconds")


class Spec(NamedTuple):
    """Everything static about a traced solve (hashable: a static argument of compiled programs)."""

    kind: str               # "threshold" | "energy"
    level: int
    engine: object          # the static engine (:func:`traced_engine`)
    options: tuple          # sorted (name, value) pairs: engine, nodes, spacing
    kappa_range: tuple
    start: tuple | None     # a hashable start (chi, q, x), or None
    potential: tuple = ()   # the potential's key (:func:`jaxcap._src.potential.key`); empty: the count
    epsilon: float = 1.0    # the level set e_r = ε of a threshold (1: the threshold)

    @property
    def dim(self) -> int:
        return 2 * self.level + 1


def at_top_level(fun, *args, **kwargs):
    """``fun(*args, **kwargs)`` run in a fresh thread: JAX's trace state is per thread, so a host solve
    called while a transformation traces the caller runs as it would at top level (its programs
    compiled whole, and shared with the same solve called outside any transformation)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fun, *args, **kwargs).result()


@functools.cache
def traced_engine(level: int, options: tuple, kappa_range: tuple, potential: tuple = (), epsilon: float = 1.0):
    """The one engine of level-``level`` traced solves over ``kappa_range`` (of ``potential``, a key): the grid of
    :func:`~jaxcap._src.sweep.batch_engine` over the range, fitted to the threshold (the level set
    ``e_r = epsilon``) at its middle (:meth:`~jaxcap._src.grid.GridEngine.fitted`), every kernel cover
    one rung wider (``×√2``, at most 1).

    Over ``κ ∈ [−1, 1]`` the thresholds of levels 1–3 need no finer grid than at ``κ = 0``,
    but their outer smoothings widen (at level 2, ``√(q_1 − q_0)`` needs a cover of 0.91 at
    ``κ = 1`` against 0.64 at ``κ = 0``): the wider covers hold them.  Each element is still
    checked against the engine (:meth:`~jaxcap._src.grid.GridEngine.check`).  Built once per process and arguments.

    Raises:
        ConvergenceError: the threshold at the middle of ``kappa_range`` failed (for a convex potential at
            ``κ ≤ 0`` there is none above level 0): the message asks for a ``kappa_range`` around the ``κ`` wanted.
    """
    opts = dict(options)
    lo, hi = kappa_range
    eng = batch_engine(level, np.array([lo, hi]), opts.get("engine"), opts.get("nodes"), opts.get("spacing"),
                       potential=potential)
    if level == 0:
        return eng
    kappa = 0.5 * (lo + hi)
    try:
        middle = at_top_level(host_threshold, level, kappa=kappa, potential=host_potential(potential),
                              epsilon=epsilon, **opts)
    except ConvergenceError as err:
        # a convex potential has no level-r threshold at κ ≤ 0, where every level is RS (docs/theory.md#potentials)
        raise ConvergenceError(f"the engine of traced level-{level} solves is fitted to the threshold at the middle "
                               f"of kappa_range (kappa={kappa:g}), which failed ({err}); pass a kappa_range "
                               f"around the kappa of interest", err.diagnostics) from None
    return eng.fitted(start_params(middle, level)).widened()


def spec_for(kind: str, level: int, options: dict, kappa_range, start, potential: tuple = (),
             epsilon: float = 1.0) -> Spec:
    """The :class:`Spec` of a traced solve of ``potential`` (a key; the count when empty) and, for a threshold,
    the level set ``e_r = epsilon``; validates the static arguments (before anything is traced).

    Raises:
        TypeError, ValueError: ``kappa_range`` not two finite numbers ``lo < hi``, an invalid
            start or invalid engine options.
    """
    try:
        lo, hi = (float(v) for v in kappa_range)
    except (TypeError, ValueError):
        raise TypeError(f"kappa_range must be two numbers (lo, hi), got {kappa_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"kappa_range must be finite with lo < hi, got {kappa_range!r}")
    options = tuple(sorted(options.items()))
    epsilon = float(epsilon) if kind == "threshold" else 1.0
    engine = traced_engine(level, options, (lo, hi), potential, epsilon)
    if start is not None:
        p = start_params(start, level)
        start = (float(p.chi), tuple(map(float, p.q)), tuple(map(float, p.x)))
    return Spec(kind, level, engine, options, (lo, hi), start, potential, epsilon)


# ---------------------------------------------------------------------------------------------
# the host side

def _anchor(spec: Spec, alphas: np.ndarray, kappas: np.ndarray):
    """A verified solution to start the batch from: ``spec.start``, else a single solve at the
    middle element (then its neighbours, :data:`ANCHOR_TRIES` in all); ``None`` if all fail."""
    if spec.start is not None:
        return start_params(spec.start, spec.level)
    mid = len(kappas) // 2
    order = sorted(range(len(kappas)), key=lambda i: (abs(i - mid), i))[:ANCHOR_TRIES]
    opts = dict(spec.options, potential=host_potential(spec.potential))
    for i in order:
        try:
            if spec.kind == "threshold":
                res = host_threshold(spec.level, kappa=float(kappas[i]), epsilon=spec.epsilon, **opts)
            else:
                res = host_energy(float(alphas[i]), spec.level, kappa=float(kappas[i]), **opts)
        except ConvergenceError:
            continue
        return start_params(res, spec.level)
    return None


def _host_solve(spec: Spec, alphas, kappas):
    """The callback: ``(u*, status, diagnostics)`` for every element of the (broadcast) batch."""
    alphas, kappas = np.broadcast_arrays(np.asarray(alphas, np.float64), np.asarray(kappas, np.float64))
    shape, a, k = kappas.shape, alphas.ravel(), kappas.ravel()
    n = k.size
    u = np.full((n, spec.dim), np.nan)
    status = np.full(n, float(Status.INVALID_INPUT))
    diag = np.full((n, len(DIAGNOSTICS)), np.nan)
    valid = np.isfinite(k) & ((spec.kind == "threshold") | (np.isfinite(a) & (a > 0)))
    lo, hi = spec.kappa_range
    inside = valid & (k >= lo) & (k <= hi)
    status[valid & ~inside] = Status.OUT_OF_RANGE
    idx = np.flatnonzero(inside)
    if idx.size:
        t0 = time.perf_counter()
        start = _anchor(spec, a[idx], k[idx])
        if start is None:
            status[idx] = Status.NO_SOLUTION
        else:
            plan = Plan(spec.level, spec.engine, start, spec.kind, spec.epsilon)
            # padded to a power of two: batches of similar sizes share one compiled program; the autodiff
            # Hessians run faster and compile slower: for batches of a sweep's size
            res = solve_batch(plan, k[idx], alphas=a[idx] if spec.kind == "energy" else None,
                              newton_iters=NEWTON_ITERS[spec.kind], size=1 << max(2, (idx.size - 1).bit_length()),
                              hessian="autodiff" if idx.size >= AUTO_COARSE_FROM else "difference")
            u[idx] = to_unconstrained((res.params["chi"], res.params["q"], res.params["x"]))
            status[idx] = res.status
            d = res.diagnostics
            diag[idx] = np.stack([d.grad_norm, d.hessian_max_eig, d.quad_error, d.newton_steps,
                                  np.full(idx.size, (time.perf_counter() - t0) / idx.size)], axis=-1)
    u[status != 0] = np.nan
    return u.reshape(shape + (spec.dim,)), status.reshape(shape), diag.reshape(shape + (len(DIAGNOSTICS),))


# ---------------------------------------------------------------------------------------------
# the JAX side

def _phi(spec: Spec, u, alpha, kappa):
    """The objective the solve minimises: ``log A`` (threshold) or ``−E_r(α)`` (energy)."""
    return OBJECTIVES[spec.kind](u, alpha, kappa, spec.engine)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def optimum(spec: Spec, alpha, kappa):
    """``(u*, status, diagnostics)`` from the host (module docstring); ``u*`` differentiable
    by the implicit function theorem (:func:`implicit_tangent`), the rest constant."""
    f64 = jnp.float64
    shapes = (jax.ShapeDtypeStruct((spec.dim,), f64), jax.ShapeDtypeStruct((), f64),
              jax.ShapeDtypeStruct((len(DIAGNOSTICS),), f64))
    return jax.pure_callback(functools.partial(_host_solve, spec), shapes, alpha, kappa, vmap_method="broadcast_all")


def _central(spec: Spec, u, alpha, kappa, du, dalpha, dkappa):
    """``(∇_u φ(u + du_i, α + dα_i, κ + dκ_i) − ∇_u φ(u − du_i, …)) / (2h)`` for every row ``i``: central
    differences of exact gradients, one vmapped reverse pass (``h`` = :data:`~jaxcap._src.solver.HESSIAN_STEP`,
    as the single solve's Newton: error about 1e−10, and it compiles in half the time of a
    forward-over-reverse Hessian).  Written in JAX operations, so it is differentiated again for
    higher orders."""
    m = du.shape[0]
    grads = jax.vmap(jax.grad(_phi, argnums=1), in_axes=(None, 0, 0, 0))(
        spec, jnp.concatenate([u + du, u - du]), alpha + jnp.concatenate([dalpha, -dalpha]),
        kappa + jnp.concatenate([dkappa, -dkappa]))
    return (grads[:m] - grads[m:]) / (2.0 * HESSIAN_STEP)


def _hessian(spec: Spec, u, alpha, kappa):
    """``H = ∇²_u φ(u)`` (:func:`_central`, symmetrised)."""
    n = u.shape[0]
    hess = _central(spec, u, alpha, kappa, HESSIAN_STEP * jnp.eye(n, dtype=u.dtype), jnp.zeros(n), jnp.zeros(n))
    return 0.5 * (hess + hess.T)


@jit(static_argnums=0)
def implicit_tangent(spec: Spec, u, alpha, kappa, dalpha, dkappa):
    """``du* = −H⁻¹ (∂²φ/∂u∂α dα + ∂²φ/∂u∂κ dκ)``, ``H = ∇²_u φ(u*)``: the tangent of the
    maximiser, from ``∇_u φ(u*(α, κ), α, κ) = 0`` (:func:`_central`).

    The solve is a ``jax.lax.custom_linear_solve`` that builds ``H`` itself: linear in the
    tangents, it lands on the tangent side of a linearization, so a reverse pass that does not
    need ``du*`` (``jax.grad`` of ``alpha`` alone, outside ``jax.jit`` too) never computes ``H``.
    """
    h = HESSIAN_STEP
    mixed = _central(spec, u, alpha, kappa, jnp.zeros((2, u.shape[0]), u.dtype), jnp.array([h, 0.0]),
                     jnp.array([0.0, h]))
    rhs = mixed[0] * dalpha + mixed[1] * dkappa
    hessian = lambda: _hessian(spec, u, alpha, kappa)  # noqa: E731
    return -jax.lax.custom_linear_solve(lambda v: hessian() @ v, rhs,
                                        lambda _, b: jnp.linalg.solve(hessian(), b), symmetric=True)


@optimum.defjvp
def _optimum_jvp(spec, primals, tangents):
    alpha, kappa = primals
    u, status, diag = optimum(spec, alpha, kappa)
    du = implicit_tangent(spec, u, alpha, kappa, *tangents)
    return (u, status, diag), (du, jnp.zeros_like(status), jnp.zeros_like(diag))


@jit(static_argnums=0)
def _value_and_partials(spec: Spec, u, alpha, kappa):
    """``φ(u, α, κ)`` and ``(∂φ/∂α, ∂φ/∂κ)`` at fixed ``u``."""
    return jax.value_and_grad(_phi, argnums=(2, 3))(spec, u, alpha, kappa)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def objective_at(spec: Spec, u, alpha, kappa):
    """``φ(u*, α, κ)`` at the optimum ``u*``: its tangent is the envelope theorem's (``∇_u φ = 0``,
    so the tangent of ``u*`` drops out at first order)."""
    return _phi(spec, u, alpha, kappa)


@objective_at.defjvp
def _objective_at_jvp(spec, primals, tangents):
    u, alpha, kappa = primals
    _, dalpha, dkappa = tangents
    value, (phi_alpha, phi_kappa) = _value_and_partials(spec, u, alpha, kappa)
    return value, phi_alpha * dalpha + phi_kappa * dkappa


@jit(static_argnums=0)
def _traced_arrays(spec: Spec, alpha, kappa):
    u, status, diag = optimum(spec, alpha, kappa)
    phi = objective_at(spec, u, alpha, kappa)
    _, (phi_alpha, phi_kappa) = _value_and_partials(spec, u, alpha, kappa)
    params = from_unconstrained(u)
    out = {"u": u, "status": status, "diag": diag, "params": params}
    if spec.kind == "threshold":
        alpha_r = jnp.exp(phi)
        out.update(alpha=alpha_r, energy=energy_functional(alpha_r, params, kappa, spec.engine),
                   dalpha_dkappa=alpha_r * phi_kappa)
    else:
        out.update(alpha=alpha, energy=-phi, denergy_dalpha=-phi_alpha, denergy_dkappa=-phi_kappa)
    return out


def _diagnostics(diag, info: dict) -> Diagnostics:
    """:class:`Diagnostics` from the callback's :data:`DIAGNOSTICS` columns (constants under differentiation)."""
    cols = dict(zip(DIAGNOSTICS, (jax.lax.stop_gradient(diag[..., i]) for i in range(len(DIAGNOSTICS)))))
    cols["newton_steps"] = jnp.nan_to_num(cols["newton_steps"]).astype(jnp.int32)
    return Diagnostics(**cols, starts_tried=1, quad_nodes=info.get("nodes", 0), engine=info["engine"],
                       grid_spacing=info.get("spacing"))


def traced_solve(kind: str, level: int, alpha, kappa, options: dict, kappa_range=DEFAULT_KAPPA_RANGE,
                 start=None, potential: tuple = (), epsilon: float = 1.0) -> Result:
    """A :class:`~jaxcap._src.result.Result` whose leaves are JAX values (for traced ``alpha``, ``kappa``),
    of ``potential`` (a key; the count when empty) and, for a threshold, the level set ``e_r = epsilon``.

    ``alpha``, ``energy``, ``params`` and the envelope derivatives are differentiable to
    any order; ``status`` and ``diagnostics`` are constants.  A failed element has NaN
    values and ``converged`` false.
    """
    spec = spec_for(kind, level, options, kappa_range, start, potential, epsilon)
    # a threshold's objective takes its fixed number ε − 1 where an energy's takes α (jaxcap._src.solver)
    alpha = jnp.asarray(spec.epsilon - 1.0 if alpha is None else alpha, jnp.float64)
    out = _traced_arrays(spec, alpha, jnp.asarray(kappa, jnp.float64))
    info = spec.engine.describe()
    return Result(
        alpha=out["alpha"], energy=out["energy"], kappa=kappa, params=out["params"],
        diagnostics=_diagnostics(out["diag"], info),
        dalpha_dkappa=out.get("dalpha_dkappa"), denergy_dalpha=out.get("denergy_dalpha"),
        denergy_dkappa=out.get("denergy_dkappa"), status=jax.lax.stop_gradient(out["status"]).astype(jnp.int32),
        level=level, kind=kind, potential=spec.potential)


# ---------------------------------------------------------------------------------------------
# the zero-energy line

class SatSpec(NamedTuple):
    """Everything static about a traced zero-energy solve (hashable)."""

    level: int
    options: tuple          # sorted (name, value) pairs: engine, nodes, spacing


def sat_spec(level: int, options: dict) -> SatSpec:
    """The :class:`SatSpec` of a traced :func:`jaxcap.sat`; validates the options before anything is traced.

    Raises:
        TypeError, ValueError: invalid engine options.
    """
    unknown = set(options) - {"engine", "nodes", "spacing"}
    if unknown:
        raise TypeError(f"unexpected options: {', '.join(sorted(unknown))}")
    if level >= 1:  # builds (and so checks) the level's hinge engine
        make_engine(level, options.get("engine"), options.get("nodes"), options.get("spacing"), 1.0, leaf="hinge")
    return SatSpec(level, tuple(sorted(options.items())))


def _host_sat(spec: SatSpec, kappas):
    """The callback of :func:`sat_line`: ``(α, dα/dκ, energy, q, y, status, diagnostics)`` for every
    element, by one curve over the batch sorted by ``κ`` (:func:`jaxcap._src.zero_energy.sat_curve`: chunks
    of neighbouring ``κ`` in one vmapped Newton program per level).
    An element that fails comes back NaN with its status."""
    kappas = np.asarray(kappas, np.float64)
    shape, k = kappas.shape, kappas.ravel()
    n, r = k.size, spec.level
    scalars = np.full((3, n), np.nan)                     # alpha, slope, energy
    q, y = np.full((n, r), np.nan), np.full((n, r), np.nan)
    status = np.full(n, float(Status.INVALID_INPUT))
    diag = np.full((n, len(DIAGNOSTICS)), np.nan)
    ok = np.zeros(n, bool)
    for i in np.flatnonzero(np.isfinite(k)):
        try:
            gardner(float(k[i]))                          # beyond float64 (about kappa = 38): invalid input
            ok[i] = True
        except ValueError:
            pass
    order = np.flatnonzero(ok)[np.argsort(k[ok], kind="stable")]
    rows = sat_curve(k[order], r, keep_going=True, **dict(spec.options)) if order.size else []
    for i, row in zip(order, rows):
        if isinstance(row, ConvergenceError):
            status[i] = Status.NO_SOLUTION
            continue
        res = row[-1]
        scalars[:, i] = res.alpha, res.dalpha_dkappa, res.energy
        if len(res.params["q"]) == r:                     # empty where kappa <= 0 (no level-r minimiser)
            q[i], y[i] = res.params["q"], res.params["y"]
        status[i] = 0
        d = res.diagnostics
        diag[i] = d.grad_norm, d.hessian_max_eig, d.quad_error, d.newton_steps, d.seconds
    return (*(v.reshape(shape) for v in scalars), q.reshape(shape + (r,)), y.reshape(shape + (r,)),
            status.reshape(shape), diag.reshape(shape + (len(DIAGNOSTICS),)))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def sat_line(spec: SatSpec, kappa):
    """``(α_sat,r, dα_sat,r/dκ, energy, q, y, status, diagnostics)`` at ``κ`` from the host
    (:func:`_host_sat`, ``vmap_method="broadcast_all"``: a batch reaches the host in one call).

    Its tangent (``docs/theory.md#zero-energy``): ``dα = (dα_sat,r/dκ) dκ`` (envelope theorem)
    and ``d(dα/dκ) = (d²α_sat,r/dκ²) dκ`` from :func:`sat_curvature`, which runs only where that
    tangent is used; the tangents of ``energy``, ``q`` and ``y`` are NaN (not computed), those
    of ``status`` and the diagnostics 0.  So ``α`` has first and second derivatives; a third
    is NaN, never a wrong number.
    """
    f64, r = jnp.float64, spec.level
    scalar = jax.ShapeDtypeStruct((), f64)
    shapes = (scalar, scalar, scalar, jax.ShapeDtypeStruct((r,), f64), jax.ShapeDtypeStruct((r,), f64), scalar,
              jax.ShapeDtypeStruct((len(DIAGNOSTICS),), f64))
    return jax.pure_callback(functools.partial(_host_sat, spec), shapes, kappa, vmap_method="broadcast_all")


def _host_curvature(spec: SatSpec, kappas, qs, ys, status):
    """The callback of :func:`sat_curvature`: ``d²α_sat,r/dκ²`` per element (NaN where the solve failed)."""
    kappas, status = np.asarray(kappas, np.float64), np.asarray(status)
    shape, r = kappas.shape, spec.level
    qs, ys = np.asarray(qs, np.float64).reshape(-1, r), np.asarray(ys, np.float64).reshape(-1, r)
    out = np.full(kappas.size, np.nan)
    for i, (k, st) in enumerate(zip(kappas.ravel(), status.ravel())):
        if st == 0:
            kept = qs[i] if np.all(np.isfinite(qs[i])) else []     # NaN where kappa <= 0: level 0
            out[i] = curvature(r, float(k), kept, ys[i][:len(kept)], **dict(spec.options))
    return out.reshape(shape)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def sat_curvature(spec: SatSpec, kappa, q, y, status):
    """``d²α_sat,r/dκ²`` at the points of :func:`sat_line` (:func:`jaxcap._src.zero_energy.curvature` on the host);
    its own tangent is NaN (a third derivative is not computed)."""
    return jax.pure_callback(functools.partial(_host_curvature, spec), jax.ShapeDtypeStruct(jnp.shape(kappa), jnp.float64),
                             kappa, q, y, status, vmap_method="broadcast_all")


@sat_curvature.defjvp
def _sat_curvature_jvp(spec, primals, tangents):
    value = sat_curvature(spec, *primals)
    return value, jnp.full_like(value, jnp.nan) * tangents[0]


@sat_line.defjvp
def _sat_line_jvp(spec, primals, tangents):
    (kappa,), (dkappa,) = primals, tangents
    out = sat_line(spec, kappa)
    alpha, slope, energy, q, y, status, diag = out
    unknown = lambda v: jnp.full_like(v, jnp.nan) * dkappa  # noqa: E731  linear in dkappa
    # d(slope) = curvature * dkappa, the curvature computed inside the linear solve: only where the
    # tangent is needed (as :func:`implicit_tangent`'s Hessian)
    second = lambda: sat_curvature(spec, kappa, q, y, status)  # noqa: E731
    dslope = jax.lax.custom_linear_solve(lambda v: v / second(), dkappa, lambda _, b: b * second(), symmetric=True)
    return out, (slope * dkappa, dslope, unknown(energy), unknown(q), unknown(y),
                 jnp.zeros_like(status), jnp.zeros_like(diag))


def traced_sat(level: int, kappa, options: dict) -> Result:
    """:func:`jaxcap.sat` for a traced ``κ``: a :class:`~jaxcap._src.result.Result` (``kind="sat"``) of JAX values
    from :func:`sat_line`; a failed element has NaN values and ``converged`` false."""
    spec = sat_spec(level, options)
    alpha, slope, energy, q, y, status, diag = sat_line(spec, jnp.asarray(kappa, jnp.float64))
    name = dict(spec.options).get("engine") or "grid"
    return Result(alpha=alpha, energy=energy, kappa=kappa, params=Params(jnp.ones_like(alpha), q, y),
                  diagnostics=_diagnostics(diag, {"engine": name if level else "closed form"}),
                  dalpha_dkappa=slope, status=jax.lax.stop_gradient(status).astype(jnp.int32), level=level, kind="sat")
