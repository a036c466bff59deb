"""Piecewise-quadratic potentials ``V`` and their zero-temperature leaves (``docs/theory.md#potentials``).

A potential is given by ``P`` pieces on the intervals ``(t_{k−1}, t_k)`` of ``u``
(``t_{−1} = −∞``, ``t_{P−1} = +∞``), each ``V_k(u) = a_k u² + b_k u + c_k`` with
``a_k ≥ 0`` (convex pieces: then every cell below is a Gaussian integral); ``V``
may jump at a breakpoint, where it takes the smaller of its two sides (the
lower-semicontinuous choice, so that every maximum below is attained).

**The leaf** is the Moreau envelope ``f(h) = max_u [−(u − h)²/(2χ) − V(u)]``.  On
piece ``k`` the maximiser is the stationary point ``u = (h − b_k χ)/D_k``,
``D_k = 1 + 2 a_k χ``, clipped to the piece, so ``f`` is the largest of ``2P − 1``
quadratics in ``h`` (:func:`leaf_candidates`):

* the interior of piece ``k`` (where the stationary point lies inside it, i.e.
  ``h ∈ [t_{k−1} D_k + b_k χ, t_k D_k + b_k χ]``):
  ``−[(a_k h² + b_k h − b_k² χ/2)/D_k + c_k]``;
* the breakpoint ``t_k`` (everywhere): ``−(t_k − h)²/(2χ) − min(V_{k}(t_k), V_{k+1}(t_k))``.

Between the points where two candidates cross or a candidate's range ends
(:func:`leaf_cells`) one candidate is the largest, so ``f`` is one quadratic
``A h² + B h + C`` on each cell (``A ≤ 0``).

**The innermost level** ``E_z exp(m f(h + s z))`` is then a sum over cells of
Gaussian integrals of exponentials of quadratics (:func:`innermost_log_mgf`):
with ``P = 1 − 2mAs²``, ``Q = ms(2Ah + B)``, ``R = m(Ah² + Bh + C)`` and the cell
``(α, β)`` in ``z``,

    ∫_α^β e^{m f(h + s z)} φ(z) dz = e^{R + Q²/(2P)} / √P · [Φ(√P β − Q/√P) − Φ(√P α − Q/√P)].

The count ``1[u > κ]`` is :func:`count`; its innermost level agrees with the
closed form of :func:`jaxcap._src.leaf.innermost_log_mgf`.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, logsumexp, ndtr

__all__ = ["Potential", "count", "linear", "quadratic", "BUILT_IN", "from_pieces", "corners", "load", "named", "key", "from_key",
           "shifted", "vanishes_exactly_below_zero", "potential_value", "leaf_candidates", "leaf_cells", "leaf",
           "leaf_edges", "asymptotes", "smoothed_quadratic", "innermost_log_mgf", "innermost_level", "rs_outer_mean"]

_INV_SQRT_2PI = 0.3989422804014327
#: Where the leaf's outermost cells end: a field ``FAR`` away carries no Gaussian mass in float64.
FAR = 1e6
#: Relative size of a discriminant below which two candidates touch instead of crossing.
TANGENT = 1e-10
#: Relative width below which a cell of the leaf counts as empty.
SLIVER = 1e-13


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Potential:
    """``V(u) = a_k u² + b_k u + c_k`` on the ``k``-th interval between the increasing ``breaks``.

    A pytree of arrays (``breaks`` of shape ``(P − 1,)``, ``a``, ``b``, ``c`` of shape ``(P,)``), so
    every coefficient may be traced and differentiated; ``name`` and ``corners`` are static metadata.
    ``corners`` lists the breakpoints whose candidate the leaf needs (:func:`corners`; ``None``: all).
    """

    breaks: jax.Array
    a: jax.Array
    b: jax.Array
    c: jax.Array
    name: str = dataclasses.field(default="custom", metadata=dict(static=True))
    corners: tuple | None = dataclasses.field(default=None, metadata=dict(static=True))

    @property
    def pieces(self) -> int:
        return self.a.shape[0]

    @staticmethod
    def count(kappa=0.0) -> "Potential":
        """``V = 1[u > κ]`` (:func:`count`)."""
        return count(kappa)

    @staticmethod
    def linear(kappa=0.0) -> "Potential":
        """``V = (u − κ)_+`` (:func:`linear`)."""
        return linear(kappa)

    @staticmethod
    def quadratic(kappa=0.0) -> "Potential":
        """``V = (u − κ)_+²/2`` (:func:`quadratic`)."""
        return quadratic(kappa)

    @staticmethod
    def from_pieces(breaks, a, b, c, name: str = "custom") -> "Potential":
        """A potential from its breakpoints and coefficients, checked (:func:`from_pieces`)."""
        return from_pieces(breaks, a, b, c, name)

    def vanishes_exactly_below_zero(self) -> bool:
        """Whether ``V = 0`` on ``u ≤ 0`` and ``V > 0`` on ``u > 0``: then its zero-energy line is the
        count's (:func:`vanishes_exactly_below_zero`)."""
        return vanishes_exactly_below_zero(self)

    @staticmethod
    def load(path) -> "Potential":
        """A potential from a JSON file (:func:`load`)."""
        return load(path)

    def as_dict(self) -> dict:
        """The JSON form read back by :func:`load`."""
        return {"name": self.name, "breaks": [float(v) + 0.0 for v in np.asarray(self.breaks)],
                "pieces": [{"a": float(a) + 0.0, "b": float(b) + 0.0, "c": float(c) + 0.0}
                           for a, b, c in zip(np.asarray(self.a), np.asarray(self.b), np.asarray(self.c))]}


