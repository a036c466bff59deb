"""Finite temperature: the RS free entropy, its energy, and the de Almeida–Thouless line.

The finite-temperature RS parent of the zero-temperature functional
(``docs/theory.md#temperature``): the level-0 functional of ``docs/theory.md#functional``
is its ``β → ∞`` limit, with ``χ = β(1 − q)``.

The Gibbs measure ``∝ exp(−β Σ_i V_κ(w_i·x))`` on the sphere has, in the
replica-symmetric (RS) ansatz with overlap ``q``, the free entropy per
dimension

    φ(q) = ½ ln(1 − q) + q / (2(1 − q)) + α E_z ln Z(√q z, 1 − q),
    Z(ω, V) = E_ξ exp(−β V_κ(ω + √V ξ)) = Φ(t) + e^{−β} Φ(−t),   t = (κ − ω)/√V,

extremised over ``q`` (``∂_q φ = 0``).  By that stationarity the energy (the
Gibbs mean of the number of fields above ``κ``, per dimension) is the partial
derivative ``e = −∂_β φ`` at fixed ``q``.  The RS solution is stable while the
replicon eigenvalue stays below one (de Almeida–Thouless):

    R = α (1 − q)² E_z [ (∂²_ω ln Z(√q z, 1 − q))² ] < 1.

The RS-stability threshold of Maillard et al. follows the states of energy 1:
for each ``α`` the ``β*(α)`` with ``e = 1``; ``α_dAT`` is where ``R`` reaches 1
on that line (5.3238 at ``κ = 0``).  :func:`dat_threshold` brackets it by
exactly that nesting (scipy ``brentq``), then polishes the three equations
``(∂_q φ, e − 1, R − 1) = 0`` in ``(q, β, α)`` jointly by Newton on the
autodiff Jacobian, which also gives ``dα_dAT/dκ`` by the implicit function
theorem.  Every derivative of ``ln Z`` is taken by autodiff.

The outer expectation is the trapezoid rule on a uniform grid in ``z`` over
``[−10, 10]`` (spectrally accurate for a Gaussian times a smooth function once
the spacing resolves the integrand).  Gauss–Hermite is not used here: as ``β``
grows, ``∂²_ω ln Z`` becomes a spike of width ``≈ √(1 − q)/√(2β)`` where
``Φ(t) ≈ e^{−β}Φ(−t)``, far off the centre where Gauss–Hermite puts its nodes.
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, ndtr

from . import guards
from .compilation import jit
from .result import ConvergenceError, Quantities

__all__ = ["log_partition", "rs_free_entropy", "rs_thermal_energy", "replicon", "rs_state", "dat_threshold"]

DEFAULT_SPACING = 0.01
_Z_RANGE = 10.0
_Q_MIN, _Q_MAX = 1e-12, 1.0 - 1e-9
_BETA_MAX = 64.0


def log_partition(omega, variance, beta, kappa):
    """``ln Z(ω, V) = ln[Φ(t) + e^{−β} Φ(−t)]``, ``t = (κ − ω)/√V``: the single-field channel at inverse temperature ``β``."""
    t = (kappa - omega) / jnp.sqrt(variance)
    return jnp.logaddexp(log_ndtr(t), -beta + log_ndtr(-t))


def _gaussian_mean(fn, spacing):
    """``E_z fn(z)`` by the trapezoid rule with ``spacing`` on ``[−10, 10]`` (``fn`` maps an array of points)."""
    z = np.arange(-_Z_RANGE, _Z_RANGE + 0.5 * spacing, spacing)
    weights = spacing * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    return jnp.sum(weights * fn(jnp.asarray(z)))


def rs_free_entropy(q, alpha, beta, kappa=0.0, spacing=DEFAULT_SPACING):
    """``φ(q) = ½ ln(1 − q) + q/(2(1 − q)) + α E_z ln Z(√q z, 1 − q)`` (RS free entropy per dimension)."""
    channel = _gaussian_mean(lambda z: log_partition(jnp.sqrt(q) * z, 1.0 - q, beta, kappa), spacing)
    return 0.5 * jnp.log1p(-q) + 0.5 * q / (1.0 - q) + alpha * channel


def rs_thermal_energy(q, alpha, beta, kappa=0.0, spacing=DEFAULT_SPACING):
    """``e = −∂_β φ`` at fixed ``q``: the Gibbs-mean number of fields above ``κ`` per dimension."""
    return -jax.grad(rs_free_entropy, argnums=2)(q, alpha, beta, kappa, spacing)


_channel_curvature = jax.vmap(jax.grad(jax.grad(log_partition)), in_axes=(0, None, None, None))


def replicon(q, alpha, beta, kappa=0.0, spacing=DEFAULT_SPACING):
    """``R = α (1 − q)² E_z[(∂²_ω ln Z(√q z, 1 − q))²]``: RS is (AT-)stable while ``R < 1``."""
    curvature = _gaussian_mean(lambda z: _channel_curvature(jnp.sqrt(q) * z, 1.0 - q, beta, kappa) ** 2, spacing)
    return alpha * (1.0 - q) ** 2 * curvature


@jit(static_argnums=4)
def _overlap_gradient(q, alpha, beta, kappa, spacing):
    return jax.grad(rs_free_entropy)(q, alpha, beta, kappa, spacing)


_jit_free_entropy = jit(rs_free_entropy, static_argnums=4)
_jit_energy = jit(rs_thermal_energy, static_argnums=4)
_jit_replicon = jit(replicon, static_argnums=4)


def _brentq(f, lo, hi, **tolerances):
    """``scipy.optimize.brentq`` (SciPy loads only where a root is bracketed)."""
    from scipy.optimize import brentq

    return brentq(f, lo, hi, **tolerances)


def _overlap(alpha, beta, kappa, spacing):
    """The RS overlap: the root of ``∂_q φ`` in ``(0, 1)`` (negative at ``q → 0``, ``+∞`` at ``q → 1``)."""
    grad = lambda q: float(_overlap_gradient(q, alpha, beta, kappa, spacing))
    if grad(_Q_MIN) >= 0.0:
        return _Q_MIN
    at_one = grad(_Q_MAX)
    if not at_one > 0.0:   # no sign change in floating point (extreme alpha or beta): no root to bracket
        raise ConvergenceError(f"RS overlap at alpha={alpha:g}, beta={beta:g}, kappa={kappa:g} not resolvable: "
                               f"the overlap equation has no sign change in (0, 1) (slope {at_one:.3g} at q -> 1)",
                               {"alpha": alpha, "beta": beta, "kappa": kappa, "slope_at_q_max": at_one})
    return _brentq(grad, _Q_MIN, _Q_MAX, xtol=1e-13, rtol=1e-13)


def rs_state(alpha: float, beta: float, kappa: float = 0.0, spacing: float = DEFAULT_SPACING,
             tol: float = 1e-9, min_spacing: float = 1e-4) -> Quantities:
    """The RS solution at ``(α, β, κ)``: overlap, free entropy, free energy ``−φ/β``, energy, entropy, replicon.

    Large ``β`` sharpens the integrand (its width in ``z`` is ``√((1 − q)/q)``),
    so the state is solved with ``spacing`` and ``spacing/2``, halving until the energy, free energy and replicon change by less than
    ``tol``; ``quad_error`` is that last change.  Raises
    :class:`ConvergenceError` if ``min_spacing`` does not bring it below ``1e-6``, and
    ``ValueError`` for a non-finite input, ``α ≤ 0``, ``β ≤ 0`` or a ``spacing`` outside
    the limits of :mod:`jaxcap._src.guards`.
    """
    alpha, beta, kappa = float(alpha), float(beta), float(kappa)
    _check_finite(alpha=alpha, beta=beta, kappa=kappa)
    _check_spacing(spacing)
    if alpha <= 0 or beta <= 0:
        raise ValueError(f"alpha and beta must be > 0, got alpha={alpha!r}, beta={beta!r}")
    refined = _solve_state(alpha, beta, kappa, spacing)
    while True:
        state, spacing = refined, 0.5 * spacing
        refined = _solve_state(alpha, beta, kappa, spacing)
        error = max(abs(state[k] - refined[k]) for k in ("energy", "free_energy", "replicon"))
        if error < tol or spacing <= min_spacing:
            break
    out = {"alpha": alpha, "beta": beta, "kappa": kappa, **refined, "at_stable": refined["replicon"] < 1.0,
           "quad_spacing": spacing, "quad_error": error}
    if not error < 1e-6:
        raise ConvergenceError(f"RS state at beta={beta:g} not resolved at spacing {spacing:g} (change {error:.1e})", out)
    return Quantities("rs", out)


def _solve_state(alpha, beta, kappa, spacing):
    q = _overlap(alpha, beta, kappa, spacing)
    phi = float(_jit_free_entropy(q, alpha, beta, kappa, spacing))
    energy = float(_jit_energy(q, alpha, beta, kappa, spacing))
    return {"q": q, "free_entropy": phi, "free_energy": -phi / beta, "energy": energy,
            "entropy": phi + beta * energy, "replicon": float(_jit_replicon(q, alpha, beta, kappa, spacing))}


def _unit_energy_beta(alpha, kappa, spacing):
    """``β*(α)``: the inverse temperature where the RS energy equals 1 (``None`` if ``e(β) > 1`` up to ``β = 64``).

    The energy falls from ``α Φ(−κ)`` at ``β = 0`` toward the ground state as ``β`` grows;
    the bracket doubles ``β`` from 1 until the energy is below 1.
    """
    excess = lambda beta: float(_jit_energy(_overlap(alpha, beta, kappa, spacing), alpha, beta, kappa, spacing)) - 1.0
    lo, hi = 1e-9, 1.0
    while excess(hi) > 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > _BETA_MAX:
            return None
    return _brentq(excess, lo, hi, xtol=1e-10, rtol=1e-12)


def _unit_energy_replicon(alpha, kappa, spacing):
    """``R`` on the energy-1 line at ``α`` (``+∞`` where no temperature gives energy 1)."""
    beta = _unit_energy_beta(alpha, kappa, spacing)
    if beta is None:
        return np.inf, None
    return float(_jit_replicon(_overlap(alpha, beta, kappa, spacing), alpha, beta, kappa, spacing)), beta


def _dat_equations(u, kappa, spacing):
    """``F(q, β, α) = (∂_q φ, e − 1, R − 1)``, zero at the dAT point."""
    q, beta, alpha = u
    return jnp.stack([jax.grad(rs_free_entropy)(q, alpha, beta, kappa, spacing),
                      rs_thermal_energy(q, alpha, beta, kappa, spacing) - 1.0,
                      replicon(q, alpha, beta, kappa, spacing) - 1.0])


_jit_equations = jit(_dat_equations, static_argnums=2)


@jit(static_argnums=2)
def _newton_system(u, kappa, spacing):
    """Residual, Jacobian in ``(q, β, α)`` and ``∂F/∂κ`` of :func:`_dat_equations`."""
    return (_dat_equations(u, kappa, spacing), jax.jacfwd(_dat_equations)(u, kappa, spacing),
            jax.jacfwd(_dat_equations, argnums=1)(u, kappa, spacing))


def dat_threshold(kappa: float = 0.0, spacing: float = DEFAULT_SPACING, tol: float = 1e-11) -> Quantities:
    """``α_dAT(κ)``: where the RS states of energy 1 become AT-unstable (5.3238 at ``κ = 0``).

    Returns ``alpha``, ``beta`` (and ``temperature``), ``q``, ``dalpha_dkappa``
    (implicit function theorem on the three equations), the residual of each
    equation, and ``quad_error``: the first-order change of ``α`` when the
    equations are re-evaluated with half the spacing.  Raises
    :class:`ConvergenceError` when no bracket exists or Newton does not reach ``tol``.
    """
    kappa = float(kappa)
    _check_finite(kappa=kappa)
    _check_spacing(spacing)
    t0 = time.perf_counter()
    tail = float(ndtr(-kappa))
    if not tail > 0.0:
        raise ConvergenceError(f"dAT line at kappa={kappa:g} not resolvable: P(z > kappa) = {tail:g} underflows, "
                               "so the energy-1 line lies beyond any float64 alpha", {"kappa": kappa})
    alpha_min = 1.0 / tail  # below it even β = 0 has energy < 1
    lo, hi = alpha_min * (1.0 + 1e-3), alpha_min * 1.25
    r_hi, _ = _unit_energy_replicon(hi, kappa, spacing)
    while r_hi < 1.0:
        lo, hi = hi, hi * 1.25
        r_hi, _ = _unit_energy_replicon(hi, kappa, spacing)
    if _unit_energy_replicon(lo, kappa, spacing)[0] >= 1.0:
        raise ConvergenceError(f"no RS-stable energy-1 state at kappa={kappa}: R >= 1 already at alpha={lo:.6g}",
                               {"kappa": kappa, "alpha_lo": lo})
    alpha = _brentq(lambda a: _unit_energy_replicon(a, kappa, spacing)[0] - 1.0, lo, hi, xtol=1e-6)
    beta = _unit_energy_beta(alpha, kappa, spacing)
    u = jnp.array([_overlap(alpha, beta, kappa, spacing), beta, alpha])
    for steps in range(1, 9):
        residual, jac, _ = _newton_system(u, kappa, spacing)
        u = u - jnp.linalg.solve(jac, residual)
        if float(jnp.max(jnp.abs(residual))) < tol:
            break
    residual, jac, dkappa = _newton_system(u, kappa, spacing)
    diagnostics = {"residual_stationarity": float(residual[0]), "residual_energy": float(residual[1]),
                   "residual_replicon": float(residual[2]), "newton_steps": steps, "quad_spacing": spacing,
                   "quad_error": abs(float(jnp.linalg.solve(jac, _jit_equations(u, kappa, 0.5 * spacing))[2])),
                   "seconds": time.perf_counter() - t0}
    if not float(jnp.max(jnp.abs(residual))) < tol:
        raise ConvergenceError(f"dAT Newton did not reach |F| < {tol:g} at kappa={kappa}", diagnostics)
    q, beta, alpha = (float(v) for v in u)
    return Quantities("dat", {"alpha": alpha, "kappa": kappa, "beta": beta, "temperature": 1.0 / beta, "q": q,
                              "dalpha_dkappa": float(-jnp.linalg.solve(jac, dkappa)[2]), "diagnostics": diagnostics})


def _check_spacing(spacing):
    """The ``z`` grid's spacing: in ``(0,`` :data:`~jaxcap._src.guards.MAX_SPACING` ``]`` (coarser grids can miss the
    integrand at both ``spacing`` and ``spacing/2`` and see no change), and at most
    :data:`~jaxcap._src.guards.MAX_GRID_POINTS` points over ``[−10, 10]`` at ``spacing/2``, where the error is measured."""
    guards.check_spacing(spacing, what="spacing in z")
    guards.MAX_GRID_POINTS.check(4.0 * _Z_RANGE / spacing + 1.0,
                                 f"spacing in z {spacing:g} (refined to {spacing / 2:g} over [-10, 10])")


def _check_finite(**values):
    for name, value in values.items():
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
