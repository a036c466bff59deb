"""Grid engine: nested expectations level by level on uniform grids in ``h`` (``docs/theory.md#engines``).

Every ``f_l`` depends on ``h`` only through ``d = h − κ``.  Level ``l`` lives on
the uniform grid ``d_i = lo + i Δ_l``; the innermost spacing ``Δ_{r−1}`` is the
finest and every outer spacing is a power-of-two multiple ``Δ_l = s_l Δ_{r−1}``
of it (``s_l ≥ s_{l+1}``: the outer levels are smoother, so they need fewer points):

* the innermost level ``f_{r−1}`` is the closed form of :mod:`jaxcap._src.leaf`
  evaluated on its grid (exact);
* each level above it is a discrete Gaussian smoothing (trapezoid rule on the
  grid of the level below, kernel truncated at ``cutoff`` standard deviations
  of the level's cover ``level_caps[l]``), done as a direct convolution of
  positive terms evaluated only at the points of the coarser grid
  (:func:`sliding_dot` with ``stride = s_l / s_{l+1}``)

      f_l(lo + i Δ_l) = (1/x_l) log Σ_j w_j exp(x_l f_{l+1}(lo + i Δ_l + j Δ_{l+1})),
      w_j ∝ exp(−(j Δ_{l+1})² / (2(q_{l+1} − q_l)))

  so that every value keeps its relative precision (an FFT would not: the terms
  span ``e^{−x_l} … 1``).  Beyond the grid ``f_l`` takes its asymptotes, 0 on the
  left and −1 on the right, which the grid range makes exact to ~1e−19;
* the outer mean ``G = ∫ f_0(h) N(h; 0, q_0) dh`` is the trapezoid rule on the
  grid of ``f_0``, with weights ``N(d_i + κ; 0, q_0)``.

With ``leaf="hinge"`` (the zero-energy line, ``docs/theory.md#zero-energy``) the
levels are ``g_l = (1/y_l) log E exp(y_l g_{l+1})`` of the hinge
``−(h − κ)_+²/2`` (``x`` holds ``y``, ``χ`` is unused).  They are unbounded
below, so the terms ``exp(y_l g_{l+1})`` span far more than a float64 exponent:
the smoothing sums them in log space (:func:`sliding_logsumexp`), and beyond the grid ``g_l`` takes its exact right
asymptote, the quadratic ``−d²/(2λ_l) − b_l`` with ``λ_r = 1``, ``b_r = 0``,
``λ_l = λ_{l+1} + y_l (q_{l+1} − q_l)`` and ``b_l = b_{l+1} + ln(λ_l/λ_{l+1})/(2y_l)``
(a Gaussian smoothing of a quadratic is a quadratic), and 0 on the left.

With a ``potential`` (the key of a :class:`~jaxcap._src.potential.Potential` at ``κ = 0``,
``docs/theory.md#potentials``) the innermost level is its closed form
(:func:`jaxcap._src.potential.innermost_level`).  Its leaf is unbounded below, so the smoothings sum
in log space (:func:`sliding_logsumexp`, as for the hinge), and beyond the grid each level takes
its exact asymptotes on both sides: the leaf's outermost quadratics
(:func:`jaxcap._src.potential.asymptotes`), smoothed level by level in closed form
(:func:`jaxcap._src.potential.smoothed_quadratic`).  The grid reaches :data:`TAIL` + 1 beyond the
leaf's outermost edges at the point's ``χ`` (:meth:`GridEngine.fitted`).

The trapezoid rule on smooth Gaussian-weighted integrands converges
geometrically in ``1/Δ``: level ``l`` needs :data:`POINTS_PER_WIDTH` points across
the narrower of its own smoothness scale ``√(1 − q_l)`` and the width
``√(q_l − q_{l−1})`` of the smoothing that integrates it (``q_{−1} = 0``).  One
evaluation costs ``O(N_{r−1} + Σ_l N_l K_l)``, linear in the level and, because
the outer levels are coarse, dominated by the innermost ones.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import potential as potentials
from .guards import BYTES_PER_POINT
from .leaf import hinge_innermost_level, innermost_level
from .params import Params, lambdas

__all__ = ["GridEngine", "snapped_spacing", "hinge_ranges"]

#: Standard deviations of the widest Gaussian covered on either side of a kink.
TAIL = 9.0
#: Grid points across the narrowest scale a level's grid must resolve (:meth:`GridEngine.fitted`); at 3
#: the trapezoid rule is within about 1e−12 of the converged ``α`` (levels 3–7, against 8 points), and
#: :meth:`GridEngine.check` refuses fewer.
POINTS_PER_WIDTH = 3.3


def _rung(value: float, up: bool) -> float:
    """``value`` rounded down (or ``up``) to the ladder ``0.01 · 2^{k/2}``."""
    k = 2.0 * math.log2(value / 0.01)
    return 0.01 * 2.0 ** ((math.ceil(k - 1e-9) if up else math.floor(k + 1e-9)) / 2.0)


def snapped_spacing(spacing: float) -> float:
    """``spacing`` rounded down to the ladder ``0.01 · 2^{k/2}``: few distinct engines, hence few
    compiled programs, and at most a factor ``√2`` finer than asked."""
    return _rung(spacing, up=False)


def _resolved_scales(q, y=None) -> np.ndarray:
    """Per level ``l`` the scale its grid must resolve: ``min(√(1 − q_l), √(q_l − q_{l−1}))``
    (``q_{−1} = 0``) — the smoothness of ``f_l`` (the leaf smoothed with variance ``1 − q_l``)
    and the width of the smoothing (or, at ``l = 0``, the outer Gaussian) that integrates it.
    With the hinge's ``y`` the smoothing's width is that of its integrand (:func:`_hinge_widths`)."""
    q = np.atleast_1d(np.asarray(q, dtype=float))
    widths = np.sqrt(np.diff(np.concatenate([[0.0], q])))
    if y is not None:
        widths[1:] = _hinge_widths(q, y)[0]
    return np.minimum(np.sqrt(1.0 - q), widths)


def _hinge_widths(q, y) -> tuple[np.ndarray, np.ndarray]:
    """Per smoothing ``l = 0 … r−2`` of the hinge: the width of its integrand and the shift of its peak per unit ``d``.

    Far right ``g_{l+1}(t) ≈ −t²/(2λ_{l+1})`` (module docstring), so the integrand
    ``exp(y_l g_{l+1}(d + s)) N(s; 0, σ_l²)`` is a Gaussian in ``s`` of width
    ``σ_l √(λ_{l+1}/λ_l)`` centred at ``−d (1 − λ_{l+1}/λ_l)``: narrower than the
    kernel and, at large ``d``, far from its centre.
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    lam, dq = lambdas(1.0, q, np.atleast_1d(np.asarray(y, dtype=float)))   # λ_0 … λ_r
    ratio = lam[1:-1] / lam[:-2]                                           # λ_{l+1}/λ_l, l = 0 … r−2
    return np.sqrt(dq[:-1] * ratio), 1.0 - ratio


