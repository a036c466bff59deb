"""The public solves :func:`threshold`, :func:`energy` and :func:`sat`: validation, then the concrete solve on
the host (:mod:`jaxcap._src.threshold`, :mod:`jaxcap._src.zero_energy`) or, under a JAX transformation, the traced one
(:mod:`jaxcap._src.sensitivity`).  See ``docs/guide/jax.md``."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from . import sensitivity
from . import threshold as host
from . import zero_energy
from .precision import require_x64
from .result import ConvergenceError, Result, not_converged
from .validation import check_alpha, check_epsilon, check_kappa, check_level, check_options, check_potential

__all__ = ["threshold", "energy", "sat"]


def _traced_scalar(value, name: str) -> bool:
    """Whether ``value`` is traced; a traced value must be a real scalar (``jax.vmap`` for many)."""
    if not isinstance(value, jax.core.Tracer):
        return False
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real number, got a traced {value.dtype}")
    if value.shape != ():
        raise ValueError(f"{name} must be a scalar, got a traced array of shape {value.shape} (use jax.vmap)")
    return True


def _concrete(solve, kind: str, level: int, kappa, alpha, throw: bool, options: dict) -> Result:
    """``solve()``; when it raises :class:`ConvergenceError` and ``throw`` is false, the not-converged
    :class:`Result` with the error's message as its reason (the rule of :mod:`jaxcap._src.status`)."""
    try:
        return solve()
    except ConvergenceError as err:
        if throw:
            raise
        engine = "closed form" if level == 0 else (options.get("engine") or "grid")
        return not_converged(kind, level, kappa, alpha, str(err), engine=engine)


def threshold(level: int, *, kappa: float = 0.0, start: Result | dict | None = None,
              kappa_range: tuple[float, float] = sensitivity.DEFAULT_KAPPA_RANGE, throw: bool = True,
              potential: Any = None, epsilon: float = 1.0, **options: Any) -> Result:
    """The level-``level`` injectivity threshold ``α_r`` (``e_r(α_r) = 1``) at threshold ``κ``; with
    ``potential`` and ``epsilon``, the level set ``e_r(α) = ε`` of another cost (``docs/guide/potentials.md``).

    A JAX function of ``kappa``: ``jax.jit``, ``jax.vmap`` (the batch is solved by the
    batched program of :func:`jaxcap.sweep`), ``jax.grad``, ``jax.hessian``, ``jax.jacfwd``
    and ``jax.jacrev`` all apply (``docs/guide/jax.md``, ``docs/theory.md#derivatives``).

    Args:
        level: the lifting level ``r``, a Python ``int >= 0`` (static under ``jax.jit``).
        kappa: the threshold ``κ`` of the activation (``0``: injectivity of ReLU); may be traced.
        start: a nearby level-``level`` :class:`Result` (or parameters) to continue from.
        kappa_range: under transformations, the ``κ`` range the static engine is fitted
            to (default ``(−1, 1)``); traced ``κ`` outside it come back not converged.
        throw: (concrete ``kappa``) raise :class:`ConvergenceError` when the solve does not
            converge (default), or return a not-converged :class:`Result` (NaN values, ``status``
            and ``reason``; :mod:`jaxcap._src.status`).  Traced solves never raise for an element.
        potential: the cost ``V`` at ``κ = 0``, shifted to ``V(u − κ)``: ``None`` or ``"count"``
            (``1[u > κ]``, the default), ``"linear"``, ``"quadratic"``, a
            :class:`~jaxcap._src.potential.Potential` or a JSON file (``docs/theory.md#potentials``);
            static under JAX transformations (its coefficients' derivatives:
            :func:`jaxcap.potential_derivatives`).
        epsilon: the level ``ε > 0`` of the level set (1: the threshold); static under JAX transformations.
        **options: ``engine`` (``"grid"`` or ``"tensor"``), ``nodes``, ``spacing``.

    Returns:
        A :class:`Result` (``kind="threshold"``): ``alpha``, ``energy`` (= 1), ``params``,
        ``dalpha_dkappa``, ``converged``, ``diagnostics``.  Under transformations its leaves
        are JAX values, and an element that did not converge has NaN values and
        ``converged`` false instead of raising.

    Raises:
        TypeError: ``level`` not an int (bool, None, str, float, a traced value), ``kappa``
            not a real number.
        ValueError: ``level < 0``, ``kappa`` not finite, invalid options.
        ConvergenceError: (concrete ``kappa`` only, ``throw=True``) no verified maximum.
    """
    level, options = check_level(level), check_options(options)
    key, epsilon = check_potential(potential), check_epsilon(epsilon)
    require_x64()
    if _traced_scalar(kappa, "kappa"):
        return sensitivity.traced_solve("threshold", level, None, kappa, options, kappa_range, start, key, epsilon)
    return _concrete(lambda: host.threshold(level, kappa=kappa, start=start, potential=potential,
                                            epsilon=epsilon, **options),
                     "threshold", level, check_kappa(kappa), None, throw, options)


