"""Maximise the level-r functional: ascent, Newton polish, measurements (``docs/theory.md#solver``).

Everything here minimises a scalar objective ``φ(u)`` of the unconstrained
coordinates of :mod:`jaxcap._src.params`:

* ``−E_r(α; θ(u))`` for the energy at fixed ``α``;
* ``log A(θ(u))`` with ``A = (1 − S)/(−G)`` for the threshold.  Since ``E_r`` is
  linear in ``α`` (``E_r = S − αG``, ``G < 0``), ``max_θ E_r(α, θ) ≥ 1`` iff
  ``α ≥ A(θ)`` for some ``θ``: the threshold is ``α_r = min_θ A(θ)``, attained at
  the maximiser of ``E_r(α_r, ·)``.  Minimising ``A`` needs no guess of ``α``,
  and Newton on ``log A`` lands on ``α_r`` and ``θ*`` together (no separate
  Newton in ``α``).  The level set ``e_r = ε`` is the same with ``ε − S`` in place
  of ``1 − S``; the objective's fixed number (``alpha`` below) is then ``ε − 1``
  (0: ``e_r = 1``);
* ``log(S/G)`` on the zero-energy line (``docs/theory.md#zero-energy``): ``χ``
  scaled out, ``u`` the reduced coordinates of ``(q, y)``
  (:func:`jaxcap._src.params.from_reduced`), ``S`` at ``χ = 1`` and ``G`` from an engine
  with the hinge leaf.  ``α_sat,r = min S/G`` is the same construction with the
  numerator ``N = −S`` in place of ``1 − S``: at the minimiser the reduced energy
  ``S − α_sat G`` is 0 and maximal.

The stages are pure jitted functions: :func:`ascend` (L-BFGS from a batch
of starts, ``vmap``-ed, inside one ``lax.while_loop``; a start that converges
or stalls stops), :func:`polish` (saddle-free Newton on Hessians from central
differences of autodiff gradients, Levenberg–Marquardt damped, in a
``lax.while_loop``, then everything the verification needs at the returned
point, in the same compiled program, returned as one vector) and
:func:`solve_closed_form` (level 0: all of it in one program).  Each loop has
a single evaluation site, so each compiled program holds one copy of the
objective: compilation, not arithmetic, dominates a cold solve on a CPU.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .compilation import jit
from .functional import energy_functional, outer_mean, reduced_sphere_term, sphere_term
from .params import flat, from_reduced, from_unconstrained

__all__ = ["neg_energy", "log_threshold_ratio", "log_zero_energy_ratio", "ascend", "value_grad_hessian",
           "value_grad_hessian_autodiff", "lbfgs", "newton_in_u", "measure", "pack", "unpack",
           "polish", "polish_many", "solve_closed_form", "Functional", "FUNCTIONALS", "OBJECTIVES", "MEASURED", "STALL_EVALUATIONS"]

#: An ascent start whose objective has not decreased for this many evaluations is stalled
#: (two failed line searches and then some).
STALL_EVALUATIONS = 40
#: Central-difference step (in the unconstrained coordinates) of the Newton Hessian.
HESSIAN_STEP = 3e-5


def neg_energy(u, alpha, kappa, engine):
    """``−E_r(α; θ(u))``."""
    return -energy_functional(alpha, from_unconstrained(u), kappa, engine)


def log_threshold_ratio(u, alpha, kappa, engine):
    """``log A(θ(u)) = log(ε − S) − log(−G)`` with ``alpha = ε − 1`` (module docstring; 0 for the
    threshold, ``e_r = 1``), as ``log1p(alpha − S)``."""
    params = from_unconstrained(u)
    return jnp.log1p(alpha - sphere_term(params)) - jnp.log(-outer_mean(params, kappa, engine))


def log_zero_energy_ratio(u, alpha, kappa, engine):
    """``log(A/(−2G)) = log(S/G)`` at ``(1, q, y) = from_reduced(u)`` (``A``:
    :func:`~jaxcap._src.functional.reduced_sphere_term`); ``engine`` has the hinge leaf, ``alpha`` is unused."""
    del alpha
    params = from_reduced(u)
    return jnp.log(reduced_sphere_term(params)) - jnp.log(-2.0 * outer_mean(params, kappa, engine))


class Functional(NamedTuple):
    """What the solver's stages need of an objective ``φ(u)`` (one record per objective, no branches):
    the function, its coordinates ``u ↦ θ``, and for a ratio ``φ = log(N/(−G))`` the level set's
    numerator ``N(S, fixed)`` of the sphere term and the objective's fixed number (``None``:
    ``φ = −E_r`` at a fixed ``α``)."""

    phi: Callable
    coordinates: Callable
    numerator: Callable | None
    #: Whether ``θ`` has no ``χ`` (the zero-energy line's reduced coordinates ``(q, y)``).
    chi_free: bool


#: The solver's objectives by name (the static argument of its compiled programs).
FUNCTIONALS = {
    "energy": Functional(neg_energy, from_unconstrained, None, False),
    "threshold": Functional(log_threshold_ratio, from_unconstrained, lambda sphere, excess: 1.0 + excess - sphere,
                            False),
    "zero_energy": Functional(log_zero_energy_ratio, from_reduced, lambda sphere, _: -sphere, True),
}
OBJECTIVES = {name: f.phi for name, f in FUNCTIONALS.items()}


def coordinates(objective):
    """``u ↦ θ`` of ``objective``: :func:`~jaxcap._src.params.from_reduced` on the zero-energy line (no ``χ``),
    else :func:`~jaxcap._src.params.from_unconstrained`."""
    return FUNCTIONALS[objective].coordinates


class _Search(NamedTuple):
    """L-BFGS state between objective evaluations (one evaluation per loop iteration)."""

    u: jax.Array          # accepted point
    value: jax.Array      # φ(u)
    grad: jax.Array       # ∇φ(u)
    direction: jax.Array  # search direction from u
    t: jax.Array          # trial step length along it
    memory: optax.OptState  # optax.scale_by_lbfgs state (differences of accepted points and gradients)
    evals: jax.Array
    idle: jax.Array       # evaluations since φ last went below its best


def lbfgs(fun, u0, maxiter, tol, stall=STALL_EVALUATIONS, memory=10):
    """Minimise ``fun`` from ``u0`` by L-BFGS with a backtracking (Armijo) line search.

    The direction is ``optax.scale_by_lbfgs``'s (two-loop recursion over the
    last ``memory`` accepted steps); this loop adds what optax's own solver
    does not: each iteration evaluates ``(φ, ∇φ)`` once, at the trial point
    ``u + t·d`` — accepted (sufficient decrease) it becomes the new point and
    feeds the memory, otherwise ``t`` halves — so the compiled program holds a
    single copy of the objective; and a per-start stop.  Stops when
    ``‖∇‖ ≤ tol``, after ``maxiter`` evaluations, or when ``φ`` has not gone
    below its best value for ``stall`` evaluations in a row (a start stuck at
    rounding level or crawling along a saddle: the Newton polish and the
    verification decide what it is worth).  Under ``vmap`` each start stops on
    its own test, so the batch ends when every start has converged or stalled.
    Returns ``(u, φ(u), ‖∇φ(u)‖, evaluations)``.
    """
    import optax  # loads only where an ascent is traced

    directions = optax.scale_by_lbfgs(memory_size=memory)
    inf = jnp.asarray(jnp.inf, u0.dtype)
    init = _Search(u0, inf, jnp.zeros_like(u0), jnp.zeros_like(u0), jnp.asarray(1.0, u0.dtype), directions.init(u0),
                   jnp.asarray(0), jnp.asarray(0))

    def cond(st):
        return ((st.evals < maxiter) & ((st.evals == 0) | (jnp.linalg.norm(st.grad) > tol))
                & (st.idle < stall))

    def body(st):
        trial = st.u + st.t * st.direction
        value, grad = jax.value_and_grad(fun)(trial)
        armijo_ok = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad)) & (
            value <= st.value + 1e-4 * st.t * (st.grad @ st.direction))
        u = jnp.where(armijo_ok, trial, st.u)
        value = jnp.where(armijo_ok, value, st.value)
        grad = jnp.where(armijo_ok, grad, st.grad)
        # a failed line search forgets the memory and starts again from steepest descent
        lost = ~armijo_ok & (st.t < 2.0 ** -15)
        where = lambda c, a, b: jax.tree.map(lambda x, y: jnp.where(c, x, y), a, b)
        memory = where(lost | (st.evals == 0), directions.init(u), st.memory)
        scaled, updated = directions.update(grad, memory, u)
        # a memory holding a pair of negative curvature can point uphill: drop it
        uphill = ~(scaled @ grad > 0.0)
        updated = where(uphill, directions.init(u), updated)
        # with no memory the step is the gradient, shortened to length one at most
        steepest = uphill | lost | (st.evals == 0)
        scaled = jnp.where(steepest, grad / jnp.maximum(1.0, jnp.linalg.norm(grad)), scaled)
        move = armijo_ok | lost
        memory = where(move, updated, memory)
        direction = jnp.where(move, -scaled, st.direction)
        t = jnp.where(move, 1.0, 0.5 * st.t)
        idle = jnp.where(armijo_ok & (value < st.value), 0, st.idle + 1)
        return _Search(u, value, grad, direction, t, memory, st.evals + 1, idle)

    st = jax.lax.while_loop(cond, body, init)
    return st.u, st.value, jnp.linalg.norm(st.grad), st.evals


@jit(static_argnames=("objective", "engine", "maxiter", "stall"))
def ascend(u0s, alpha, kappa, *, objective, engine, maxiter=400, tol=1e-6, stall=STALL_EVALUATIONS):
    """L-BFGS from each row of ``u0s`` (vmapped); returns ``(u, value, grad_norm, evaluations)`` per start."""
    fun = OBJECTIVES[objective]

    def one(u0):
        return lbfgs(lambda u: fun(u, alpha, kappa, engine), u0, maxiter, tol, stall)

    return jax.vmap(one)(u0s)


def value_grad_hessian(phi, u, kappa, step=HESSIAN_STEP):
    """``(φ, ∇_u φ, ∇²_u φ, ∂φ/∂κ)`` of ``φ(u, κ)``: exact gradients, Hessian by central differences of them.

    One vmapped reverse pass gives the AD gradients at ``u`` and at ``u ± h e_i``;
    ``∇²φ ≈ (∇φ(u + h e_i) − ∇φ(u − h e_i)) / 2h``, symmetrised, with error
    ``O(h² |∇⁴φ|) + O(ε_mach |∇φ| / h)`` (about 1e−11 at ``h = 3e−5`` on
    coordinates of order one; checked against the autodiff Hessian in the
    tests).  The compiled program holds one reverse pass, not the
    forward-over-reverse of an autodiff Hessian (half the compile time, and
    no batched ``lax.conv`` transposes).  The gradient, which the verification
    bounds, is exact.
    """
    n = u.shape[0]
    shifts = step * jnp.eye(n, dtype=u.dtype)
    points = jnp.concatenate([u[None], u + shifts, u - shifts])
    values, (grads, dks) = jax.vmap(jax.value_and_grad(phi, argnums=(0, 1)), in_axes=(0, None))(points, kappa)
    hess = (grads[1:n + 1] - grads[n + 1:]) / (2.0 * step)
    return values[0], grads[0], 0.5 * (hess + hess.T), dks[0]


def value_grad_hessian_autodiff(phi, u, kappa):
    """:func:`value_grad_hessian` with the autodiff Hessian (forward over reverse).

    Two to three times cheaper to run than the central differences from level 1
    to level 7, and two to three times dearer to compile: the batched sweep,
    which compiles once for hundreds of solves, uses it; the single solves do not.
    """
    value, (grad, dk) = jax.value_and_grad(phi, argnums=(0, 1))(u, kappa)
    return value, grad, jax.hessian(phi)(u, kappa), dk


def damped_step(grad, lam, vec, mu):
    """``s = −V (|Λ| + μ)⁻¹ Vᵀ ∇φ`` and the decrease ``−(∇φ·s + ½ sᵀ|H|s)`` the model predicts for it.

    ``|H| = V |Λ| Vᵀ`` is the saddle-free Hessian (eigenvalues floored at
    ``1e−10 max|λ|``), so ``s`` is always downhill; ``μ ≥ 0`` is the
    Levenberg–Marquardt damping: it shortens the step along the flat
    directions first and leaves the stiff ones nearly Newton.
    """
    a = jnp.abs(lam)
    a = jnp.maximum(a, 1e-10 * jnp.max(a))
    gv = vec.T @ grad
    sv = -gv / (a + mu)
    return vec @ sv, -(gv @ sv + 0.5 * jnp.sum(a * sv * sv))


#: Damping after a rejected trial step, relative to the largest curvature, when it was undamped.
DAMPING_FLOOR = 1e-4


def newton_in_u(phi, u, kappa, steps, tol, derivatives=value_grad_hessian):
    """Saddle-free Newton on ``φ(·, κ)`` from ``u`` with Levenberg–Marquardt damping.

    Each loop iteration measures ``(φ, ∇φ, ∇²φ, ∂φ/∂κ)`` once, at the trial point
    ``u + s`` (``derivatives``: :func:`value_grad_hessian` or
    :func:`value_grad_hessian_autodiff`; one evaluation site, so one copy of the
    objective in the compiled program), ``s`` from :func:`damped_step` at the
    accepted point ``u``.  The trial is accepted when the actual decrease is at
    least a tenth of the predicted one (less a slack of ``1e−14 (1 + |φ|)``: near
    the optimum the decrease falls below the rounding of ``φ``); the damping
    ``μ`` then shrinks eightfold after a good prediction, and grows fourfold
    (from at least ``1e−4 max|λ|``) after a rejection.  The level-``r``
    functional is stiff: in ``u`` its Hessian spans six decades at level 7,
    the flattest direction being the innermost overlap, where the quadratic
    model is poor far from the optimum.  Damping shortens only those
    directions, where a line search would shorten the whole step.

    Stops after ``steps`` measurements, when ``‖∇φ‖ ≤ tol``, when the damping
    exceeds ``1e3 max|λ|`` (rounding stops progress), or when the gradient has
    not halved twice running once it is below ``1e−9``.  Returns
    ``(u, φ, ∇φ, ∇²φ, ∂φ/∂κ, measurements)`` at the accepted point with the
    smallest gradient.
    """
    def cond(carry):
        k, done = carry[0], carry[1]
        return (k < steps) & ~done

    def body(carry):
        k, _, u, current, step, predicted, mu, stalled, best = carry
        trial = u + step
        value, grad, hess, dk = derivatives(phi, trial, kappa)
        gnorm = jnp.linalg.norm(grad)
        slack = 1e-14 * (1.0 + jnp.abs(current[0]))
        accept = (k == 0) | (jnp.isfinite(value) & jnp.all(jnp.isfinite(grad))
                             & (value <= current[0] - 0.1 * predicted + slack))
        good = (k == 0) | (value <= current[0] - 0.75 * predicted)
        stalled = jnp.where(accept, jnp.where(gnorm < 0.5 * best[-1], 0, stalled + 1), stalled)
        better = accept & (gnorm < best[-1])
        best = jax.tree.map(lambda new, old: jnp.where(better, new, old),
                            (trial, value, grad, hess, dk, gnorm), best)
        lam, vec = jnp.linalg.eigh(hess)
        u = jnp.where(accept, trial, u)
        current = jax.tree.map(lambda new, old: jnp.where(accept, new, old), (value, grad, lam, vec), current)
        top = jnp.max(jnp.abs(current[2]))
        mu = jnp.where(accept, jnp.where(good, mu / 8.0, mu), jnp.maximum(4.0 * mu, DAMPING_FLOOR * top))
        step, predicted = damped_step(current[1], current[2], current[3], mu)
        done = jnp.where(accept, (gnorm <= tol) | ((stalled >= 2) & (gnorm < 1e-9)) | ~jnp.isfinite(gnorm)
                         | jnp.all(step == 0), mu > 1e3 * top)
        return k + 1, done, u, current, step, predicted, mu, stalled, best

    n, inf = u.shape[0], jnp.asarray(jnp.inf, u.dtype)
    zeros, zero = jnp.zeros(n, u.dtype), jnp.zeros((), u.dtype)
    current = (inf, zeros, jnp.ones(n, u.dtype), jnp.eye(n, dtype=u.dtype))
    best = (u, inf, zeros, jnp.zeros((n, n), u.dtype), zero, inf)
    k, *_, best = jax.lax.while_loop(cond, body, (0, False, u, current, zeros, zero, zero, 0, best))
    return (*best[:-1], k)


def outer_mean_from_objective(objective, value, dphi_dkappa, sphere, alpha):
    """``(G, ∂G/∂κ)`` from ``φ`` and ``∂φ/∂κ`` (no further evaluation of the engine).

    Threshold: ``φ = log N − log(−G)`` (``N = 1 − S``; ``−S`` on the zero-energy line),
    so ``G = −N e^{−φ}`` and ``∂G/∂κ = −G ∂φ/∂κ``.  Energy: ``φ = αG − S``, so
    ``G = (φ + S)/α`` and ``∂G/∂κ = (∂φ/∂κ)/α``.
    """
    numerator = FUNCTIONALS[objective].numerator
    if numerator is not None:
        g = -numerator(sphere, alpha) * jnp.exp(-value)
        return g, -g * dphi_dkappa
    return (value + sphere) / alpha, dphi_dkappa / alpha


def energy_derivatives(objective, value, grad, hess, sphere, sphere_grad, fixed=0.0):
    """``∇_u E`` and ``∇²_u E`` (at ``α`` of the solution) from ``φ``'s derivatives.

    Energy: ``φ = −E``.  Threshold: ``φ = log A`` with ``N = 1 − S = A·(−G)``;
    ``E(α, ·) = S − αG`` at ``α = A(θ)`` has ``∇E = −N∇φ`` and
    ``∇²E = −N(∇²φ + ∇φ∇φᵀ) + A(∇φ ∇Gᵀ + ∇G ∇φᵀ)``, where
    ``∇G = −G(∇φ + ∇S/N)`` follows from ``∇ log A = −∇S/N − ∇G/G`` (``docs/theory.md#threshold``).
    Both identities hold at any ``θ`` (not only at the optimum), and on the
    zero-energy line with ``N = −S`` (``φ = log(S/G)``, ``E = S − αG``), and at a level set ``ε``
    with ``N = ε − S`` (``fixed``: the objective's fixed number, ``ε − 1``).
    """
    numerator = FUNCTIONALS[objective].numerator
    if numerator is None:
        return -grad, -hess
    n = numerator(sphere, fixed)
    a = jnp.exp(value)
    g = -n / a
    grad_g = -g * (grad + sphere_grad / n)
    cross = jnp.outer(grad, grad_g)
    return -n * grad, -n * (hess + jnp.outer(grad, grad)) + a * (cross + cross.T)


def natural_stationarity(u, grad_e, hess_e, objective="threshold"):
    """Gradient norm and largest Hessian eigenvalue of ``E_r`` in ``(χ, q, x)`` (``(q, y)`` on the
    zero-energy line).

    With ``J = ∂θ/∂u``: ``∇_θ E = J^{−T} ∇_u E`` and, at a stationary point (where
    the curvature of the coordinate map drops out), ``∇²_θ E = J^{−T} ∇²_u E J^{−1}``.
    """
    chi_free = FUNCTIONALS[objective].chi_free
    jinv = jnp.linalg.inv(jax.jacfwd(lambda v: flat(coordinates(objective)(v))[int(chi_free):])(u))
    g = jinv.T @ grad_e
    h = jinv.T @ hess_e @ jinv
    return jnp.linalg.norm(g), jnp.max(jnp.linalg.eigvalsh(0.5 * (h + h.T)))


def measure(objective, u, value, grad, hess, alpha, kappa, engine, refined, dphi_dkappa=None):
    """Everything the verification and the result need at the polished point ``u``.

    ``alpha`` is the objective's fixed number (``α`` of the energy, ``ε − 1`` of a level set).
    ``α`` (``A(θ)`` for a threshold), ``E``, ``G``, ``∂G/∂κ`` (for the envelope
    derivatives; from ``dphi_dkappa`` when given, else by a JVP), ``G`` on the
    ``refined`` engine (quadrature-error estimate, ``docs/theory.md#engines``; equal to ``G`` when
    ``refined`` is ``None``) and the natural stationarity of ``E(α, ·)``.
    On the zero-energy line ``u`` is returned with ``u_0 = 0`` prepended (``χ = 1``), so that
    every objective packs alike (:data:`MEASURED`).
    """
    theta = coordinates(objective)
    params = theta(u)
    sphere, sphere_grad = jax.value_and_grad(lambda v: sphere_term(theta(v)))(u)
    if dphi_dkappa is None:
        big_g, dg_dkappa = jax.jvp(lambda k: outer_mean(params, k, engine), (kappa,), (jnp.ones_like(kappa),))
    else:
        big_g, dg_dkappa = outer_mean_from_objective(objective, value, dphi_dkappa, sphere, alpha)
    numerator, fixed = FUNCTIONALS[objective].numerator, alpha
    if numerator is not None:
        alpha = numerator(sphere, fixed) / (-big_g)
    g_refined = big_g if refined is None else outer_mean(params, kappa, refined)
    grad_e, hess_e = energy_derivatives(objective, value, grad, hess, sphere, sphere_grad, fixed)
    grad_norm, lam_max = natural_stationarity(u, grad_e, hess_e, objective)
    if FUNCTIONALS[objective].chi_free:
        u = jnp.concatenate([jnp.zeros((1,), u.dtype), u])
    return dict(u=u, chi=params.chi, q=params.q, x=params.x, alpha=alpha, energy=sphere - alpha * big_g, g=big_g, dg_dkappa=dg_dkappa,
                g_refined=g_refined, grad_norm=grad_norm, hessian_max_eig=lam_max)


#: What :func:`measure` returns, in the order of :func:`pack` (sizes in terms of the level ``r``).
MEASURED = (("u", 2, 1), ("chi", 0, 1), ("q", 1, 0), ("x", 1, 0), ("alpha", 0, 1), ("energy", 0, 1), ("g", 0, 1),
            ("dg_dkappa", 0, 1), ("g_refined", 0, 1), ("grad_norm", 0, 1), ("hessian_max_eig", 0, 1),
            ("newton_steps", 0, 1))


def pack(measured: dict) -> jax.Array:
    """The :data:`MEASURED` entries as one float64 vector: one device-to-host transfer instead of twelve."""
    return jnp.concatenate([jnp.ravel(measured[name]).astype(jnp.float64) for name, _, _ in MEASURED])


def unpack(vector, level: int) -> dict:
    """Inverse of :func:`pack` on the host: NumPy arrays (``u``, ``q``, ``x``) and floats."""
    out, start = {}, 0
    for name, per_level, extra in MEASURED:
        size = per_level * level + extra
        piece = vector[start:start + size]
        out[name] = piece if name in ("u", "q", "x") else float(piece[0])
        start += size
    return out


def _polish(u, alpha, kappa, *, objective, engine, refined=None, steps=30, tol=1e-13):
    """Newton from ``u`` on ``engine`` (:func:`newton_in_u`), then :func:`measure` there, :func:`pack`-ed;
    one compiled program."""
    phi = lambda v, k: OBJECTIVES[objective](v, alpha, k, engine)
    u, value, grad, hess, dk, steps_taken = newton_in_u(phi, u, kappa, steps, tol)
    return pack(dict(measure(objective, u, value, grad, hess, alpha, kappa, engine, refined, dk),
                     newton_steps=steps_taken))


_POLISH_STATIC = ("objective", "engine", "refined", "steps")
polish = jit(_polish, static_argnames=_POLISH_STATIC, fast_compile=True)
polish.__doc__ = _polish.__doc__ + (
    "\nCompiled with :data:`~jaxcap._src.compilation.FAST_COMPILE`: compiling, not the Newton steps, dominates "
    "a polish from level 1 on (``docs/benchmarks.md#compilation``).")


@jit(static_argnames=("objective", "steps", "engine"))
def solve_closed_form(u0s, alpha, kappa, *, objective, steps=40, tol=1e-13, engine=None):
    """Level 0 in one program: Newton from every start (vmapped), the best one measured.

    The level-0 functional has the closed form :func:`~jaxcap._src.functional.rs_outer_mean`
    (of the count; of ``engine``'s potential when it has one, :func:`~jaxcap._src.functional.outer_mean`)
    and one parameter, so Newton from a handful of starts replaces the ascent.
    Returns the :func:`pack`-ed measurement.
    """
    phi = lambda v, k: OBJECTIVES[objective](v, alpha, k, engine)
    us, values, grads, hessians, dks, ks = jax.vmap(lambda u0: newton_in_u(phi, u0, kappa, steps, tol))(u0s)
    best = jnp.argmin(jnp.where(jnp.isfinite(values), values, jnp.inf))
    pick = lambda a: a[best]
    return pack(dict(measure(objective, pick(us), pick(values), pick(grads), pick(hessians), alpha, kappa, engine,
                             None, pick(dks)), newton_steps=pick(ks)))


@jit(static_argnames=_POLISH_STATIC, fast_compile=True)
def polish_many(us, alpha, kappas, *, objective, engine, refined=None, steps=30, tol=1e-13):
    """:func:`polish` from every row of ``us``, each at its own ``κ`` of ``kappas``, in one vmapped program
    (a batch of nearby points on one static engine): one :func:`pack`-ed measurement per row."""
    one = lambda u, k: _polish(u, alpha, k, objective=objective, engine=engine, refined=refined, steps=steps,  # noqa: E731
                               tol=tol)
    return jax.vmap(one)(us, kappas)
