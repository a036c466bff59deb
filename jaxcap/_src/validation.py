"""The one check of every argument of a solve, for the command line, Python and traced calls alike.

Each argument is checked here and nowhere else: the level (a static integer within
:data:`jaxcap._src.guards.MAX_LEVEL`), ``κ`` and ``α`` (finite real numbers, ``α > 0``), the engine
options (only ``engine``, ``nodes``, ``spacing``: an unknown keyword is a :class:`TypeError`
before anything is traced or computed) and the number of points of a batch or a curve
(:data:`jaxcap._src.guards.MAX_POINTS`) and the devices a run asks for (:mod:`jaxcap._src.guards`); the
sizes of the exact finite-size experiments are checked beside them, in :mod:`jaxcap._src.finite`.  ``TypeError`` means the wrong
kind of value, ``ValueError`` a value out of range; the command line maps both to exit code 2.
"""
from __future__ import annotations

import numpy as np

from . import guards

__all__ = ["ENGINE_OPTIONS", "check_level", "check_kappa", "check_alpha", "check_epsilon", "check_potential",
           "check_options", "check_points", "check_cpu_devices"]

#: The keyword options of every solve: they choose the engine (:func:`jaxcap._src.engine.make_engine`).
ENGINE_OPTIONS = ("engine", "nodes", "spacing")


def _real(value, name: str) -> float:
    """``value`` as a float; ``TypeError`` when it is not a real number (bool, None and strings included)."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}") from None


def check_level(level, minimum: int = 0, name: str = "level") -> int:
    """``level`` as an int, or ``TypeError`` (not an integer: bool, None, str, float, a traced value)
    or ``ValueError`` (below ``minimum``, or beyond :data:`jaxcap._src.guards.MAX_LEVEL`).  The level fixes
    the shapes of every program, so it is static."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum} (a static Python integer, not traced), "
                        f"got {type(level).__name__} {level!r}")
    if level < minimum:
        raise ValueError(f"{name} must be a non-negative integer, got {level!r}" if minimum == 0 else
                         f"{name} must be an integer >= {minimum}, got {level!r}")
    guards.MAX_LEVEL.check(int(level), f"{name} {level}")
    return int(level)


def check_kappa(kappa) -> float:
    """``kappa`` as a float: ``TypeError`` if it is not a real number, ``ValueError`` if not finite."""
    k = _real(kappa, "kappa")
    if not np.isfinite(k):
        raise ValueError(f"kappa must be finite, got {kappa!r}")
    return k


def check_alpha(alpha) -> float:
    """``alpha`` as a float: ``TypeError`` if it is not a real number, ``ValueError`` unless finite and > 0."""
    a = _real(alpha, "alpha")
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    return a


def check_epsilon(epsilon) -> float:
    """The level ``ε`` of a level set ``e_r(α) = ε`` (1: the threshold): a finite number > 0."""
    e = _real(epsilon, "epsilon")
    if not (np.isfinite(e) and e > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    return e


def check_potential(potential) -> tuple:
    """The key (:func:`jaxcap._src.potential.key`, empty for the count) of the potential a solve names
    (:func:`jaxcap._src.potential.named`: ``None``, a built-in's name, a
    :class:`~jaxcap._src.potential.Potential` at ``κ = 0``, a JSON file); a potential with traced
    coefficients is a ``TypeError`` (its derivatives: ``jaxcap.potential_derivatives``)."""
    if potential is None or isinstance(potential, str) and potential == "count":
        return ()
    import jax                                 # imported when a potential is named

    from . import potential as potentials

    chosen = potentials.named(potential)
    if any(isinstance(v, jax.core.Tracer) for v in (chosen.breaks, chosen.a, chosen.b, chosen.c)):
        raise TypeError("a solve takes a concrete potential (its coefficients' derivatives: "
                        "jaxcap.potential_derivatives)")
    return potentials.key(chosen)


def check_options(options: dict) -> dict:
    """``options`` when every key is one of :data:`ENGINE_OPTIONS`, else ``TypeError`` naming the others
    (their values are checked where the engine is built, :func:`jaxcap._src.engine.make_engine`)."""
    unknown = set(options) - set(ENGINE_OPTIONS)
    if unknown:
        raise TypeError(f"unexpected options: {', '.join(sorted(map(str, unknown)))} "
                        f"(expected {', '.join(ENGINE_OPTIONS)})")
    return dict(options)


def check_points(count: int, subject: str) -> int:
    """``count`` points of a batch or a curve, within :data:`jaxcap._src.guards.MAX_POINTS` (checked before any
    array of that size is built)."""
    guards.MAX_POINTS.check(int(count), subject)
    return int(count)


def check_cpu_devices(count: int, subject: str | None = None) -> int:
    """``count`` XLA devices on a CPU backend (``jax_num_cpu_devices``), within
    :data:`jaxcap._src.guards.MAX_CPU_DEVICES` (``ValueError`` naming ``subject``, default
    ``"cpu_devices={count}"``)."""
    guards.MAX_CPU_DEVICES.check(int(count), subject or f"cpu_devices={count}")
    return int(count)
