"""Grid engine: nested expectations level by level on uniform grids in ``h`` (``docs/theory.md#engines``).

Every ``f_l`` depends on ``h`` only through ``d = h − κ``.  Level ``l`` lives on
the uniform grid ``d_i = lo + i Δ_l``; the innermost spacing ``Δ_{r−1}`` is the
finest and every outer spacing is a power-of-two multiple ``Δ_l = s_l Δ_{r−1}``
of it (``s_l ≥ s_{l+1}``: the outer levels are smoother, so they need fewer points):

* the innermost level ``f_{r−1}`` is the closed form of :mod:`jaxcap.leaf`
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

from .leaf import hinge_innermost_level, innermost_level
from .params import Params

__all__ = ["GridEngine", "snapped_spacing"]

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
    y = np.atleast_1d(np.asarray(y, dtype=float))
    dq = np.diff(np.concatenate([q, [1.0]]))
    lam = 1.0 + np.concatenate([np.cumsum((y * dq)[::-1])[::-1], [0.0]])   # λ_0 … λ_r
    ratio = lam[1:-1] / lam[:-2]                                           # λ_{l+1}/λ_l, l = 0 … r−2
    return np.sqrt(dq[:-1] * ratio), 1.0 - ratio


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
    #: ``"moreau"`` (the threshold's leaf, :func:`jaxcap.leaf.leaf_moreau`) or ``"hinge"``
    #: (the zero-energy line's, :func:`jaxcap.leaf.leaf_hinge`; module docstring).
    leaf: str = "moreau"
    name: str = dataclasses.field(default="grid", init=False)

    @classmethod
    def around(cls, kappa: float, spacing: float = 0.01, sigma_cap: float = 1.0, chi_cap: float = 2.0,
               leaf: str = "moreau"):
        """An engine whose grid covers the outer Gaussian at ``κ`` and the leaf's kinks (``χ ≤ chi_cap``;
        the hinge has one kink)."""
        k = float(kappa)
        # whole-number ends one unit wider than needed: every κ in (−1, 1) shares one engine, hence
        # one compiled program (the grid moves only every whole unit of κ)
        lo = -TAIL - 1.0 - math.floor(max(k, 0.0))
        second_kink = 0.0 if leaf == "hinge" else math.ceil(math.sqrt(2.0 * chi_cap))
        hi = TAIL + 1.0 + math.floor(max(-k, 0.0)) + second_kink
        return cls(spacing=float(spacing), lo=lo, hi=hi, sigma_cap=float(min(sigma_cap, 1.0)), leaf=leaf)

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
        return int(math.ceil((self.hi - self.lo) / self.spacing)) + 1

    def points(self) -> np.ndarray:
        """The innermost grid."""
        return self.lo + self.spacing * np.arange(self.nodes)

    def outer_mean(self, params: Params, kappa):
        chi, q, x = params
        r = q.shape[0]
        d = jnp.asarray(self.points())
        caps, steps = self.caps(r - 1), self.spacings(r)
        hinge = self.leaf == "hinge"
        if hinge:
            f = hinge_innermost_level(d, 1.0 - q[r - 1], x[r - 1], 0.0)
            lam = 1.0 + x[r - 1] * (1.0 - q[r - 1])       # right asymptote −d²/(2λ) − b of f
            b = jnp.log(lam) / (2.0 * x[r - 1])
        else:
            f = innermost_level(d, chi, 1.0 - q[r - 1], x[r - 1], 0.0)
        for l in range(r - 2, -1, -1):
            stride = int(round(steps[l] / steps[l + 1]))
            k = self._half_width(caps[l], steps[l + 1])
            offsets = jnp.asarray(steps[l + 1] * np.arange(-k, k + 1))
            logits = -0.5 * offsets**2 / (q[l + 1] - q[l])
            n = -(-f.shape[0] // stride)
            extra = k + stride * n - f.shape[0]
            if hinge:
                beyond = jnp.asarray(self.lo + steps[l + 1] * (f.shape[0] + np.arange(extra)))
                padded = x[l] * jnp.concatenate([jnp.zeros(k), f, -beyond**2 / (2.0 * lam) - b])
                f = sliding_logsumexp(padded, jax.nn.log_softmax(logits), n, stride) / x[l]
                grown = lam + x[l] * (q[l + 1] - q[l])
                lam, b = grown, b + jnp.log(grown / lam) / (2.0 * x[l])
                continue
            padded = jnp.concatenate([jnp.ones(k), jnp.exp(x[l] * f), jnp.full(extra, jnp.exp(-x[l]))])
            f = jnp.log(sliding_dot(padded, jax.nn.softmax(logits), n, stride)) / x[l]
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
        return dataclasses.replace(self, spacing=spacing, sigma_cap=1.0, level_caps=(), strides=())

    def fitted(self, params: Params) -> "GridEngine":
        """This engine fitted to ``params`` (``docs/theory.md#engines``): each level's kernel cut to ``1.3×`` its
        width (:func:`_cover`), and each level's grid with at least :data:`POINTS_PER_WIDTH`
        points across the scales it must resolve (:func:`_resolved_scales`), the innermost
        spacing at most this engine's."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        if q.size == 0:
            return self  # level 0: closed form, no grid
        caps = tuple(_cover(w) for w in np.sqrt(np.diff(q)))
        y = self._hinge_y(params)
        if y is not None:
            # the kernel reaches the integrand's peak, shifted by up to ``hi`` times its shift per unit d
            width, shift = _hinge_widths(q, y)
            caps = tuple(max(c, _rung(self.hi * a / self.cutoff + w, up=True)) for c, w, a in zip(caps, width, shift))
        inner, strides = _ladder(_resolved_scales(q, y) / POINTS_PER_WIDTH, self.spacing)
        return dataclasses.replace(self, spacing=inner, strides=strides, level_caps=caps,
                                   sigma_cap=max(caps, default=_cover(0.05)))

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
        return (self.hi - self.lo) / min(self.spacing, scale / POINTS_PER_WIDTH) + 1.0

    def _hinge_y(self, params: Params):
        """``y`` of a hinge point (``params.x``), ``None`` for the Moreau leaf."""
        return np.atleast_1d(np.asarray(params.x, dtype=float)) if self.leaf == "hinge" else None

    def covers(self, other: "GridEngine") -> bool:
        """Whether this engine resolves at least what ``other`` does: every grid as fine, every kernel as wide."""
        n = max(len(self.level_caps), len(other.level_caps), len(self.strides), len(other.strides))
        wide = all(a >= b for a, b in zip(self.caps(n), other.caps(n))) if n else self.sigma_cap >= other.sigma_cap
        fine = all(a <= b * (1 + 1e-9) for a, b in zip(self.spacings(n + 1), other.spacings(n + 1)))
        return wide and fine

    def joined(self, other: "GridEngine") -> "GridEngine":
        """The coarsest engine on the ladder that covers both (per level the finer grid and the wider kernel)."""
        n = max(len(self.level_caps), len(other.level_caps), len(self.strides), len(other.strides))
        caps = tuple(map(max, self.caps(n), other.caps(n))) if self.level_caps and other.level_caps else ()
        bounds = np.minimum(self.spacings(n + 1), other.spacings(n + 1)) * (1 + 1e-9)
        inner, strides = _ladder(bounds, min(self.spacing, other.spacing) * (1 + 1e-9))
        return dataclasses.replace(self, spacing=inner, strides=strides if n else (), level_caps=caps,
                                   sigma_cap=max(self.sigma_cap, other.sigma_cap))

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
        reach = self.cutoff * widths if y is None else self.hi * _hinge_widths(q, y)[1] + self.cutoff * _hinge_widths(q, y)[0]
        for level, (need, cap) in enumerate(zip(reach, caps)):
            if max(need, self.cutoff * widths[level]) > self._half_width(cap, steps[level + 1]) * steps[level + 1]:
                return f"kernel cutoff: level {level} needs a reach of {need:.3g}, beyond the kernel cover {cap:.3g}"
        for level, (scale, step) in enumerate(zip(_resolved_scales(q, y), steps)):
            if scale < 3.0 * step * (1 - 1e-9):
                return f"level {level}: scale {scale:.3g} is under 3 grid spacings ({step:.4g})"
        if self.leaf != "hinge" and math.sqrt(2.0 * chi) > self.hi - TAIL:
            return f"chi={chi:.3g} puts the leaf's second kink outside the grid"
        return None

    def describe(self) -> dict:
        return {"engine": "grid", "spacing": self.spacing, "nodes": self.nodes,
                "sigma_cap": self.sigma_cap, "level_caps": list(self.level_caps), "strides": list(self.strides)} | (
            {"leaf": self.leaf} if self.leaf != "moreau" else {})