def energy(alpha: float, level: int, *, kappa: float = 0.0, start: Result | dict | None = None,
           kappa_range: tuple[float, float] = sensitivity.DEFAULT_KAPPA_RANGE, throw: bool = True,
           potential: Any = None, **options: Any) -> Result:
    """The level-``level`` ground-state energy ``e_r(α) = max_θ E_r(α; θ)`` of the count, or of ``potential``.

    A JAX function of ``alpha`` and ``kappa`` (as :func:`threshold`).

    Args:
        alpha: the aspect ratio ``α = m/n > 0``; may be traced.
        level: the lifting level ``r``, a Python ``int >= 0``.
        kappa: the activation threshold ``κ``; may be traced.
        start: a nearby level-``level`` energy :class:`Result` (or parameters) to continue from.
        kappa_range: as in :func:`threshold`.
        throw: as in :func:`threshold`.
        potential: as in :func:`threshold`.
        **options: as in :func:`threshold`.

    Returns:
        A :class:`Result` (``kind="energy"``): ``energy``, ``params``, ``denergy_dalpha``,
        ``denergy_dkappa``, ``converged``, ``diagnostics``.

    Raises:
        TypeError: ``level`` not an int, ``alpha`` or ``kappa`` not a real number.
        ValueError: ``level < 0``, ``alpha <= 0`` or not finite, ``kappa`` not finite.
        ConvergenceError: (concrete arguments only, ``throw=True``) no verified maximum; below the
            zero-energy boundary the message says so.
    """
    level, options, key = check_level(level), check_options(options), check_potential(potential)
    require_x64()
    traced_alpha, traced_kappa = _traced_scalar(alpha, "alpha"), _traced_scalar(kappa, "kappa")
    if traced_alpha or traced_kappa:
        if not traced_alpha:
            check_alpha(alpha)
        if not traced_kappa:
            check_kappa(kappa)
        return sensitivity.traced_solve("energy", level, alpha, kappa, options, kappa_range, start, key)
    return _concrete(lambda: host.energy(alpha, level, kappa=kappa, start=start, potential=potential, **options),
                     "energy", level, check_kappa(kappa), check_alpha(alpha), throw, options)


def sat(kappa: float, level: int = 0, *, throw: bool = True, **options: Any) -> Result:
    """``α_sat,r(κ)``: the level-``level`` zero-energy line (``docs/theory.md#zero-energy``,
    ``docs/guide/zero-energy.md``).

    A JAX function of ``kappa``: ``jax.jit``, ``jax.vmap`` and first and second derivatives
    (``jax.grad``, ``jax.hessian``, ``jax.jacfwd``, ``jax.jacrev``) apply.  Under ``jax.vmap`` the
    whole batch reaches the host in one callback and is solved there as a curve sorted by ``κ``
    (:func:`jaxcap._src.zero_energy.sat_curve`: chunks of neighbouring ``κ`` polished together in one
    vmapped Newton program per level, each chunk started from the ones before it).  The first
    derivative is the envelope theorem's ``dα_sat/dκ = −α (∂G/∂κ)/G``, the host's value; the
    second is the implicit function theorem's (:func:`jaxcap._src.zero_energy.second_derivative`),
    computed on the host only where it is used.  Third derivatives, and derivatives of
    ``params`` and ``energy``, are not computed and come back NaN.

    Args:
        kappa: the field threshold (finite); ``κ > 0`` is the negative spherical perceptron; may be traced.
        level: the lifting level ``r``, a Python ``int >= 0`` (0: Gardner's ``1/E(z − κ)_+²``).
        throw: as in :func:`threshold`.
        **options: ``engine`` (``"grid"``, default, or ``"tensor"``), ``nodes``, ``spacing``.

    Returns:
        A :class:`Result` (``kind="sat"``) with ``alpha``, ``level``, ``kappa``, ``params``
        (``{"q": [...], "y": [...]}``, ``y_l = x_l/χ``; empty at level 0 and for ``κ ≤ 0``
        when concrete, NaN there under transformations), ``energy`` (the reduced energy at
        the minimiser: 0 up to rounding), ``diagnostics`` and ``dalpha_dkappa``.  Under
        transformations its leaves are JAX values, and an element that did not converge has
        NaN values and ``converged`` false instead of raising.

    Raises:
        TypeError: ``level`` not an int (bool, None, str, float, a traced value), ``kappa``
            not a real number, unknown options.
        ValueError: ``level < 0``, ``kappa`` not finite, invalid options.
        ConvergenceError: (concrete ``kappa`` only, ``throw=True``) no verified minimum at some level up to
            ``level``.
    """
    level, options = check_level(level), check_options(options)
    require_x64()
    if _traced_scalar(kappa, "kappa"):
        return sensitivity.traced_sat(level, kappa, options)
    return _concrete(lambda: zero_energy.sat(kappa, level, **options), "sat", level, check_kappa(kappa), None,
                     throw, options)
