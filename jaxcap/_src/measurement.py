"""What single and batched solves share once the solver has stopped (``docs/theory.md#solver``).

* :func:`verdict`: is the returned point a verified level-``r`` maximum?  Finite,
  non-degenerate (:func:`jaxcap._src.params.degeneracy`), resolved by the engine, natural
  gradient ``‖∇_θ E_r‖ ≤`` :data:`GRAD_TOL` and Hessian negative definite in ``(χ, q, x)``;
  the answer is a :class:`jaxcap._src.status.Status` and a one-line reason.
* :func:`quad_error`: the discretisation error from the change of ``E_r`` at fixed
  parameters on the refined engine, ``α |G_refined − G|`` (on ``e``), divided by
  ``|∂e/∂α| = |G|`` on a threshold (``docs/theory.md#engines``).
* :func:`envelope_derivatives`: at a maximiser of ``E_r = S − αG`` the parameters are
  stationary, so (``docs/theory.md#derivatives``)

      ∂e_r/∂α = −G,    ∂e_r/∂κ = −α ∂G/∂κ,    dα_r/dκ = −α (∂G/∂κ) / G.

All three take NumPy scalars or arrays (one element or a whole batch).
"""
from __future__ import annotations

import numpy as np

from .params import Params, degeneracy
from .status import Status

__all__ = ["GRAD_TOL", "CONVERGED", "NON_FINITE", "DEGENERATE", "UNRESOLVED", "NOT_MAXIMUM", "NO_SOLUTION",
           "INVALID_INPUT", "OUT_OF_RANGE", "verdict", "quad_error", "envelope_derivatives"]

#: Largest natural gradient norm of a verified maximum.
GRAD_TOL = 1e-9
#: The codes of :class:`jaxcap._src.status.Status` (their messages are :attr:`Status.message`).
CONVERGED, NON_FINITE, DEGENERATE, UNRESOLVED, NOT_MAXIMUM, NO_SOLUTION, INVALID_INPUT, OUT_OF_RANGE = Status


def verdict(params: Params, grad_norm: float, hessian_max_eig: float, level: int, engine,
            *measured: float, **degenerate) -> tuple[int, str | None]:
    """``(status, why)`` for one measured point: ``(CONVERGED, None)`` for a verified maximum.

    ``why`` names a non-finite (any of ``measured`` included), degenerate
    (:func:`jaxcap._src.params.degeneracy`, with the keyword arguments ``degenerate``) or unresolved
    point (``None`` when the point is only short of stationarity or of negative curvature).
    """
    values = (grad_norm, hessian_max_eig, float(np.asarray(params.chi)), *measured)
    if not all(np.isfinite(values)) or not np.all(np.isfinite(np.asarray(params.q))):
        return NON_FINITE, "non-finite"
    why = degeneracy(params, **degenerate)
    if why:
        return DEGENERATE, why
    why = engine.check(params) if level else None
    if why:
        return UNRESOLVED, why
    if not (grad_norm <= GRAD_TOL and hessian_max_eig < 0.0):
        return NOT_MAXIMUM, None
    return CONVERGED, None


def quad_error(alpha, g, g_refined, on_alpha: bool):
    """``α |G_refined − G|`` (the energy's error), over ``|G|`` for a threshold's ``α``."""
    de = np.abs(alpha * (g_refined - g))
    return de / np.abs(g) if on_alpha else de


def envelope_derivatives(kind: str, alpha, g, dg_dkappa) -> dict:
    """``{"dalpha_dkappa"}`` for a threshold, ``{"denergy_dalpha", "denergy_dkappa"}`` for an energy."""
    if kind == "threshold":
        return {"dalpha_dkappa": -alpha * dg_dkappa / g}
    return {"denergy_dalpha": -g, "denergy_dkappa": -alpha * dg_dkappa}
