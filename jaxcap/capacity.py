"""The zero-energy (SAT/UNSAT) boundary of the same functional (DESIGN §1).

``e_0(α) = 0`` marks where a direction with no field above ``κ`` stops
existing.  With ``E_0 = S − αG`` and ``S = −1/(2χ) < 0``, ``G < 0``, the level-0
energy is positive iff ``α > (−S)/(−G)`` for some ``χ``, so the boundary is

    α_sat(κ) = inf_χ  1 / (2χ |G_0(χ, κ)|),

``2χ|G_0| = E[min((z − κ)_+², 2χ)]`` grows with ``χ`` and the infimum is the
``χ → ∞`` limit, Gardner's capacity ``1 / E[(z − κ)_+²]`` (exact for ``κ ≤ 0``,
where the problem is convex; ``α = 2`` at ``κ = 0``).  :func:`sat_threshold`
minimises the ratio numerically on the closed-form RS functional.
"""
from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize_scalar

from .compilation import jit
from .functional import rs_outer_mean
from .result import Quantities

__all__ = ["sat_threshold"]


@jit
def _log_ratio(log_chi, kappa):
    chi = jnp.exp(log_chi)
    return -jnp.log(2.0 * chi * -rs_outer_mean(chi, kappa))


def sat_threshold(kappa: float) -> Quantities:
    """``α_sat(κ)``: where the level-0 ground-state energy reaches 0, with the optimal ``χ``.

    Returns :class:`~jaxcap.result.Quantities` (``kind="sat"``): ``alpha``, ``kappa``,
    ``level``, ``chi``, ``seconds``.
    """
    if not np.isfinite(kappa):
        raise ValueError(f"kappa must be finite, got {kappa!r}")
    t0 = time.perf_counter()
    res = minimize_scalar(lambda u: float(_log_ratio(u, float(kappa))), bounds=(-6.0, 80.0),
                          method="bounded", options={"xatol": 1e-10})
    return Quantities("sat", {"alpha": float(np.exp(res.fun)), "kappa": float(kappa), "level": 0,
                              "chi": float(np.exp(res.x)), "seconds": time.perf_counter() - t0})
