"""Quadrature rules for expectations over a standard normal variable.

``E_z g(z) ≈ Σ_k w_k g(z_k)`` with probabilists' Gauss–Hermite nodes (weight
``e^{-z²/2}/√(2π)``), normalised so that ``Σ_k w_k = 1``.  The nodes come from
``scipy.special.roots_hermitenorm`` (Golub–Welsch with Newton refinement),
which stays accurate past 300 nodes where ``numpy.polynomial.hermite_e``
overflows.  Nodes whose weight underflows to zero in float64 are dropped: they
contribute nothing and would put ``log 0`` into log-sum-exps.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["gauss_hermite"]


@functools.lru_cache(maxsize=None)
def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``z_k`` and log-weights ``log w_k`` of the ``nodes``-point rule for N(0, 1).

    Returned as read-only float64 numpy arrays (cached per node count).
    """
    if int(nodes) != nodes or nodes < 1:
        raise ValueError(f"number of quadrature nodes must be a positive integer, got {nodes!r}")
    from scipy.special import roots_hermitenorm  # SciPy loads only where a rule is built

    z, w = roots_hermitenorm(int(nodes))
    w = w / w.sum()
    keep = w > 0.0
    z, logw = z[keep], np.log(w[keep])
    z.setflags(write=False)
    logw.setflags(write=False)
    return z, logw
