"""Derivatives of a threshold or an energy in the coefficients of its potential
(``docs/theory.md#potentials``, ``docs/theory.md#derivatives``).

A converged :class:`~jaxcap._src.result.Result` is a stationary point ``u*`` of its objective
(:mod:`jaxcap._src.solver`), and the coefficients ``θ`` of the potential ``V`` (its ``breaks``, ``a``,
``b``, ``c`` at ``κ = 0``) enter the functional only through the outer mean ``G``.  By the envelope
theorem, at ``u*``:

* the energy ``e_r = S − α G``: ``∂e_r/∂θ = −α ∂G/∂θ``;
* the level set ``e_r(α_r) = ε`` (the threshold at ``ε = 1``), ``α_r = min A`` with
  ``A = (ε − S)/(−G)``: ``∂α_r/∂θ = −α_r (∂G/∂θ)/G``.

``∂G/∂θ`` is ``jax.grad`` of :func:`jaxcap._src.functional.outer_mean` in a traced
:class:`~jaxcap._src.potential.Potential`, on the result's kind of engine built with the
potential's key and fitted to the point.  Second derivatives come by implicit differentiation of
the objective ``φ(u, θ)`` (``−E_r`` for an energy, ``log A`` for a level set), with
``H = ∇²_u φ(u*)`` and the autodiff Hessian of ``φ`` in ``(u, θ)``:

    d²φ*/dθ² = φ_θθ − φ_θu H⁻¹ φ_uθ,    ∇²e_r = −d²φ*/dθ²,    ∇²α_r = α_r (∇φ* ∇φ*ᵀ + d²φ*/dθ²),

with ``∇φ* = φ_θ`` (``α_r = e^{φ*}``).  A breakpoint where ``V`` is continuous has one-sided
derivatives (the leaf takes the smaller side's value there, and so does its derivative): only a
breakpoint where ``V`` jumps, such as the count's, has a derivative.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import potential as potentials
from .compilation import jit
from .engine import make_engine
from .functional import outer_mean, sphere_term
from .params import Params, from_unconstrained, to_unconstrained
from .result import Result
from .validation import check_options

__all__ = ["potential_derivatives", "derivative_engine"]


def derivative_engine(result: Result, potential: tuple, params: Params, options: dict):
    """The engine of ``result``'s kind (``options`` override: ``engine``, ``nodes``, ``spacing``) built with
    ``potential`` (a key, :func:`jaxcap._src.potential.key`) at the result's ``κ``, fitted to ``params``."""
    level = int(np.atleast_1d(params.q).shape[0])
    used = result.diagnostics.engine
    name = options.get("engine") or (used if used in ("grid", "tensor") else None)
    nodes = options.get("nodes") or (result.diagnostics.quad_nodes if name == "tensor" else None)
    engine = make_engine(level, name, nodes, options.get("spacing"), float(result.kappa), potential=potential)
    return engine.fitted(params)


def _phi(kind: str, fixed, u, potential, kappa, engine):
    """``−E_r(α; θ(u))`` (energy, ``fixed = α``) or ``log A = log(ε − S) − log(−G)`` (level set,
    ``fixed = ε``) with ``G`` of ``potential``."""
    params = from_unconstrained(u)
    g = outer_mean(params, kappa, engine, potential=potential)
    sphere = sphere_term(params)
    if kind == "energy":
        return fixed * g - sphere
    return jnp.log(fixed - sphere) - jnp.log(-g)


@jit(static_argnames=("engine",))
def _outer_mean_gradient(params, potential, kappa, *, engine):
    """``(G, ∂G/∂θ)`` at ``params``, the gradient a :class:`~jaxcap._src.potential.Potential`."""
    return jax.value_and_grad(lambda p: outer_mean(params, kappa, engine, potential=p))(potential)


@jit(static_argnames=("kind", "engine"))
def _implicit_hessian(u, potential, fixed, kappa, *, kind, engine):
    """``(φ_θ, d²φ*/dθ²)`` in the flattened coefficients (module docstring): the autodiff Hessian of
    ``φ`` in ``(u, θ)`` and the implicit function theorem on ``∇_u φ = 0``."""
    theta, unravel = ravel_pytree(potential)
    n = u.shape[0]
    joint = lambda z: _phi(kind, fixed, z[:n], unravel(z[n:]), kappa, engine)  # noqa: E731
    z = jnp.concatenate([u, theta])
    grad, hess = jax.grad(joint)(z), jax.hessian(joint)(z)
    h_uu, h_ut, h_tt = hess[:n, :n], hess[:n, n:], hess[n:, n:]
    return grad[n:], h_tt - h_ut.T @ jnp.linalg.solve(h_uu, h_ut)


