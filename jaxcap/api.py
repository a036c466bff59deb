"""The public solves :func:`threshold` and :func:`energy`: validation, then the concrete solve on
the host (:mod:`jaxcap.threshold`) or, under a JAX transformation, the traced one
(:mod:`jaxcap.sensitivity`).  See ``docs/guide/jax.md``."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from . import sensitivity
from . import threshold as host
from .precision import require_x64
from .result import Result

__all__ = ["threshold", "energy"]


def _traced_scalar(value, name: str) -> bool:
    """Whether ``value`` is traced; a traced value must be a real scalar (``jax.vmap`` for many)."""
    if not isinstance(value, jax.core.Tracer):
        return False
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real number, got a traced {value.dtype}")
    if value.shape != ():
        raise ValueError(f"{name} must be a scalar, got a traced array of shape {value.shape} (use jax.vmap)")
    return True


def threshold(level: int, *, kappa: float = 0.0, start: Result | dict | None = None,
              kappa_range: tuple[float, float] = sensitivity.DEFAULT_KAPPA_RANGE, **options: Any) -> Result:
    """The level-``level`` injectivity threshold ``α_r`` (``e_r(α_r) = 1``) at threshold ``κ``.

    A JAX function of ``kappa``: ``jax.jit``, ``jax.vmap`` (the batch is solved by the
    batched program of :func:`jaxcap.sweep`), ``jax.grad``, ``jax.hessian``, ``jax.jacfwd``
    and ``jax.jacrev`` all apply (``docs/guide/jax.md``, ``docs/theory.md#derivatives``).

    Args:
        level: the lifting level ``r``, a Python ``int >= 0`` (static under ``jax.jit``).
        kappa: the threshold ``κ`` of the activation (``0``: injectivity of ReLU); may be traced.
        start: a nearby level-``level`` :class:`Result` (or parameters) to continue from.
        kappa_range: under transformations, the ``κ`` range the static engine is fitted
            to (default ``(−1, 1)``); traced ``κ`` outside it come back not converged.
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
        ConvergenceError: (concrete ``kappa`` only) no verified maximum.
    """
    level = host.check_level(level)
    require_x64()
    if _traced_scalar(kappa, "kappa"):
        return sensitivity.traced_solve("threshold", level, None, kappa, options, kappa_range, start)
    return host.threshold(level, kappa=kappa, start=start, **options)


def energy(alpha: float, level: int, *, kappa: float = 0.0, start: Result | dict | None = None,
           kappa_range: tuple[float, float] = sensitivity.DEFAULT_KAPPA_RANGE, **options: Any) -> Result:
    """The level-``level`` ground-state energy ``e_r(α) = max_θ E_r(α; θ)``.

    A JAX function of ``alpha`` and ``kappa`` (as :func:`threshold`).

    Args:
        alpha: the aspect ratio ``α = m/n > 0``; may be traced.
        level: the lifting level ``r``, a Python ``int >= 0``.
        kappa: the activation threshold ``κ``; may be traced.
        start: a nearby level-``level`` energy :class:`Result` (or parameters) to continue from.
        kappa_range: as in :func:`threshold`.
        **options: as in :func:`threshold`.

    Returns:
        A :class:`Result` (``kind="energy"``): ``energy``, ``params``, ``denergy_dalpha``,
        ``denergy_dkappa``, ``converged``, ``diagnostics``.

    Raises:
        TypeError: ``level`` not an int, ``alpha`` or ``kappa`` not a real number.
        ValueError: ``level < 0``, ``alpha <= 0`` or not finite, ``kappa`` not finite.
        ConvergenceError: (concrete arguments only) no verified maximum; below the
            zero-energy boundary the message says so.
    """
    level = host.check_level(level)
    require_x64()
    traced_alpha, traced_kappa = _traced_scalar(alpha, "alpha"), _traced_scalar(kappa, "kappa")
    if traced_alpha or traced_kappa:
        if not traced_alpha:
            host.check_alpha(alpha)
        if not traced_kappa:
            host.check_kappa(kappa)
        return sensitivity.traced_solve("energy", level, alpha, kappa, options, kappa_range, start)
    return host.energy(alpha, level, kappa=kappa, start=start, **options)