def from_pieces(breaks, a, b, c, name: str = "custom") -> Potential:
    """A :class:`Potential` from its breakpoints and coefficients, checked when they are concrete.

    Raises:
        ValueError: shapes that do not fit, breakpoints not strictly increasing or not finite,
            coefficients not finite, or an outer piece with ``a < 0`` (``V`` unbounded below).
    """
    breaks, a, b, c = (jnp.atleast_1d(jnp.asarray(v, dtype=jnp.float64)) for v in (breaks, a, b, c))
    if breaks.ndim != 1 or a.ndim != 1:
        raise ValueError("breaks and coefficients must be lists of numbers")
    if not (a.shape == b.shape == c.shape == (breaks.shape[0] + 1,)):
        raise ValueError(f"a potential with {breaks.shape[0]} breakpoints has {breaks.shape[0] + 1} pieces, "
                         f"got coefficient lists of lengths {a.shape[0]}, {b.shape[0]}, {c.shape[0]}")
    if not any(isinstance(v, jax.core.Tracer) for v in (breaks, a, b, c)):
        if not all(bool(jnp.all(jnp.isfinite(v))) for v in (breaks, a, b, c)):
            raise ValueError("the breakpoints and coefficients of a potential must be finite")
        if breaks.size > 1 and not bool(jnp.all(jnp.diff(breaks) > 0)):
            raise ValueError("the breakpoints of a potential must be strictly increasing")
        if bool(jnp.any(a < 0)):
            raise ValueError("every piece of a potential needs a >= 0 (convex pieces; V bounded below)")
        if a.shape[0] == 1 and float(a[0]) == 0 and float(b[0]) != 0:
            raise ValueError("a linear potential on the whole line is unbounded below")
        if float(a[0]) == 0 and float(b[0]) > 0 or float(a[-1]) == 0 and float(b[-1]) < 0:
            raise ValueError("the outer pieces of a potential must not decrease to -infinity")
        return Potential(breaks, a, b, c, name, corners(*(np.asarray(v) for v in (breaks, a, b, c))))
    return Potential(breaks, a, b, c, name)


