"""Grid engine: nested expectations level by level on a uniform grid (DESIGN §4).

Every ``f_l`` depends on ``h`` only through ``d = h − κ``, so each lives on one
static uniform grid ``d_i = lo + iΔ``:

* the innermost level ``f_{r−1}`` is the closed form of :mod:`jaxcap.leaf`
  evaluated on the grid (exact);
* each level above it is a discrete Gaussian smoothing (trapezoid rule, kernel
  truncated at ``cutoff`` standard deviations of the *widest* level the engine
  admits, ``sigma_cap``), done as a direct convolution of positive terms
  (:func:`sliding_dot`, a blocked Toeplitz matrix product)

      f_l(d_i) = (1/x_l) log Σ_j w_j exp(x_l f_{l+1}(d_i + jΔ)),
      w_j ∝ exp(−(jΔ)²/(2(q_{l+1} − q_l)))

  so that every value keeps its relative precision (an FFT would not: the terms
  span ``e^{−x_l} … 1``).  Beyond the grid ``f_l`` takes its asymptotes, 0 on the
  left and −1 on the right, which the grid range makes exact to ~1e−19;
* the outer mean ``G = ∫ f_0(h) N(h; 0, q_0) dh`` is the trapezoid rule on the
  same grid, with weights ``N(d_i + κ; 0, q_0)``.

The trapezoid rule on smooth Gaussian-weighted integrands converges
geometrically in ``1/Δ``, so the cost is ``O(r · N · K)`` and linear in the level.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from .leaf import innermost_level
from .params import Params

__all__ = ["GridEngine", "snapped_spacing"]

#: Standard deviations of the widest Gaussian covered on either side of a kink.
TAIL = 9.0


def snapped_spacing(spacing: float) -> float:
    """``spacing`` rounded down to ``0.01 · 2^k``: few distinct engines, hence few compiled programs."""
    return float(np.exp2(np.floor(np.log2(spacing / 0.01)))) * 0.01


def _narrowest_level(params: Params) -> float:
    """The smallest smoothing width ``√(q_{l+1} − q_l)`` (``q_r = 1``) of ``params``."""
    q = np.atleast_1d(np.asarray(params.q, dtype=float))
    return float(np.sqrt(np.diff(np.concatenate([q, [1.0]])).min()))


def sliding_dot(padded, kernel, n: int):
    """``out_i = Σ_{j<L} padded_{i+j} kernel_j`` for ``i < n`` (``L = len(kernel)``): a direct convolution.

    Written as a blocked Toeplitz matrix product: the outputs in blocks of ``B``,
    each block the window ``padded[bB : bB + W]`` (``W = (m + 1)B ≥ B + L − 1``)
    times the ``B × W`` matrix ``T_{ij} = kernel_{j−i}`` (zero outside ``0 ≤ j − i < L``),
    which is the same for every block.  ``T`` comes from tiling the zero-padded
    kernel (row ``i`` is the tile shifted by ``i``), so it and the windows are
    reshapes and slices: every derivative (the Hessian's forward-over-reverse
    included) stays a dense matrix product, which XLA:CPU runs far faster than
    batched ``lax.conv``.  Every term is a product of positive numbers, so the
    relative precision of a direct sum is kept (DESIGN §4; an FFT would not).
    """
    size = kernel.shape[0]
    m = 8  # window = m + 1 blocks: larger m, smaller Toeplitz matrix, more slices
    block = -(-max(size - 1, 1) // (8 * m)) * 8
    blocks = -(-n // block)
    width = (m + 1) * block
    padded = jnp.concatenate([padded, jnp.zeros((blocks + m) * block - padded.shape[0], padded.dtype)])
    rows = padded.reshape(blocks + m, block)
    windows = jnp.concatenate([rows[s:s + blocks] for s in range(m + 1)], axis=1)
    z = jnp.concatenate([kernel, jnp.zeros(width + 1 - size, kernel.dtype)])
    toeplitz = jnp.tile(z, block)[:block * width].reshape(block, width)
    return (windows @ toeplitz.T).reshape(-1)[:n]


@dataclasses.dataclass(frozen=True)
class GridEngine:
    """Level-by-level evaluation of ``G = E_z f_0(√q_0 z)`` on a uniform grid in ``d = h − κ``."""

    spacing: float = 0.01
    lo: float = -TAIL
    hi: float = TAIL + 2.5
    sigma_cap: float = 1.0
    cutoff: float = 8.0
    name: str = dataclasses.field(default="grid", init=False)

    @classmethod
    def around(cls, kappa: float, spacing: float = 0.01, sigma_cap: float = 1.0, chi_cap: float = 2.0):
        """An engine whose grid covers the outer Gaussian at ``κ`` and the leaf's kinks (``χ ≤ chi_cap``)."""
        k = float(kappa)
        # whole-number ends: nearby κ share one engine, hence one compiled program
        lo = float(math.floor(-TAIL - max(k, 0.0)))
        hi = float(math.ceil(TAIL + max(-k, 0.0) + math.sqrt(2.0 * chi_cap)))
        return cls(spacing=float(spacing), lo=lo, hi=hi, sigma_cap=float(min(sigma_cap, 1.0)))

    @property
    def half_width(self) -> int:
        """Kernel half-width ``K`` in grid points: ``cutoff · sigma_cap / Δ``."""
        return int(math.ceil(self.cutoff * self.sigma_cap / self.spacing))

    def points(self) -> np.ndarray:
        n = int(math.ceil((self.hi - self.lo) / self.spacing)) + 1
        return self.lo + self.spacing * np.arange(n)

    def outer_mean(self, params: Params, kappa):
        chi, q, x = params
        r = q.shape[0]
        d = jnp.asarray(self.points())
        k = self.half_width
        offsets = jnp.asarray(self.spacing * np.arange(-k, k + 1))
        f = innermost_level(d, chi, 1.0 - q[r - 1], x[r - 1], 0.0)
        for l in range(r - 2, -1, -1):
            kernel = jax.nn.softmax(-0.5 * offsets**2 / (q[l + 1] - q[l]))
            padded = jnp.concatenate([jnp.ones(k), jnp.exp(x[l] * f), jnp.full(k, jnp.exp(-x[l]))])
            f = jnp.log(sliding_dot(padded, kernel, d.shape[0])) / x[l]
        weights = jax.nn.softmax(-0.5 * (d + kappa) ** 2 / q[0])
        return jnp.sum(weights * f)

    def refined(self) -> "GridEngine":
        """The same engine at half the spacing (for the discretisation-error estimate)."""
        return dataclasses.replace(self, spacing=self.spacing / 2)

    def coarse(self, starts=()) -> "GridEngine":
        """A cheaper engine for the ascent stage: kernels for ``σ ≤ 1`` and the spacing
        :func:`snapped_spacing` of the narrowest level over ``starts``, between 0.02
        (or the given spacing if coarser) and 0.04.

        The trapezoid rule on the smooth nested levels converges like
        ``exp(−2π²σ²/Δ²)``, so a few points across the narrowest level suffice to
        steer the ascent; Newton on the fitted engine removes what is left.
        """
        narrowest = min((_narrowest_level(p) for p in starts), default=0.0)
        spacing = min(max(snapped_spacing(narrowest / 4.0), 0.02), 0.04)
        return dataclasses.replace(self, spacing=max(self.spacing, spacing), sigma_cap=1.0)

    def fitted(self, params: Params) -> "GridEngine":
        """This engine with kernels cut to the widest level of ``params`` (×1.3 margin) and a
        spacing that puts at least 4 points across the narrowest level (DESIGN §4)."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        gaps = np.diff(np.concatenate([q, [1.0]]))
        widest = float(np.sqrt(gaps[:-1].max())) if q.size > 1 else 0.05
        spacing = snapped_spacing(min(self.spacing, _narrowest_level(params) / 4.0))
        cap = float(min(1.0, np.ceil(13.0 * widest) / 10.0))  # 1.3·widest rounded up to 0.1
        return dataclasses.replace(self, spacing=spacing, sigma_cap=cap)

    def check(self, params: Params) -> str | None:
        """Why ``params`` lie outside what this engine resolves, or ``None``."""
        q = np.atleast_1d(np.asarray(params.q, dtype=float))
        chi = float(params.chi)
        if q.size == 0:
            return None
        widest = float(np.sqrt(np.diff(q).max())) if q.size > 1 else 0.0
        if self.cutoff * widest > self.half_width * self.spacing:
            return f"kernel cutoff: widest level sigma={widest:.3g} exceeds the kernel cover {self.sigma_cap:.3g}"
        narrowest = math.sqrt(1.0 - q[-1])
        if narrowest < 3.0 * self.spacing or (q.size > 1 and np.sqrt(np.diff(q).min()) < 3.0 * self.spacing):
            return f"narrowest level is under 3 grid spacings (spacing {self.spacing})"
        if math.sqrt(2.0 * chi) > self.hi - TAIL:
            return f"chi={chi:.3g} puts the leaf's second kink outside the grid"
        return None

    def describe(self) -> dict:
        return {"engine": "grid", "spacing": self.spacing, "nodes": len(self.points()),
                "sigma_cap": self.sigma_cap}
