"""Parameters of the level-r functional and their unconstrained coordinates.

A level-r point is ``(χ, q, x)`` with ``χ > 0``, ``0 < q_0 < … < q_{r−1} < 1``
and ``0 < x_0 < … < x_{r−1}`` (``docs/theory.md#functional``).  The solver works in unconstrained
coordinates ``u ∈ R^{2r+1}`` (``docs/theory.md#solver``):

* ``χ = e^{u_0}``;
* the increments ``p = (q_0, q_1 − q_0, …, 1 − q_{r−1})`` are the softmax of the
  ``r`` logits ``u_1 … u_r`` and a last logit pinned at 0 (pinning removes the
  softmax's gauge direction, which would make the Hessian singular);
* the increments ``(x_0, x_1 − x_0, …)`` are ``e^{u_{r+1}}, …, e^{u_{2r}}``.

The map is a diffeomorphism onto the open parameter domain, so stationary
points and the sign of the Hessian there are the same in both coordinates.

The zero-energy line (``docs/theory.md#zero-energy``) has no ``χ``: its points
``(q, y)`` use the same coordinates without ``u_0`` (:func:`from_reduced`,
:func:`to_reduced`), as a :class:`Params` with ``χ = 1`` and ``x = y``.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Params", "level_of", "flat", "to_unconstrained", "from_unconstrained", "from_reduced", "to_reduced",
           "degeneracy", "split_level", "extrapolated_level", "lambdas"]


class Params(NamedTuple):
    """A point ``(χ, q, x)`` of the level-``r`` functional (``r = len(q)``): a JAX pytree of arrays.

    It is the ``params`` of every :class:`~jaxcap._src.result.Result`.  Its fields are also read by name,
    ``params["q"]``; on the zero-energy line (``χ = 1``) ``params["y"]`` is ``x``, ``y_l = x_l/χ``.
    Integer indices and iteration are the tuple's ``(chi, q, x)``.
    """

    chi: jax.Array
    q: jax.Array
    x: jax.Array

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in _KEYS:
                raise KeyError(key)
            return getattr(self, _KEYS[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple:
        """The field names (``chi``, ``q``, ``x``)."""
        return self._fields

    def as_dict(self) -> dict:
        return {"chi": float(self.chi), "q": [float(v) for v in np.atleast_1d(self.q)],
                "x": [float(v) for v in np.atleast_1d(self.x)]}


def lambdas(scale, q, x):
    """``(Λ_0 … Λ_r, Δq)``: ``Λ_l = scale + Σ_{j=l}^{r−1} x_j (q_{j+1} − q_j)`` and the gaps
    ``Δq_l = q_{l+1} − q_l`` (``q_r = 1``, so ``Λ_r = scale``).

    With ``scale = χ`` these are the sphere term's ``Λ_l`` (``docs/theory.md#functional``); with
    ``scale = 1`` and ``x = y`` the zero-energy line's ``λ_l = Λ_l/χ``.  NumPy arrays give NumPy
    arrays (the engines' host planning), JAX arrays (traced included) JAX arrays.
    """
    xp = jnp if any(isinstance(v, jax.Array) for v in (scale, q, x)) else np
    dq = xp.diff(xp.concatenate([q, xp.ones(1, q.dtype)]))
    tail = xp.cumsum((x * dq)[::-1])[::-1]
    return scale + xp.concatenate([tail, xp.zeros(1, q.dtype)]), dq


#: Names a :class:`Params` is read by: its fields, and ``y`` (the zero-energy line's ``x``).
_KEYS = {"chi": "chi", "q": "q", "x": "x", "y": "x"}


def level_of(u) -> int:
    """The level ``r`` of an unconstrained vector of length ``2r + 1``."""
    return (u.shape[-1] - 1) // 2


def flat(params: Params) -> jax.Array:
    """``(χ, q_0 … q_{r−1}, x_0 … x_{r−1})`` as one vector of length ``2r + 1``."""
    return jnp.concatenate([jnp.atleast_1d(params.chi), params.q, params.x])


def from_unconstrained(u) -> Params:
    """``u ∈ R^{2r+1}`` ↦ ``(χ, q, x)``."""
    r = level_of(u)
    chi = jnp.exp(u[0])
    logits = jnp.concatenate([u[1:r + 1], jnp.zeros((1,), u.dtype)])
    p = jax.nn.softmax(logits)
    q = jnp.cumsum(p[:r])
    x = jnp.cumsum(jnp.exp(u[r + 1:]))
    return Params(chi, q, x)


def to_unconstrained(params: Params) -> np.ndarray:
    """Inverse of :func:`from_unconstrained`, on the host (NumPy: no device round trips).

    Batched too: ``chi`` of shape ``B`` with ``q``, ``x`` of shape ``B + (r,)`` give ``B + (2r + 1,)``.
    """
    chi, q, x = (np.asarray(v, dtype=np.float64) for v in params)
    if q.ndim == chi.ndim:  # one overlap per point, given without its axis
        q, x = q[..., None], x[..., None]
    if q.shape[-1] == 0:
        return np.log(chi)[..., None]
    edge = np.zeros(q.shape[:-1] + (1,))
    p = np.diff(np.concatenate([edge, q, edge + 1.0], axis=-1), axis=-1)
    logits = np.log(p[..., :-1]) - np.log(p[..., -1:])
    dx = np.diff(np.concatenate([edge, x], axis=-1), axis=-1)
    return np.concatenate([np.log(chi)[..., None], logits, np.log(dx)], axis=-1)


def from_reduced(u) -> Params:
    """``u ∈ R^{2r}`` ↦ ``(1, q, y)``: a zero-energy point, :func:`from_unconstrained` with ``u_0 = 0``."""
    return from_unconstrained(jnp.concatenate([jnp.zeros((1,), u.dtype), u]))


def to_reduced(params: Params) -> np.ndarray:
    """Inverse of :func:`from_reduced` (``params.chi`` is ignored)."""
    return to_unconstrained(Params(np.ones(()), params.q, params.x))[1:]


def degeneracy(params: Params, tol: float = 1e-4, gap_ratio: float = 0.05, gap_floor: float = 1e-3) -> str | None:
    """Why ``params`` is a merged-level (degenerate) point, or ``None`` if it is not.

    Level ``r`` collapses to a lower level when two overlaps merge
    (``q_{l+1} − q_l → 0``, or ``1 − q_{r−1} → 0``), when two breakpoints merge
    (``x_{l+1} − x_l → 0``, relative to ``x_{l+1}``) or when ``x_0 → 0``
    (``docs/theory.md#solver``).  Such stationary points are never level-``r`` solutions.

    An overlap gap counts as merged when it is both small (below ``gap_floor``) and
    below ``gap_ratio`` times the larger of its neighbouring gaps (``q_0``
    included).  Neither test alone separates the cases met: the gaps of a deep
    level shrink geometrically toward ``q = 1`` (each at least 0.087 of its larger
    neighbour at levels 1–30, the innermost one 1.2e−4 at level 13 and 1.4e−5 at
    level 30), while at large ``κ`` a genuine level-2 maximum has an innermost gap
    of 0.011 beside one of 0.95 (``κ = 3``); a merged point found by Newton sits
    at a gap far below both bounds.
    """
    q = np.atleast_1d(np.asarray(params.q, dtype=float))
    x = np.atleast_1d(np.asarray(params.x, dtype=float))
    if q.size == 0:
        return None
    gaps = np.diff(np.concatenate([[0.0], q, [1.0]]))          # q_0, q_1 − q_0, …, 1 − q_{r−1}
    inner = gaps[1:]
    ratio = inner / np.maximum(gaps[:-1], np.concatenate([gaps[2:], [0.0]]))
    merged = (ratio < gap_ratio) & (inner < gap_floor)
    if merged.any() or inner.min() <= 0.0:
        at = int(np.argmin(np.where(merged, ratio, np.inf))) if merged.any() else int(inner.argmin())
        return f"overlaps merged (q gap {inner[at]:.2e}, {ratio[at]:.2g} of its neighbour)"
    if x[0] < tol:
        return f"x_0 -> 0 ({x[0]:.2e})"
    if x.size > 1:
        rel = np.diff(x) / x[1:]
        if rel.min() < tol:
            return f"breakpoints merged (min relative x gap {rel.min():.2e})"
    return None


def split_level(params: Params, where: int, spread: float = 0.3) -> Params:
    """A level-``r+1`` start made by splitting interval ``where`` of a level-``r`` point.

    Interval ``j`` is ``(q_{j−1}, q_j)`` with ``q_{−1} = 0`` and ``q_r = 1``; it
    carries the breakpoint ``x_{j−1}`` (interval 0 is the plain outer average).
    A new overlap goes inside it (halfway in ``log(1 − q)``; in the innermost interval
    at ``1 − q = (1 − q_{r−1}) (r/(r+1))³``, about where level ``r + 1`` puts its
    innermost overlap, as measured over levels 1–5; at the middle of interval 0)
    and its breakpoint is
    split in two, ``spread`` apart on either side in log scale, so that the start
    is not the merged (degenerate) point itself (``docs/theory.md#solver``).
    """
    q = list(np.atleast_1d(np.asarray(params.q, dtype=float)))
    x = list(np.atleast_1d(np.asarray(params.x, dtype=float)))
    r = len(q)
    if not 0 <= where <= r:
        raise ValueError(f"split position must be in 0..{r}, got {where}")
    lo = q[where - 1] if where > 0 else 0.0
    hi = q[where] if where < r else 1.0
    new_q = 1.0 - np.sqrt((1.0 - lo) * (1.0 - hi)) if hi < 1.0 else 1.0 - (1.0 - lo) * (r / (r + 1.0)) ** 3
    if where == 0:
        new_q = 0.5 * hi
    q_new = sorted(q + [new_q])
    if r == 0:
        x_new = [1.0]
    elif where == 0:
        x_new = [x[0] * np.exp(-2.0 * spread)] + x
    else:
        i = where - 1
        x_new = x[:i] + [x[i] * np.exp(-spread), x[i] * np.exp(spread)] + x[i + 1:]
        # keep the breakpoints strictly increasing next to the split
        for k in range(1, len(x_new)):
            if x_new[k] <= x_new[k - 1]:
                x_new[k] = x_new[k - 1] * np.exp(spread / 2)
    return Params(np.asarray(float(params.chi)), np.asarray(q_new), np.asarray(x_new))


def _profile(params: Params, r: int):
    """``(log(1 − q_l), log x_l)`` of ``params`` read off at the ``r`` positions ``t = (l + ½)/r``.

    A level-``m`` point is a sampled Parisi function: its ``l``-th overlap and
    breakpoint sit at ``t = (l + ½)/m``.  A natural cubic spline through them
    (a constant for ``m = 1``, extrapolated linearly past the ends) resamples it.
    """
    from scipy.interpolate import CubicSpline
    q = np.atleast_1d(np.asarray(params.q, dtype=float))
    x = np.atleast_1d(np.asarray(params.x, dtype=float))
    m = q.size
    t_new = (np.arange(r) + 0.5) / r
    if m == 1:
        return np.full(r, np.log1p(-q[0])), np.full(r, np.log(x[0]))
    t_old = (np.arange(m) + 0.5) / m
    bc = "natural" if m > 2 else "not-a-knot"
    return tuple(CubicSpline(t_old, v, bc_type=bc)(t_new) for v in (np.log1p(-q), np.log(x)))


def extrapolated_level(older: Params, newer: Params) -> Params:
    """A level-``r`` start from the solutions at levels ``r − 2`` (``older``) and ``r − 1`` (``newer``).

    Both are resampled at the ``r`` positions of level ``r`` (:func:`_profile`),
    and ``log(1 − q_l)``, ``log x_l`` and ``log χ`` are extrapolated linearly in
    ``1/r`` from the two levels.  Far closer to the level-``r`` maximum than a
    split level (:func:`split_level`): at level 7, 0.11 against 1.6 in ``u``, and
    Newton needs 7 measurements instead of 23.  Overlaps and breakpoints are
    then sorted, so that the start is a valid point.
    """
    r = np.atleast_1d(np.asarray(newer.q)).size + 1
    if np.atleast_1d(np.asarray(older.q)).size != r - 2 or r < 3:
        raise ValueError("extrapolated_level needs the solutions at two consecutive levels >= 1")
    w = (1.0 / r - 1.0 / (r - 1)) / (1.0 / (r - 1) - 1.0 / (r - 2))
    (a1, b1), (a2, b2) = _profile(older, r), _profile(newer, r)
    log_gap = np.minimum(a2 + w * (a2 - a1), -1e-3)
    log_x = b2 + w * (b2 - b1)
    chi = np.log(float(newer.chi)) + w * (np.log(float(newer.chi)) - np.log(float(older.chi)))
    q = 1.0 - np.exp(np.sort(log_gap)[::-1])
    x = np.exp(np.sort(log_x))
    return Params(np.asarray(np.exp(chi)), q, x)