def corners(breaks, a, b, c) -> tuple:
    """The indices ``k`` of the breakpoints whose candidate the leaf needs (concrete coefficients): where
    ``V`` jumps, or its slope rises (``V'(t_k^+) > V'(t_k^−)``).  Elsewhere the stationary ranges of the
    two pieces meet or overlap, so the clipped interiors already give the maximum (module docstring)."""
    t = np.asarray(breaks, float)
    a, b, c = (np.asarray(v, float) for v in (a, b, c))
    left, right = a[:-1] * t**2 + b[:-1] * t + c[:-1], a[1:] * t**2 + b[1:] * t + c[1:]
    rise = (2.0 * a[1:] * t + b[1:]) - (2.0 * a[:-1] * t + b[:-1])
    return tuple(int(k) for k in np.flatnonzero((left != right) | (rise > 0.0)))


def count(kappa=0.0) -> Potential:
    """``V = 1[u > κ]``: the count of fields above ``κ`` (injectivity at ``κ = 0``)."""
    return Potential(jnp.reshape(jnp.asarray(kappa, jnp.float64), (1,)), jnp.zeros(2), jnp.zeros(2),
                     jnp.array([0.0, 1.0]), "count", (0,))


def linear(kappa=0.0) -> Potential:
    """``V = (u − κ)_+``: the linear hinge."""
    kappa = jnp.asarray(kappa, jnp.float64)
    return Potential(jnp.reshape(kappa, (1,)), jnp.zeros(2), jnp.array([0.0, 1.0]),
                     jnp.stack([jnp.zeros(()), -kappa]), "linear", (0,))


def quadratic(kappa=0.0) -> Potential:
    """``V = (u − κ)_+²/2``: the quadratic hinge of jamming."""
    kappa = jnp.asarray(kappa, jnp.float64)
    return Potential(jnp.reshape(kappa, (1,)), jnp.array([0.0, 0.5]), jnp.stack([jnp.zeros(()), -kappa]),
                     jnp.stack([jnp.zeros(()), 0.5 * kappa**2]), "quadratic", ())


#: The built-in potentials by name, each a function of ``κ``.
BUILT_IN = {"count": count, "linear": linear, "quadratic": quadratic}


def named(spec) -> "Potential | None":
    """The potential a solve's ``potential=`` names, at ``κ = 0`` (the solve shifts it to its ``κ``:
    ``V_κ(u) = V(u − κ)``, :func:`shifted`): ``None`` for the count (``None`` or ``"count"``: the count's
    own closed forms), a built-in by name, a :class:`Potential`, or a JSON file (:func:`load`).

    Raises:
        ValueError: an unknown name, a file that holds no valid potential.
        TypeError: anything else.
    """
    if spec is None or isinstance(spec, str) and spec == "count":
        return None
    if isinstance(spec, Potential):
        return spec
    if isinstance(spec, str) and spec in BUILT_IN:
        return from_key(_built_in_key(spec), host=True)
    if isinstance(spec, (str, Path)):
        if not str(spec).endswith(".json"):
            raise ValueError(f"unknown potential {str(spec)!r} (expected {', '.join(BUILT_IN)} or a FILE.json)")
        return load(spec)
    raise TypeError(f"potential must be a name ({', '.join(BUILT_IN)}), a Potential or a JSON file, got "
                    f"{type(spec).__name__}")


@functools.lru_cache(maxsize=None)
def _built_in_key(name: str) -> tuple:
    return key(BUILT_IN[name](0.0))


def key(potential: Potential) -> tuple:
    """A hashable form of a concrete ``potential`` (the static field of an engine): ``(name, breaks, a, b, c)``."""
    return (potential.name, *(tuple(float(v) for v in np.asarray(arr))
                              for arr in (potential.breaks, potential.a, potential.b, potential.c)))


def from_key(spec: tuple, host: bool = False) -> Potential:
    """The :class:`Potential` of :func:`key` (``host``: of NumPy arrays, for queries on the host)."""
    name, *arrays = spec
    return Potential(*((np.asarray(v, np.float64) if host else jnp.asarray(v, jnp.float64)) for v in arrays), name,
                     corners(*arrays))


