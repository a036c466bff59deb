"""The zero-temperature single-site problem and its innermost Gaussian smoothing.

``docs/theory.md#leaf``.  With ``a = √(2χ)``

    f_r(h) = max_u [ −(u − h)²/(2χ) − 1[u > κ] ]
           = 0 (h ≤ κ),   −(h − κ)²/(2χ) (κ < h < κ + a),   −1 (h ≥ κ + a)     (leaf)

is the Moreau envelope of the threshold potential ``V_κ``.  Its smoothing by a
Gaussian of variance ``s²`` at inverse temperature ``m`` has a closed form
(``d = h − κ``, ``A = 1/s² + m/χ``, ``B = d/(s²√A)``):

    E_z e^{m f_r(h + s z)} = Φ(−d/s) + e^{−m} Φ((d − a)/s)
                             + e^{−m d²/(2(χ + m s²))} / (s√A) · [Φ(√A a − B) − Φ(−B)]

which :func:`innermost_log_mgf` evaluates in log space.  Every level above it
integrates a smooth function.

At the zero-energy line (``docs/theory.md#zero-energy``) ``χ → ∞`` with
``y = m/χ`` fixed, and ``χ f_r`` tends to the quadratic hinge
``g_r(h) = −(h − κ)_+²/2`` (:func:`leaf_hinge`).  Its smoothing at ``y`` is a
Gaussian times a normal CDF (``d = h − κ``, ``c = 1 + y s²``):

    E_z e^{−y (d + s z)_+²/2} = Φ(−d/s) + e^{−y d²/(2c)} / √c · Φ(d/(s√c))

which :func:`hinge_innermost_log_mgf` evaluates in log space.
"""
from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import log_ndtr, logsumexp

__all__ = ["leaf_moreau", "innermost_log_mgf", "innermost_level", "leaf_hinge", "hinge_innermost_log_mgf",
           "hinge_innermost_level", "innermost_log_pieces", "hinge_innermost_log_pieces"]


def leaf_moreau(h, chi, kappa):
    """``f_r(h)``: the Moreau envelope of ``1[u > κ]`` with parameter ``χ`` (``docs/theory.md#leaf``)."""
    d = h - kappa
    a = jnp.sqrt(2.0 * chi)
    quad = -(d**2) / (2.0 * chi)
    return jnp.where(d <= 0.0, 0.0, jnp.where(d < a, quad, -1.0))


def _ordered_tails(b, c):
    """``(hi, lo)`` with ``Φ(b) − Φ(c) = Φ(hi) − Φ(lo)`` and ``hi`` never in the upper tail.

    For ``c > 0`` it uses ``Φ(b) − Φ(c) = Φ(−c) − Φ(−b)``, so that the larger
    term is never a rounded 1.
    """
    upper = c > 0.0
    return jnp.where(upper, -c, b), jnp.where(upper, -b, c)


def _log_diff(log_hi, log_lo):
    """``log(e^{log_hi} − e^{log_lo})`` for ``log_hi > log_lo``."""
    return log_hi + jnp.log1p(-jnp.exp(log_lo - log_hi))


def innermost_log_pieces(h, chi, s2, m, kappa):
    """The logs of the three terms of the closed form of :func:`innermost_log_mgf`, stacked on a first
    axis in the order ``(below, above, middle)``: ``h + s z`` ending below ``κ``, at or beyond ``κ + a``,
    and in between (``docs/theory.md#leaf``).

    Each is ``log E_z[e^{m f_r(h + s z)} 1[h + s z ∈ region]]``, so their softmax is the law of the
    region under the tilted last step (``docs/theory.md#structure``).  The four normal log-CDFs are
    evaluated as one stacked ``log_ndtr`` call: one copy of that (large) special function in the
    compiled program instead of four.
    """
    s = jnp.sqrt(s2)
    d = h - kappa
    a = jnp.sqrt(2.0 * chi)
    big_a = 1.0 / s2 + m / chi
    sqrt_a = jnp.sqrt(big_a)
    b = d / (s2 * sqrt_a)
    hi, lo = _ordered_tails(sqrt_a * a - b, -b)
    log_cdf = log_ndtr(jnp.stack(jnp.broadcast_arrays(-d / s, (d - a) / s, hi, lo)))
    below = log_cdf[0]
    above = -m + log_cdf[1]
    middle = (-m * d**2 / (2.0 * (chi + m * s2)) - jnp.log(s * sqrt_a)
              + _log_diff(log_cdf[2], log_cdf[3]))
    return jnp.stack([below, above, middle])


def innermost_log_mgf(h, chi, s2, m, kappa):
    """``log E_z exp(m f_r(h + s z))`` in closed form, ``s² = s2`` (``docs/theory.md#leaf``).

    The result is at least ``−m`` (since ``f_r ≥ −1``); the three pieces
    (:func:`innermost_log_pieces`) are combined with a log-sum-exp so that large ``m``
    does not underflow.
    """
    return logsumexp(innermost_log_pieces(h, chi, s2, m, kappa), axis=0)


def innermost_level(h, chi, s2, m, kappa):
    """``f_{r−1}(h) = (1/m) log E_z exp(m f_r(h + s z))`` (``docs/theory.md#functional``)."""
    return innermost_log_mgf(h, chi, s2, m, kappa) / m


def leaf_hinge(h, kappa):
    """``g_r(h) = −(h − κ)_+²/2``: the limit of ``χ f_r(h)`` as ``χ → ∞`` (``docs/theory.md#zero-energy``)."""
    d = jnp.maximum(h - kappa, 0.0)
    return -0.5 * d**2


def hinge_innermost_log_pieces(h, s2, y, kappa):
    """The logs of the two terms of the closed form of :func:`hinge_innermost_log_mgf`, stacked on a first
    axis in the order ``(below, inside)``: ``h + s z`` ending below ``κ``, and above it (a contact on the
    zero-energy line, ``docs/theory.md#structure``).  The two normal log-CDFs are evaluated as one
    stacked ``log_ndtr`` call."""
    s = jnp.sqrt(s2)
    d = h - kappa
    c = 1.0 + y * s2
    log_cdf = log_ndtr(jnp.stack(jnp.broadcast_arrays(-d / s, d / (s * jnp.sqrt(c)))))
    inside = -y * d**2 / (2.0 * c) - 0.5 * jnp.log(c) + log_cdf[1]
    return jnp.stack([log_cdf[0], inside])


def hinge_innermost_log_mgf(h, s2, y, kappa):
    """``log E_z exp(y g_r(h + s z))`` in closed form, ``s² = s2`` (``docs/theory.md#zero-energy``).

    ``log(Φ(−d/s) + e^{−y d²/(2c)} Φ(d/(s√c))/√c)`` with ``d = h − κ`` and
    ``c = 1 + y s²``, the two terms (:func:`hinge_innermost_log_pieces`) combined by a
    log-sum-exp: exact in both tails (``0`` far left, ``−y d²/(2c) − ln(c)/2`` far right,
    no underflow).
    """
    return logsumexp(hinge_innermost_log_pieces(h, s2, y, kappa), axis=0)


def hinge_innermost_level(h, s2, y, kappa):
    """``g_{r−1}(h) = (1/y) log E_z exp(y g_r(h + s z))`` (``docs/theory.md#zero-energy``)."""
    return hinge_innermost_log_mgf(h, s2, y, kappa) / y