def _nested(matrix, like: potentials.Potential):
    """The flattened Hessian ``matrix`` as ``jax.hessian`` lays it out for a function of ``like``: a
    :class:`~jaxcap._src.potential.Potential` whose field ``X`` is a Potential whose field ``Y`` has
    shape ``X.shape + Y.shape`` (``∂²/∂X ∂Y``)."""
    _, unravel = ravel_pytree(like)
    leaves, treedef = jax.tree.flatten(like)
    rows = jax.vmap(unravel)(jnp.asarray(matrix))
    offsets = np.cumsum([0] + [leaf.size for leaf in leaves])
    outer = [jax.tree.map(lambda r, lo=lo, leaf=leaf: r[lo:lo + leaf.size].reshape(leaf.shape + r.shape[1:]), rows)
             for leaf, lo in zip(leaves, offsets)]
    return jax.tree.unflatten(treedef, outer)


def potential_derivatives(result: Result, *, hessian: bool = False, **options: Any) -> Any:
    """The derivatives of a threshold's ``α_r`` (a level set's) or an energy's ``e_r`` in every coefficient of
    its potential (module docstring, ``docs/theory.md#potentials``).

    Args:
        result: a single converged :func:`jaxcap.threshold` or :func:`jaxcap.energy` result, at any level,
            of any potential (the count's through the generic leaf of :func:`jaxcap._src.potential.count`).
        hessian: also the second derivatives (implicit differentiation; an autodiff Hessian in the
            parameters and the coefficients).
        **options: ``engine`` (``"grid"`` or ``"tensor"``; default: the result's), ``nodes``, ``spacing``.

    Returns:
        The first derivatives as a :class:`~jaxcap._src.potential.Potential` (``breaks``, ``a``, ``b``,
            ``c`` at ``κ = 0``, each of its coefficient's shape); with ``hessian=True``, the pair
            ``(first, second)``, ``second`` laid out as ``jax.hessian`` of a function of a Potential
            (``second.a.c[i, j] = ∂²/∂a_i ∂c_j``).  A breakpoint where ``V`` is continuous gets the
            smaller side's one-sided derivative.

    Raises:
        ValueError: a batched or non-converged result, or one that is not a threshold or an energy.
        TypeError: unknown options.
    """
    if not isinstance(result, Result) or result.kind not in ("threshold", "energy"):
        raise ValueError("potential_derivatives needs a Result of jaxcap.threshold or jaxcap.energy")
    if result.shape:
        raise ValueError("potential_derivatives takes a single Result; iterate over a batched one")
    if not bool(result.converged):
        raise ValueError(f"potential_derivatives needs a converged result ({result.reason})")
    options = check_options(options)
    potential = potentials.from_key(result.potential) if result.potential else potentials.count(0.0)
    p = result.params
    params = Params(np.asarray(float(p["chi"])), np.atleast_1d(np.asarray(p["q"], float)),
                    np.atleast_1d(np.asarray(p["x"], float)))
    engine = derivative_engine(result, potentials.key(potential), params, options)
    alpha, kappa = float(result.alpha), jnp.asarray(float(result.kappa))
    g, dg = _outer_mean_gradient(params, potential, kappa, engine=engine)
    scale = -alpha if result.kind == "energy" else -alpha / g
    first = jax.tree.map(lambda v: np.asarray(scale * v), dg)
    if not hessian:
        return first
    fixed = alpha if result.kind == "energy" else float(result.energy)       # α, or the level ε = e_r(α_r)
    grad, second = _implicit_hessian(jnp.asarray(to_unconstrained(params)), potential, fixed, kappa,
                                     kind=result.kind, engine=engine)
    second = -second if result.kind == "energy" else alpha * (jnp.outer(grad, grad) + second)
    return first, jax.tree.map(np.asarray, _nested(second, potential))