def shifted(potential: Potential, kappa) -> Potential:
    """``V(u − κ)``: every breakpoint moved by ``κ``, each piece re-expanded
    (``a(u − κ)² + b(u − κ) + c = a u² + (b − 2aκ) u + (aκ² − bκ + c)``)."""
    a, b, c = potential.a, potential.b, potential.c
    return Potential(potential.breaks + kappa, a, b - 2.0 * a * kappa, a * kappa**2 - b * kappa + c,
                     potential.name, potential.corners)


def vanishes_exactly_below_zero(potential: Potential) -> bool:
    """Whether ``V = 0`` on ``(−∞, 0]`` and ``V > 0`` on ``(0, ∞)`` (a concrete potential): then as
    ``χ → ∞`` its leaf tends to the hinge's, and its zero-energy line is the count's
    (``docs/theory.md#potentials``)."""
    t = np.concatenate([[-np.inf], np.asarray(potential.breaks, float), [np.inf]])
    for k, (a, b, c) in enumerate(zip(*(np.asarray(v, float) for v in (potential.a, potential.b, potential.c)))):
        lo, hi = t[k], t[k + 1]
        if lo < 0.0 and (a, b, c) != (0.0, 0.0, 0.0):
            return False
        if hi <= 0.0:
            continue
        start = max(lo, 0.0)
        # the piece's minimiser on [start, hi] (from_pieces refuses an outer piece decreasing to ∞)
        u = min(max(-b / (2.0 * a), start), hi) if a > 0 else (start if b >= 0 else hi)
        if a * u**2 + b * u + c > 0.0:
            continue
        # V(start) = 0 is allowed only at u = 0 itself, with V rising at once
        if not (u == start == 0.0 and c == 0.0 and (b > 0.0 or b == 0.0 and a > 0.0)):
            return False
    return True


def load(path: str | Path) -> Potential:
    """A potential from a JSON file ``{"breaks": [...], "pieces": [{"a":…, "b":…, "c":…}, …]}``.

    Raises:
        ValueError: the file cannot be read or parsed, or describes no valid potential.
    """
    try:
        spec = json.loads(Path(path).read_text())
        pieces = spec["pieces"]
        a, b, c = ([float(p[key]) for p in pieces] for key in "abc")
        breaks = [float(t) for t in spec.get("breaks", [])]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"cannot read a potential from {str(path)!r}: {err}") from None
    return from_pieces(breaks, a, b, c, name=str(spec.get("name", "custom")))


def potential_value(potential: Potential, u):
    """``V(u)``, the lower-semicontinuous value at the breakpoints."""
    k = jnp.searchsorted(potential.breaks, u, side="left")          # u in (t_{k−1}, t_k]
    value = potential.a[k] * u**2 + potential.b[k] * u + potential.c[k]
    at_break = jnp.isin(u, potential.breaks)
    right = jnp.minimum(k + 1, potential.pieces - 1)
    other = potential.a[right] * u**2 + potential.b[right] * u + potential.c[right]
    return jnp.where(at_break, jnp.minimum(value, other), value)


def _piece_value(potential: Potential, k, u):
    return potential.a[k] * u**2 + potential.b[k] * u + potential.c[k]


def leaf_candidates(potential: Potential, chi):
    """The quadratics ``A h² + B h + C`` (``A < 0``) whose largest valid one is the leaf, and the ranges
    ``[lo, hi]`` of ``h`` where each is valid (module docstring): the interiors of the ``P`` pieces, then
    the breakpoints of :attr:`Potential.corners` (all ``P − 1`` when it is ``None``).  Returns
    ``(A, B, C, lo, hi)``; an unbounded range ends at ``±FAR``."""
    t, a, b, c = potential.breaks, potential.a, potential.b, potential.c
    kept = np.arange(t.shape[0]) if potential.corners is None else np.asarray(potential.corners, int)
    d = 1.0 + 2.0 * a * chi                                             # >= 1: every piece is convex
    ia, ib, ic = -a / d, -b / d, b**2 * chi / (2.0 * d) - c
    far = jnp.full((1,), FAR)
    ilo = jnp.concatenate([-far, t * d[1:] + b[1:] * chi])
    ihi = jnp.concatenate([t * d[:-1] + b[:-1] * chi, far])
    t = t[kept]
    v_break = jnp.minimum(_piece_value(potential, kept, t), _piece_value(potential, kept + 1, t))
    ea = jnp.full_like(t, -0.5 / chi)
    eb, ec = t / chi, -(t**2) / (2.0 * chi) - v_break
    whole = jnp.full_like(t, FAR)
    return (jnp.concatenate([ia, ea]), jnp.concatenate([ib, eb]), jnp.concatenate([ic, ec]),
            jnp.concatenate([ilo, -whole]), jnp.concatenate([ihi, whole]))


