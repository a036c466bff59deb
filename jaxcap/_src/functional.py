"""The level-r zero-temperature functional ``E_r(α; χ, q, x)`` (``docs/theory.md#functional``).

    Λ_l = χ + Σ_{j=l}^{r−1} x_j (q_{j+1} − q_j),      q_r = 1
    S   = −½ [ q_0/Λ_0 + Σ_{l=0}^{r−1} (1/x_l) ln(Λ_l/Λ_{l+1}) ]          (sphere part)
    E_r = S − α E_z f_0(√q_0 z)

The energy is *linear* in ``α``: ``E_r = S − α G`` with ``G = E_z f_0(√q_0 z) < 0``.
``G`` (the "outer mean") is what an engine computes: :mod:`jaxcap._src.tensor` by
Gauss–Hermite tensor products, :mod:`jaxcap._src.grid` level by level on a grid.
Level 0 (RS = plain RDT) has the closed form :func:`rs_outer_mean`.

At the zero-energy line (``docs/theory.md#zero-energy``) ``χ → ∞`` with
``y_l = x_l/χ`` fixed: ``Λ_l = χ λ_l`` with ``λ_l = 1 + Σ_{j≥l} y_j (q_{j+1} − q_j)``,
so ``S = −A/(2χ)`` with the χ-free :func:`reduced_sphere_term`

    A(q, y) = q_0/λ_0 + Σ_l (1/y_l) ln(λ_l/λ_{l+1})  =  −2 S(χ = 1, q, x = y).
"""
from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtr

from . import potential as potentials
from .params import Params, lambdas

__all__ = ["sphere_term", "reduced_sphere_term", "rs_outer_mean", "outer_mean", "energy_functional"]

_INV_SQRT_2PI = 0.3989422804014327


def sphere_term(params: Params):
    """``S(χ, q, x)``, the sphere (entropic) part of ``E_r`` (``docs/theory.md#functional``); ``−1/(2χ)`` at ``r = 0``."""
    chi, q, x = params
    if q.shape[0] == 0:
        return -0.5 / chi
    lam, _ = lambdas(jnp.asarray(chi), jnp.asarray(q), jnp.asarray(x))
    return -0.5 * (q[0] / lam[0] + jnp.sum(jnp.log(lam[:-1] / lam[1:]) / x))


def reduced_sphere_term(params: Params):
    """``A(q, y)``, the zero-energy line's sphere part (module docstring; ``params.x`` holds ``y``,
    ``params.chi`` is ignored); 1 at ``r = 0``."""
    return -2.0 * sphere_term(Params(jnp.ones((), params.q.dtype), params.q, params.x))


def rs_outer_mean(chi, kappa):
    """``G_0 = E_z f_r(z)`` in closed form (the RS outer mean, ``docs/theory.md#functional``).

    With ``a = √(2χ)``, ``b = κ``, ``c = κ + a`` and ``φ`` the normal density,
    ``∫_b^c (z − κ)² φ = (1 + κ²)(Φ(c) − Φ(b)) + (κ − a) φ(c) − κ φ(b)``, so
    ``G_0 = −(that)/(2χ) − Φ(−c)``.
    """
    a = jnp.sqrt(2.0 * chi)
    b, c = kappa, kappa + a
    phi = lambda t: _INV_SQRT_2PI * jnp.exp(-0.5 * t**2)
    cdf = ndtr(jnp.stack(jnp.broadcast_arrays(c, b, -c, -b)))  # one stacked call: one copy when compiled
    # Φ(c) − Φ(b) as Φ(−b) − Φ(−c) in the upper tail (b > 0), where both Φ round to 1
    between = jnp.where(b > 0.0, cdf[3] - cdf[2], cdf[0] - cdf[1])
    middle = (1.0 + kappa**2) * between + (kappa - a) * phi(c) - kappa * phi(b)
    return -middle / (2.0 * chi) - cdf[2]


def outer_mean(params: Params, kappa, engine, potential=None):
    """``G = E_z f_0(√q_0 z)`` by ``engine``; at ``r = 0`` the closed form :func:`rs_outer_mean` (of the
    count), or of the engine's potential (:func:`jaxcap._src.potential.rs_outer_mean` of ``V(u − κ)``,
    ``docs/theory.md#potentials``).  ``potential`` (possibly traced) stands in for the engine's."""
    if potential is None and engine is not None and engine.potential:
        potential = potentials.from_key(engine.potential)
    if params.q.shape[0] == 0:
        if potential is None:
            return rs_outer_mean(params.chi, kappa)
        return potentials.rs_outer_mean(params.chi, potentials.shifted(potential, kappa))
    return engine.outer_mean(params, kappa, potential=potential)


def energy_functional(alpha, params: Params, kappa, engine, potential=None):
    """``E_r(α; χ, q, x) = S − α G`` (``docs/theory.md#functional``), ``G`` from :func:`outer_mean`."""
    return sphere_term(params) - alpha * outer_mean(params, kappa, engine, potential)
