"""Maximise the level-r functional: ascent, Newton polish, verification (DESIGN §4).

Everything here minimises a scalar objective ``φ(u)`` of the unconstrained
coordinates of :mod:`jaxcap.params`:

* ``−E_r(α; θ(u))`` for the energy at fixed ``α``;
* ``log A(θ(u))`` with ``A = (1 − S)/(−G)`` for the threshold.  Since ``E_r`` is
  linear in ``α`` (``E_r = S − αG``, ``G < 0``), ``max_θ E_r(α, θ) ≥ 1`` iff
  ``α ≥ A(θ)`` for some ``θ``: the threshold is ``α_r = min_θ A(θ)``, attained at
  the maximiser of ``E_r(α_r, ·)``.  Minimising ``A`` needs no guess of ``α``.

The stages are pure functions: :func:`ascend` (optax L-BFGS from a batch of
starts, ``vmap``-ed, inside one ``lax.while_loop``), :func:`newton_polish`
(Newton on autodiff Hessians, saddle-free: the step uses ``|λ|`` so it never
walks uphill towards a saddle, with an Armijo backtracking line search).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from .functional import energy_functional, outer_mean, sphere_term
from .params import from_unconstrained

__all__ = ["neg_energy", "log_threshold_ratio", "ascend", "newton_polish", "OBJECTIVES"]


def neg_energy(u, alpha, kappa, engine):
    """``−E_r(α; θ(u))``."""
    return -energy_functional(alpha, from_unconstrained(u), kappa, engine)


def log_threshold_ratio(u, alpha, kappa, engine):
    """``log A(θ(u)) = log(1 − S) − log(−G)``; ``alpha`` is unused (same signature as :func:`neg_energy`)."""
    del alpha
    params = from_unconstrained(u)
    return jnp.log1p(-sphere_term(params)) - jnp.log(-outer_mean(params, kappa, engine))


OBJECTIVES = {"energy": neg_energy, "threshold": log_threshold_ratio}


def _lbfgs(fun, u0, maxiter, tol):
    """Minimise ``fun`` from ``u0`` with optax L-BFGS (zoom line search) until ``‖∇‖ ≤ tol``."""
    opt = optax.lbfgs(linesearch=optax.scale_by_backtracking_linesearch(
        max_backtracking_steps=15, decrease_factor=0.5, store_grad=True))
    value_and_grad = optax.value_and_grad_from_state(fun)

    def cond(carry):
        _, state, it = carry
        g = optax.tree.get(state, "grad")
        return (it < maxiter) & ((it == 0) | (jnp.linalg.norm(g) > tol)) & jnp.all(jnp.isfinite(g))

    def body(carry):
        u, state, it = carry
        value, grad = value_and_grad(u, state=state)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(u, updates), state, it + 1

    u, state, it = jax.lax.while_loop(cond, body, (u0, opt.init(u0), 0))
    value, grad = jax.value_and_grad(fun)(u)
    return u, value, jnp.linalg.norm(grad), it


@functools.partial(jax.jit, static_argnames=("objective", "engine", "maxiter"))
def ascend(u0s, alpha, kappa, *, objective, engine, maxiter=200, tol=1e-6):
    """L-BFGS from each row of ``u0s`` (vmapped); returns ``(u, value, grad_norm, iterations)`` per start."""
    fun = OBJECTIVES[objective]

    def one(u0):
        return _lbfgs(lambda u: fun(u, alpha, kappa, engine), u0, maxiter, tol)

    return jax.vmap(one)(u0s)


@functools.partial(jax.jit, static_argnames=("objective", "engine"))
def _newton_step(u, alpha, kappa, *, objective, engine):
    fun = OBJECTIVES[objective]
    phi = lambda v: fun(v, alpha, kappa, engine)
    value, grad = jax.value_and_grad(phi)(u)
    hess = jax.hessian(phi)(u)
    lam, vec = jnp.linalg.eigh(hess)
    floor = 1e-10 * jnp.max(jnp.abs(lam))
    step = -vec @ ((vec.T @ grad) / jnp.maximum(jnp.abs(lam), floor))
    slope = grad @ step
    # near the optimum the decrease g·H⁻¹g falls below the rounding of φ: compare with slack
    slack = 1e-14 * (1.0 + jnp.abs(value))

    def short(carry):  # Armijo backtracking: halve until sufficient decrease
        t, trial = carry
        return (t > 1e-4) & ~(jnp.isfinite(trial) & (trial <= value + 1e-4 * t * slope + slack))

    t, trial = jax.lax.while_loop(short, lambda c: (0.5 * c[0], phi(u + 0.5 * c[0] * step)),
                                  (1.0, phi(u + step)))
    accept = jnp.isfinite(trial) & (trial <= value + slack) & jnp.any(step != 0)
    u_new = jnp.where(accept, u + t * step, u)
    return u_new, value, grad, hess


def newton_polish(u, alpha, kappa, *, objective, engine, steps=30, tol=1e-13):
    """Newton steps on ``φ`` from ``u`` until ``‖∇φ‖ ≤ tol`` or rounding stops progress.

    Returns ``(u, value, grad, hessian, steps_taken)`` for the measured point with
    the smallest gradient (value, gradient and Hessian of ``φ`` taken there).
    Each step costs one autodiff Hessian; a converged ascent needs two or three.
    """
    best, stalled = None, 0
    for k in range(steps):
        u_new, value, grad, hess = _newton_step(u, alpha, kappa, objective=objective, engine=engine)
        gnorm = float(jnp.linalg.norm(grad))
        if best is None or gnorm < 0.5 * best[0]:
            stalled = 0
        else:
            stalled += 1
        if best is None or gnorm < best[0]:
            best = (gnorm, u, value, grad, hess)
        if gnorm <= tol or bool(jnp.all(u_new == u)) or (stalled >= 2 and gnorm < 1e-9):
            break
        u = u_new
    gnorm, u, value, grad, hess = best
    return u, value, grad, hess, k + 1