def _crossings(a, b, c):
    """The transversal real roots of ``a w² + b w + c``, stably (``FAR`` where a root does not exist).

    A double root (two candidates touching) is dropped: on both sides of it the same candidate is the
    larger, so it is no edge of the leaf, and its position has no finite derivative."""
    disc = b**2 - 4.0 * a * c
    transversal = disc > TANGENT * (b**2 + jnp.abs(4.0 * a * c))
    root = jnp.sqrt(jnp.where(transversal, disc, 1.0))
    q = -0.5 * (b + jnp.where(b >= 0.0, root, -root))
    ok1 = transversal & (a != 0.0)
    ok2 = transversal & (q != 0.0)
    r1 = jnp.where(ok1, q / jnp.where(ok1, a, 1.0), FAR)
    r2 = jnp.where(ok2, c / jnp.where(ok2, q, 1.0), FAR)
    return jnp.clip(jnp.concatenate([r1, r2]), -FAR, FAR)


def leaf_cells(potential: Potential, chi):
    """The leaf as cells: ``(left, right, A, B, C)``, on each cell ``(left_i, right_i)`` (sorted, the
    first from ``−FAR``, the last to ``FAR``, some empty) the leaf ``A_i h² + B_i h + C_i``."""
    ca, cb, cc, lo, hi = leaf_candidates(potential, chi)
    i, j = np.triu_indices(ca.shape[0], k=1)
    edges = jnp.sort(jnp.concatenate([_crossings(ca[i] - ca[j], cb[i] - cb[j], cc[i] - cc[j]), lo, hi]))
    left, right = edges[:-1], edges[1:]
    probe = 0.5 * (left + right)
    value = ca * probe[:, None] ** 2 + cb * probe[:, None] + cc
    valid = (lo <= probe[:, None]) & (probe[:, None] <= hi)
    best = jnp.argmax(jnp.where(valid, value, -jnp.inf), axis=1)
    return left, right, ca[best], cb[best], cc[best]


def leaf(h, chi, potential: Potential):
    """``f(h) = max_u [−(u − h)²/(2χ) − V(u)]``, the largest valid candidate at each ``h``."""
    ca, cb, cc, lo, hi = leaf_candidates(potential, chi)
    h = jnp.asarray(h)[..., None]
    value = ca * h**2 + cb * h + cc
    return jnp.max(jnp.where((lo <= h) & (h <= hi), value, -jnp.inf), axis=-1)


@functools.lru_cache(maxsize=256)
def leaf_edges(spec: tuple, chi: float) -> tuple[float, float]:
    """The smallest and largest finite cell edge of the leaf of the potential :func:`key` ``spec`` at a
    concrete ``χ`` (on the host; remembered): outside ``[lo, hi]`` the leaf is its outermost quadratics
    (:func:`asymptotes`)."""
    left, right = (np.asarray(v) for v in _cell_edges(from_key(spec, host=True), chi))
    edges = np.concatenate([left[1:], right[:-1]])
    edges = edges[np.abs(edges) < 0.5 * FAR]
    return (float(edges.min()), float(edges.max())) if edges.size else (0.0, 0.0)


@jax.jit
def _cell_edges(potential: Potential, chi):
    """The ``(left, right)`` edges of :func:`leaf_cells`, in one compiled call (host-side queries)."""
    return leaf_cells(potential, chi)[:2]