def hinge_ranges(q, y, tail: float = TAIL) -> np.ndarray:
    """Per level ``l = 0 … r−1`` of the hinge the interval ``[lo_l, hi_l]`` of ``d`` outside which ``g_l``
    equals its asymptotes (0 on the left, ``−d²/(2λ_l) − b_l`` on the right) up to about ``e^{−tail²/2}``.

    * Left: ``0 ≥ g_l(d) ≥ −E(d + √(1 − q_l) z)_+²/2`` (Jensen, level by level), so
      ``lo_l = −tail √(1 − q_l)``.
    * Right: ``g_l − (asymptote) = (1/y_l) log E exp(y_l (g_{l+1} − asymptote)(T))`` with ``T`` the
      tilted Gaussian ``N(ρ_l d, ρ_l σ_l²)`` of :func:`_hinge_widths` (``ρ_l = λ_{l+1}/λ_l``,
      ``σ_l² = q_{l+1} − q_l``, ``q_r = 1``), which is small once ``T`` stays right of ``hi_{l+1}``:
      ``hi_l = (hi_{l+1} + tail σ_l √ρ_l)/ρ_l`` from ``hi_r = 0`` (the leaf's kink).

    Returns an ``(r, 2)`` array (``docs/theory.md#engines``).
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    lam, dq = lambdas(1.0, q, np.atleast_1d(np.asarray(y, dtype=float)))   # λ_0 … λ_r
    hi = np.zeros(q.size + 1)
    for l in range(q.size - 1, -1, -1):
        rho = lam[l + 1] / lam[l]
        hi[l] = (hi[l + 1] + tail * np.sqrt(dq[l] * rho)) / rho
    with np.errstate(invalid="ignore"):
        return np.stack([-tail * np.sqrt(1.0 - q), hi[:-1]], axis=1)


def _outward(v: float) -> float:
    """``v ≠ 0`` moved away from 0 to the ladder ``±0.01 · 2^{k/4}`` (few distinct ranges, hence few compiled
    programs, at most 19% wider)."""
    k = math.ceil(4.0 * math.log2(abs(v) / 0.01) - 1e-9)
    return math.copysign(0.01 * 2.0 ** (k / 4.0), v)


def _cover(sigma: float) -> float:
    """A kernel cover for a level of width ``sigma``: ``1.3 σ`` rounded up to the ladder
    ``0.01 · 2^{k/2}``, at most 1."""
    return min(1.0, _rung(max(1.3 * sigma, 1e-3), up=True))


def _narrowest_level(params: Params) -> float:
    """The smallest smoothing width ``√(q_{l+1} − q_l)`` (``q_r = 1``) of ``params``."""
    q = np.atleast_1d(np.asarray(params.q, dtype=float))
    return float(np.sqrt(np.diff(np.concatenate([q, [1.0]])).min()))


def sliding_logsumexp(padded, log_kernel, n: int, stride: int = 1):
    """``out_i = log Σ_{j<L} exp(padded_{stride·i+j} + log_kernel_j)`` for ``i < n``: the log-space
    :func:`sliding_dot`, one log-sum-exp per output over its own window (gathered).

    For the hinge's levels, whose terms ``exp(y g)`` span thousands of decades across one
    kernel (far right ``y g`` falls by ``y d/λ`` per unit of ``d``): no shared shift (one per
    block, or per window) keeps an output's dominant terms above underflow there.
    """
    index = stride * np.arange(n)[:, None] + np.arange(log_kernel.shape[0])[None, :]
    return jax.scipy.special.logsumexp(padded[index] + log_kernel, axis=1)


def sliding_dot(padded, kernel, n: int, stride: int = 1):
    """``out_i = Σ_{j<L} padded_{stride·i+j} kernel_j`` for ``i < n`` (``L = len(kernel)``): a direct
    convolution, evaluated at every ``stride``-th point.

    Written as a blocked Toeplitz matrix product: the outputs in blocks of ``B``,
    each block the window ``padded[b·stride·B : b·stride·B + W]``
    (``W ≥ stride(B − 1) + L``) times the ``B × W`` matrix ``T_{ij} = kernel_{j − stride·i}``
    (zero outside ``0 ≤ j − stride·i < L``), which is the same for every block.
    ``T`` comes from tiling the kernel, zero-padded to ``W + stride``, and cutting
    rows of ``W`` (row ``i`` is then the tile shifted by ``stride·i``), so it and the
    windows are reshapes and slices: every derivative stays a dense matrix
    product, which XLA:CPU runs far faster than batched ``lax.conv``.  Every term
    is a product of positive numbers, so the relative precision of a direct sum
    is kept (``docs/theory.md#engines``; an FFT would not).  ``padded`` must hold the
    ``stride·(n − 1) + L`` entries the outputs read.
    """
    size = kernel.shape[0]
    m = 8  # a window spans about m + 1 blocks: larger m, smaller Toeplitz matrix, more slices
    block = -(-max(size - 1, 1) // (8 * m * stride)) * 8
    advance = stride * block
    blocks = -(-n // block)
    spans = -(-max(size - stride, 0) // advance)
    width = (spans + 1) * advance
    total = (blocks + spans) * advance
    padded = jnp.concatenate([padded[:total], jnp.zeros(max(total - padded.shape[0], 0), padded.dtype)])
    rows = padded.reshape(blocks + spans, advance)
    windows = jnp.concatenate([rows[s:s + blocks] for s in range(spans + 1)], axis=1)
    z = jnp.concatenate([kernel, jnp.zeros(width + stride - size, kernel.dtype)])
    toeplitz = jnp.tile(z, block)[:block * width].reshape(block, width)
    return (windows @ toeplitz.T).reshape(-1)[:n]


def _pow2_floor(v: float) -> int:
    return int(2 ** max(0, math.floor(math.log2(v) + 1e-9)))


def _ladder(bounds, spacing: float) -> tuple[float, tuple]:
    """``(Δ_{r−1}, (s_0 … s_{r−2}))`` for the per-level largest spacings ``bounds``
    (outermost first): the innermost spacing on the :func:`snapped_spacing` ladder, at
    most ``spacing`` and ``min(bounds)``, and power-of-two strides, non-increasing inward,
    with ``s_l Δ_{r−1} ≤ bounds_l``."""
    inner = snapped_spacing(min(spacing, *bounds))
    strides = np.minimum.accumulate([_pow2_floor(b / inner) for b in bounds])
    coarser = min(int(strides[-1]), _pow2_floor(spacing * (1 + 1e-9) / inner))  # the innermost grid too,
    return inner * coarser, tuple(int(v) for v in strides[:-1] // coarser)      # up to ``spacing``


@dataclasses.dataclass(frozen=True)
class GridEngine:
    """Level-by-level evaluation of ``G = E_z f_0(√q_0 z)`` on a uniform grid in ``d = h − κ``."""

    spacing: float = 0.01
    lo: float = -TAIL
    hi: float = TAIL + 2.5
    sigma_cap: float = 1.0
    cutoff: float = 8.0
    #: Per-level kernel covers (outermost smoothing first), overriding ``sigma_cap`` when given.
    level_caps: tuple = ()
    #: Per-level strides ``s_0 … s_{r−2}`` (``Δ_l = s_l · spacing``); all 1 when empty.
    strides: tuple = ()
    #: ``"moreau"`` (the threshold's leaf, :func:`jaxcap._src.leaf.leaf_moreau`) or ``"hinge"``
    #: (the zero-energy line's, :func:`jaxcap._src.leaf.leaf_hinge`; module docstring).
    leaf: str = "moreau"
    #: Per-level ranges ``((lo_0, hi_0), …, (lo_{r−1}, hi_{r−1}))`` where each level is computed, each
    #: clipped to ``[lo, hi]`` (:func:`hinge_ranges`; beyond them a level takes its asymptotes, and
    #: level 0, which the outer Gaussian integrates over ``[lo, hi]``, is extended by them); every
    #: level computed on ``[lo, hi]`` when empty.
    level_ranges: tuple = ()
    #: The potential at ``κ = 0`` (:func:`jaxcap._src.potential.key`); empty: the count ``1[u > κ]``.
    potential: tuple = ()
    name: str = dataclasses.field(default="grid", init=False)

    @classmethod
    def around(cls, kappa: float, spacing: float = 0.01, sigma_cap: float = 1.0, chi_cap: float = 2.0,
               leaf: str = "moreau", potential: tuple = ()):
        """An engine whose grid covers the outer Gaussian at ``κ`` and the leaf's kinks (``χ ≤ chi_cap``;
        the hinge has one kink; a potential's grid grows with its edges when fitted)."""
        k = float(kappa)
        # whole-number ends one unit wider than needed: every κ in (−1, 1) shares one engine, hence
        # one compiled program (the grid moves only every whole unit of κ)
        lo = -TAIL - 1.0 - math.floor(max(k, 0.0))
        second_kink = 0.0 if leaf == "hinge" else math.ceil(math.sqrt(2.0 * chi_cap))
        hi = TAIL + 1.0 + math.floor(max(-k, 0.0)) + second_kink
        return cls(spacing=float(spacing), lo=lo, hi=hi, sigma_cap=float(min(sigma_cap, 1.0)), leaf=leaf,
                   potential=potential)

    @property
    def half_width(self) -> int:
        """Kernel half-width ``K`` in grid points for the widest cover on the finest grid."""
        return self._half_width(self.sigma_cap, self.spacing)

    def _half_width(self, cap: float, step: float) -> int:
        return int(math.ceil(self.cutoff * cap / step))

    def _per_level(self, values: tuple, default, smoothings: int, what: str) -> tuple:
        if not values:
            return (default,) * smoothings
        if len(values) != smoothings:
            raise ValueError(f"engine has {len(values)} level {what}, the point has {smoothings} smoothings")
        return values

    def caps(self, smoothings: int) -> tuple:
        """The kernel cover of each of ``smoothings`` levels (outermost first)."""
        return self._per_level(self.level_caps, self.sigma_cap, smoothings, "covers")

    def spacings(self, levels: int) -> tuple:
        """``Δ_0 … Δ_{r−1}`` of a level-``levels`` point (outermost first)."""
        return tuple(s * self.spacing for s in self._per_level(self.strides, 1, levels - 1, "strides")) + (
            self.spacing,)

    @property
    def nodes(self) -> int:
        """Points of the innermost grid."""
        return self.grids(len(self.level_ranges))[-1][1] if self.level_ranges else self._full_nodes

    def innermost_points(self, level: int) -> int:
        """Evaluations of the innermost level in one outer mean: the points of the innermost grid."""
        return self.nodes

    @property
    def _full_nodes(self) -> int:
        return int(math.ceil((self.hi - self.lo) / self.spacing)) + 1

    def grids(self, levels: int) -> list:
        """``(start, points)`` of the grid of each level ``0 … levels−1``: level ``l`` at
        ``start + i Δ_l``, ``i < points``.  Every start is ``lo`` plus a whole number of its own
        spacing, hence of every finer one: the grids of neighbouring levels interleave."""
        steps, counts = self.spacings(levels), self._full_counts(levels)
        if not self.level_ranges:
            return [(self.lo, n) for n in counts]
        ranges = self._per_level(self.level_ranges, None, levels, "ranges")
        out = []
        for (a, b), step, n in zip(ranges, steps, counts):
            first = max(0, math.floor((a - self.lo) / step + 1e-9))
            last = min(n - 1, math.ceil((b - self.lo) / step - 1e-9))
            out.append((self.lo + first * step, max(last - first + 1, 1)))
        return out

    def _full_counts(self, levels: int) -> list:
        """Points of each level's grid over all of ``[lo, hi]``."""
        steps = self.spacings(levels)
        counts = [self._full_nodes]
        for l in range(levels - 2, -1, -1):
            counts.insert(0, -(-counts[0] // int(round(steps[l] / steps[l + 1]))))
        return counts

    def terms(self, levels: int) -> float:
        """Terms of one evaluation at ``levels`` levels: the closed-form innermost level at each point of its
        grid, per smoothing its outputs times its kernel points, and, with ranges, level 0's asymptotes
        over the rest of ``[lo, hi]`` (at level 1 on the innermost spacing: ``3·10⁸`` points when
        ``1 − q_0 ~ 10⁻¹³``, however narrow the range)."""
        steps, caps, grids = self.spacings(levels), self.caps(levels - 1), self.grids(levels)
        extended = self._full_counts(levels)[0] - grids[0][1] if self.level_ranges else 0
        return float(grids[-1][1] + extended + sum(grids[l][1] * (2 * self._half_width(caps[l], steps[l + 1]) + 1)
                                                   for l in range(levels - 1)))

    def outer_mean(self, params: Params, kappa, probe=None, potential=None):
        """``G = E_z f_0(√q_0 z)``.  With ``probe`` (a function of ``d = h − κ``) the innermost level is
        ``f_{r−1} + probe``: the derivative of ``G`` along it is the mean of ``probe(h_{r−1} − κ)`` under the
        tilted law of ``h_{r−1}`` (``docs/theory.md#structure``).  ``potential`` (a
        :class:`~jaxcap._src.potential.Potential` like :attr:`potential`, possibly traced) stands in for
        :attr:`potential`'s values."""
        chi, q, x = params
        r = q.shape[0]
        caps, steps, grids = self.caps(r - 1), self.spacings(r), self.grids(r)
        start, n = grids[r - 1]
        d = jnp.asarray(start + steps[r - 1] * np.arange(n))
        if potential is None and self.potential:
            potential = potentials.from_key(self.potential)
        if potential is not None:
            return self._potential_outer_mean(params, kappa, probe, potential)
        hinge = self.leaf == "hinge"
        if hinge:
            f = hinge_innermost_level(d, 1.0 - q[r - 1], x[r - 1], 0.0)
            lam = 1.0 + x[r - 1] * (1.0 - q[r - 1])       # right asymptote −d²/(2λ) − b of f
            b = jnp.log(lam) / (2.0 * x[r - 1])
        else:
            f = innermost_level(d, chi, 1.0 - q[r - 1], x[r - 1], 0.0)
        if probe is not None:
            f = f + probe(d)
        for l in range(r - 2, -1, -1):
            stride = int(round(steps[l] / steps[l + 1]))
            k = self._half_width(caps[l], steps[l + 1])
            offsets = jnp.asarray(steps[l + 1] * np.arange(-k, k + 1))
            logits = -0.5 * offsets**2 / (q[l + 1] - q[l])
            (start, n), inner = grids[l], grids[l + 1][0]
            # the input read by the outputs, from ``start − kΔ_{l+1}``: the level below where its grid
            # has it, its asymptotes beyond
            size = 2 * k + stride * n
            first = int(round((start - inner) / steps[l + 1])) - k
            left = min(max(-first, 0), size)
            middle = max(0, min(f.shape[0], first + size) - max(first, 0))
            f = f[max(first, 0):max(first, 0) + middle]
            right = size - left - middle
            if hinge:
                beyond = jnp.asarray(start + steps[l + 1] * (np.arange(left + middle, size) - k))
                padded = x[l] * jnp.concatenate([jnp.zeros(left), f, -beyond**2 / (2.0 * lam) - b])
                f = sliding_logsumexp(padded, jax.nn.log_softmax(logits), n, stride) / x[l]
                grown = lam + x[l] * (q[l + 1] - q[l])
                lam, b = grown, b + jnp.log(grown / lam) / (2.0 * x[l])
                continue
            padded = jnp.concatenate([jnp.ones(left), jnp.exp(x[l] * f), jnp.full(right, jnp.exp(-x[l]))])
            f = jnp.log(sliding_dot(padded, jax.nn.softmax(logits), n, stride)) / x[l]
        start, n = grids[0]
        if self.level_ranges:  # level 0 over all of [lo, hi]: its asymptotes beyond its range
            first = int(round((start - self.lo) / steps[0]))
            d_right = self.lo + steps[0] * np.arange(first + n, self._full_counts(r)[0])
            tail = -jnp.asarray(d_right) ** 2 / (2.0 * lam) - b
            f, start = jnp.concatenate([jnp.zeros(first), f, tail]), self.lo
        d0 = start + steps[0] * np.arange(f.shape[0])
        weights = jax.nn.softmax(-0.5 * (jnp.asarray(d0) + kappa) ** 2 / q[0])
        return jnp.sum(weights * f)

    def _potential_outer_mean(self, params: Params, kappa, probe, potential):
        """:meth:`outer_mean` on a potential's leaf (module docstring): log-space smoothings, with the
        smoothed outermost quadratics of the leaf beyond the grid on both sides."""
        chi, q, x = params
        r = q.shape[0]
        caps, steps = self.caps(r - 1), self.spacings(r)
        counts = self._full_counts(r)
        d = jnp.asarray(self.lo + steps[r - 1] * np.arange(counts[r - 1]))
        f = potentials.innermost_level(d, chi, 1.0 - q[r - 1], x[r - 1], potential)
        if probe is not None:
            f = f + probe(d)
        ends = [potentials.smoothed_quadratic(end, 1.0 - q[r - 1], x[r - 1])
                for end in potentials.asymptotes(potential, chi)]
        value = lambda coeffs, t: (coeffs[0] * t + coeffs[1]) * t + coeffs[2]  # noqa: E731
        for l in range(r - 2, -1, -1):
            stride = int(round(steps[l] / steps[l + 1]))
            k = self._half_width(caps[l], steps[l + 1])
            offsets = steps[l + 1] * np.arange(-k, k + 1)
            logits = -0.5 * jnp.asarray(offsets) ** 2 / (q[l + 1] - q[l])
            n = counts[l]
            size = 2 * k + stride * n
            # the input read by the outputs, from ``lo − kΔ_{l+1}``: the level below where its grid has it
            # (from ``lo``), its asymptotes beyond
            right = size - k - f.shape[0]
            t_left = jnp.asarray(self.lo + steps[l + 1] * (np.arange(k) - k))
            t_right = jnp.asarray(self.lo + steps[l + 1] * np.arange(f.shape[0], f.shape[0] + max(right, 0)))
            padded = x[l] * jnp.concatenate([value(ends[0], t_left), f, value(ends[1], t_right)])[:size]
            f = sliding_logsumexp(padded, jax.nn.log_softmax(logits), n, stride) / x[l]
            ends = [potentials.smoothed_quadratic(end, q[l + 1] - q[l], x[l]) for end in ends]
        d0 = self.lo + steps[0] * np.arange(f.shape[0])
        weights = jax.nn.softmax(-0.5 * (jnp.asarray(d0) + kappa) ** 2 / q[0])
        return jnp.sum(weights * f)

    def refined(self) -> "GridEngine":
        """The same engine at half the spacing (for the discretisation-error estimate)."""
        return dataclasses.replace(self, spacing=self.spacing / 2)

    def coarse(self, starts=()) -> "GridEngine":
        """A cheaper engine for the ascent stage: kernels for ``σ ≤ 1`` and the spacing
        :func:`snapped_spacing` of a quarter of the narrowest level over ``starts``,
        between 0.02 and 0.04, on one uniform grid.

        The trapezoid rule on the smooth nested levels converges like
        ``exp(−2π²σ²/Δ²)``, so a few points across the narrowest level suffice to
        steer the ascent; Newton on the fitted engine removes what is left.
        """
        narrowest = min((_narrowest_level(p) for p in starts), default=0.0)
        spacing = min(max(snapped_spacing(narrowest / 4.0), 0.02), 0.04)
        return dataclasses.replace(self, spacing=spacing, sigma_cap=1.0, level_caps=(), strides=(), level_ranges=())

    def fitted(self, params: Params, ranged: bool = True) -> "GridEngine":
        """This engine fitted to ``params`` (``docs/theory.md#engines``): each level's kernel cut to ``1.3×`` its
        width (:func:`_cover`), and each level's grid with at least :data:`POINTS_PER_WIDTH`
        points across the scales it must resolve (:func:`_resolved_scales`), the innermost
        spacing at most this engine's.  ``ranged=False`` keeps the hinge's levels on all of
        ``[lo, hi]`` (no :func:`hinge_ranges`): every path then ends on the innermost grid, as the
        tilted law of the fields needs (``docs/theory.md#structure``)."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        if q.size == 0:
            return self  # level 0: closed form, no grid
        if self.potential:  # the grid TAIL + 1 beyond the leaf's edges at this χ, in whole units
            low, high = self._edges(params)
            widened = dataclasses.replace(self, lo=min(self.lo, math.floor(low) - TAIL - 1.0),
                                          hi=max(self.hi, math.ceil(high) + TAIL + 1.0), potential=())
            return dataclasses.replace(widened.fitted(params, ranged), potential=self.potential)
        caps = tuple(_cover(w) for w in np.sqrt(np.diff(q)))
        y = self._hinge_y(params)
        ranges = ()
        if y is not None:
            # each inner level's grid where it differs from its asymptotes (with a margin over
            # :meth:`check`'s), and each kernel reaching its integrand's peak, shifted by up to the
            # top of the level's grid times the shift per unit d
            wanted = hinge_ranges(q, y, TAIL + 1.0)
            ranges = (tuple((_outward(a), _outward(b)) for a, b in wanted)
                      if ranged and np.all(np.isfinite(wanted)) else ())
            tops = self._tops(ranges, q.size)
            width, shift = _hinge_widths(q, y)
            caps = tuple(max(c, _rung(top * a / self.cutoff + w, up=True))
                         for c, w, a, top in zip(caps, width, shift, tops))
        inner, strides = _ladder(_resolved_scales(q, y) / POINTS_PER_WIDTH, self.spacing)
        return dataclasses.replace(self, spacing=inner, strides=strides, level_caps=caps, level_ranges=ranges,
                                   sigma_cap=max(caps, default=_cover(0.05)))

    def _edges(self, params: Params) -> tuple[float, float]:
        """The outermost edges of the potential's leaf at the ``χ`` of ``params``
        (:func:`jaxcap._src.potential.leaf_edges`)."""
        return potentials.leaf_edges(self.potential, float(np.asarray(params.chi)))

    def _tops(self, ranges: tuple, levels: int) -> list:
        """The top of the output grid of each smoothing ``0 … levels−2``: its level's range (clipped to ``hi``)."""
        return [min(self.hi, b) for _, b in (ranges or ((self.lo, self.hi),) * levels)][:levels - 1]

    def points_needed(self, params: Params) -> float:
        """About how many points the innermost grid of :meth:`fitted` has for ``params`` (within the factor
        ``√2`` of :func:`snapped_spacing`), computed without building it: ``inf`` when a scale it must
        resolve is zero or not a number."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        if q.size == 0:
            return float(self.nodes)
        with np.errstate(invalid="ignore"):
            scale = float(np.min(_resolved_scales(q, self._hinge_y(params))))
        if not scale > 0.0:  # zero, negative or not a number
            return math.inf
        span = self.hi - self.lo
        if self.leaf == "hinge" and q.size > 1:
            a, b = hinge_ranges(q, self._hinge_y(params), TAIL + 1.0)[-1]
            span = min(b, self.hi) - max(a, self.lo)
        return span / min(self.spacing, scale / POINTS_PER_WIDTH) + 1.0

    def _hinge_y(self, params: Params):
        """``y`` of a hinge point (``params.x``), ``None`` for the Moreau leaf."""
        return np.atleast_1d(np.asarray(params.x, dtype=float)) if self.leaf == "hinge" else None

    def covers(self, other: "GridEngine") -> bool:
        """Whether this engine resolves at least what ``other`` does: every grid as fine, every kernel as wide."""
        n = max(len(self.level_caps), len(other.level_caps), len(self.strides), len(other.strides))
        wide = all(a >= b for a, b in zip(self.caps(n), other.caps(n))) if n else self.sigma_cap >= other.sigma_cap
        fine = all(a <= b * (1 + 1e-9) for a, b in zip(self.spacings(n + 1), other.spacings(n + 1)))
        mine, theirs = self._ranges(n + 1), other._ranges(n + 1)
        spans = all(a <= c and b >= d for (a, b), (c, d) in zip(mine, theirs))
        return wide and fine and spans

    def _ranges(self, levels: int) -> tuple:
        """The levels' ranges clipped to ``[lo, hi]`` (all of it when none are set)."""
        ranges = self._per_level(self.level_ranges, (self.lo, self.hi), levels, "ranges")
        return tuple((max(a, self.lo), min(b, self.hi)) for a, b in ranges)

    def joined(self, other: "GridEngine") -> "GridEngine":
        """The coarsest engine on the ladder that covers both (per level the finer grid and the wider kernel)."""
        n = max(len(self.level_caps), len(other.level_caps), len(self.strides), len(other.strides))
        caps = tuple(map(max, self.caps(n), other.caps(n))) if self.level_caps and other.level_caps else ()
        bounds = np.minimum(self.spacings(n + 1), other.spacings(n + 1)) * (1 + 1e-9)
        inner, strides = _ladder(bounds, min(self.spacing, other.spacing) * (1 + 1e-9))
        ranges = (tuple((min(a, c), max(b, d)) for (a, b), (c, d) in zip(self._ranges(n + 1), other._ranges(n + 1)))
                  if self.level_ranges and other.level_ranges else ())
        span = dict(lo=min(self.lo, other.lo), hi=max(self.hi, other.hi)) if self.potential else {}
        return dataclasses.replace(self, spacing=inner, strides=strides if n else (), level_caps=caps,
                                   level_ranges=ranges, sigma_cap=max(self.sigma_cap, other.sigma_cap), **span)

    def check(self, params: Params) -> str | None:
        """Why ``params`` lie outside what this engine resolves, or ``None``."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        chi = float(params.chi)
        if q.size == 0:
            return None
        widths = np.sqrt(np.diff(q))
        try:
            caps, steps = self.caps(widths.size), self.spacings(q.size)
        except ValueError as err:
            return str(err)
        y = self._hinge_y(params)
        if y is None:
            reach = self.cutoff * widths
        else:
            width, shift = _hinge_widths(q, y)
            reach = np.asarray(self._tops(self.level_ranges, q.size)) * shift + self.cutoff * width
            try:
                ranges = self._per_level(self.level_ranges, (self.lo, self.hi), q.size, "ranges")
            except ValueError as err:
                return str(err)
            for level, ((a, b), (need_a, need_b)) in enumerate(zip(ranges, hinge_ranges(q, y))):
                if not (max(need_a, self.lo) >= max(a, self.lo) and min(need_b, self.hi) <= min(b, self.hi)):
                    return (f"level {level} differs from its asymptotes on [{need_a:.3g}, {need_b:.3g}], "
                            f"beyond its grid [{a:.3g}, {b:.3g}]")
        for level, (need, cap) in enumerate(zip(reach, caps)):
            if max(need, self.cutoff * widths[level]) > self._half_width(cap, steps[level + 1]) * steps[level + 1]:
                return f"kernel cutoff: level {level} needs a reach of {need:.3g}, beyond the kernel cover {cap:.3g}"
        for level, (scale, step) in enumerate(zip(_resolved_scales(q, y), steps)):
            if scale < 3.0 * step * (1 - 1e-9):
                return f"level {level}: scale {scale:.3g} is under 3 grid spacings ({step:.4g})"
        if self.potential:
            low, high = self._edges(params)
            if low < self.lo + TAIL or high > self.hi - TAIL:
                return f"chi={chi:.3g} puts the leaf's edges [{low:.3g}, {high:.3g}] too near the grid's ends"
        elif self.leaf != "hinge" and math.sqrt(2.0 * chi) > self.hi - TAIL:
            return f"chi={chi:.3g} puts the leaf's second kink outside the grid"
        return None

    #: The grid is fitted to each point (:meth:`fitted`): nearby points share one engine joined from theirs.
    adaptive = True

    @property
    def grid_points(self) -> float:
        """Points of the innermost grid over all of ``[lo, hi]`` (what :data:`jaxcap._src.guards.MAX_GRID_POINTS` bounds)."""
        return (self.hi - self.lo) / self.spacing + 1.0

    def memory(self, level: int, copies: int = 1) -> float:
        """Estimated bytes of a level-``level`` Newton solve on this engine (``copies`` at once):
        :data:`~jaxcap._src.guards.BYTES_PER_POINT` per innermost point and Hessian direction, plus the
        blocked Toeplitz matrices of the convolutions (``≈ 0.15 K_l²/s_l`` entries for a kernel of
        half-width ``K_l`` on a level of stride ``s_l``) once the engine is fitted to a point (before,
        its kernels are not set: its points alone count)."""
        if level == 0:
            return 0.0
        steps = self.spacings(level) if self.level_caps else ()
        toeplitz = sum(0.15 * (self.cutoff * cap / steps[l + 1]) ** 2 * steps[l + 1] / steps[l]
                       for l, cap in enumerate(self.level_caps))
        return copies * (2 * level + 1) * (BYTES_PER_POINT * self.grid_points + 8.0 * toeplitz)

    def widened(self) -> "GridEngine":
        """Every kernel cover one rung wider (``×√2``, at most 1): room for the points of a ``κ`` range."""
        wider = tuple(min(1.0, cap * math.sqrt(2.0)) for cap in self.level_caps)
        return dataclasses.replace(self, level_caps=wider, sigma_cap=max(wider, default=self.sigma_cap))

    def describe(self) -> dict:
        return {"engine": "grid", "spacing": self.spacing, "nodes": self.nodes,
                "sigma_cap": self.sigma_cap, "level_caps": list(self.level_caps), "strides": list(self.strides)} | (
            {"leaf": self.leaf} if self.leaf != "moreau" else {}) | (
            {"potential": self.potential[0]} if self.potential else {}) | (
            {"level_ranges": [list(r) for r in self.level_ranges]} if self.level_ranges else {})