def asymptotes(potential: Potential, chi):
    """``((A, B, C) left, (A, B, C) right)``: the leaf's quadratics below its first edge and beyond its last."""
    _, _, ca, cb, cc = leaf_cells(potential, chi)
    return (ca[0], cb[0], cc[0]), (ca[-1], cb[-1], cc[-1])


def smoothed_quadratic(coeffs, s2, m):
    """``(1/m) log E_z exp(m g(h + s z))`` of the quadratic ``g = A h² + B h + C`` (``A ≤ 0``, ``s² = s2``),
    again a quadratic: with ``P = 1 − 2mAs²``, ``(A/P, B/P, C + m s² B²/(2P) − ln(P)/(2m))``.  The levels'
    asymptotes beyond a grid (``docs/theory.md#potentials``)."""
    a, b, c = coeffs
    p = 1.0 - 2.0 * m * a * s2
    return a / p, b / p, c + m * s2 * b**2 / (2.0 * p) - jnp.log(p) / (2.0 * m)


def _log_ndtr_diff(upper, lower):
    """``log(Φ(upper) − Φ(lower))`` for ``upper ≥ lower``, evaluated in the tail where neither term rounds
    to 1; ``−∞``, with finite gradients, on an empty cell or a sliver narrower than :data:`SLIVER` (two
    edges one rounding apart: its mass is below ``1e−13``)."""
    flip = lower > 0.0
    hi, lo = jnp.where(flip, -lower, upper), jnp.where(flip, -upper, lower)
    empty = ~(hi - lo > SLIVER * (1.0 + jnp.abs(hi)))
    log_hi = log_ndtr(jnp.where(empty, 1.0, hi))
    log_lo = log_ndtr(jnp.where(empty, 0.0, lo))
    return jnp.where(empty, -jnp.inf, log_hi + jnp.log1p(-jnp.exp(log_lo - log_hi)))


def innermost_log_mgf(h, chi, s2, m, potential: Potential):
    """``log E_z exp(m f(h + s z))`` in closed form, ``s² = s2``: a log-sum-exp over the leaf's cells
    of the Gaussian integrals of the module docstring (``docs/theory.md#potentials``)."""
    left, right, ca, cb, cc = leaf_cells(potential, chi)
    h = jnp.asarray(h)[..., None]
    s = jnp.sqrt(s2)
    p = 1.0 - 2.0 * m * ca * s2
    q = m * s * (2.0 * ca * h + cb)
    r = m * (ca * h**2 + cb * h + cc)
    sp = jnp.sqrt(p)
    z_lo, z_hi = (left - h) / s, (right - h) / s
    shift = q / sp
    log_mass = _log_ndtr_diff(sp * z_hi - shift, sp * z_lo - shift)
    terms = r + q**2 / (2.0 * p) - 0.5 * jnp.log(p) + log_mass
    return logsumexp(terms, axis=-1)


def innermost_level(h, chi, s2, m, potential: Potential):
    """``f_{r−1}(h) = (1/m) log E_z exp(m f(h + s z))`` (``docs/theory.md#potentials``)."""
    return innermost_log_mgf(h, chi, s2, m, potential) / m


def rs_outer_mean(chi, potential: Potential):
    """``G_0 = E_z f(z)`` in closed form: per cell ``(α, β)`` the truncated moments
    ``∫ z^k φ`` (``k ≤ 2``) of the standard normal times the cell's quadratic."""
    left, right, ca, cb, cc = leaf_cells(potential, chi)

    def phi_t(t):                                                       # (φ(t), t φ(t))
        dens = _INV_SQRT_2PI * jnp.exp(-0.5 * t**2)
        return dens, t * dens

    (pl, tpl), (pr, tpr) = phi_t(left), phi_t(right)
    flip = left > 0.0
    m0 = jnp.where(flip, ndtr(-left) - ndtr(-right), ndtr(right) - ndtr(left))
    m1 = pl - pr
    m2 = m0 + tpl - tpr
    return jnp.sum(ca * m2 + cb * m1 + cc * m0)
