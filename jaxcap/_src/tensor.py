"""Tensor engine: nested expectations by Gauss–Hermite tensor products (``docs/theory.md#engines``).

    f_{r−1}(h) = (1/x_{r−1}) log E_z exp(x_{r−1} f_r(h + √(1 − q_{r−1}) z))   (closed form)
    f_l(h)     = (1/x_l) log Σ_k w_k exp(x_l f_{l+1}(h + √(q_{l+1} − q_l) z_k))
    G          = Σ_k w_k f_0(√q_0 z_k)

Every outer level integrates a smooth function.  With a ``potential`` (the key of a
:class:`~jaxcap._src.potential.Potential` at ``κ = 0``) the innermost level is its closed form,
:func:`jaxcap._src.potential.innermost_level` at ``h − κ`` (``docs/theory.md#potentials``); without
one, the count's.  With ``leaf="hinge"`` the same
nesting runs on the zero-energy line's leaf (``docs/theory.md#zero-energy``):
``x`` holds ``y = x/χ``, ``χ`` is unused, and the innermost level is
:func:`jaxcap._src.leaf.hinge_innermost_level`.  The cost is ``Q^r`` evaluations
of the closed-form innermost level (``Q`` nodes): exact up to quadrature, simple,
and the independent check of the grid engine; past ``r ≈ 3`` use the grid engine.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .guards import BYTES_PER_LEAF
from . import potential as potentials
from .leaf import hinge_innermost_level, innermost_level
from .params import Params
from .quadrature import gauss_hermite

__all__ = ["TensorEngine", "nested_logmeanexp"]


def nested_logmeanexp(f_next, h, sigma, x, z, logw):
    """``(1/x) log Σ_k w_k exp(x f_next(h + σ z_k))``, batched over the shape of ``h``."""
    inner = f_next(h[..., None] + sigma * z)
    return logsumexp(logw + x * inner, axis=-1) / x


@dataclasses.dataclass(frozen=True)
class TensorEngine:
    """Gauss–Hermite tensor-product evaluation of ``G = E_z f_0(√q_0 z)`` with ``nodes`` nodes per level."""

    nodes: int = 64
    #: ``"moreau"`` (the threshold's leaf, :func:`jaxcap._src.leaf.leaf_moreau`) or ``"hinge"``
    #: (the zero-energy line's, :func:`jaxcap._src.leaf.leaf_hinge`).
    leaf: str = "moreau"
    #: The potential at ``κ = 0`` (:func:`jaxcap._src.potential.key`); empty: the count ``1[u > κ]``.
    potential: tuple = ()
    name: str = dataclasses.field(default="tensor", init=False)

    def outer_mean(self, params: Params, kappa, probe=None, potential=None):
        """``G = Σ_k w_k f_0(√q_0 z_k)``; with ``probe`` (a function of ``d = h − κ``) the innermost level is
        ``f_{r−1} + probe`` (as :meth:`jaxcap._src.grid.GridEngine.outer_mean`, ``docs/theory.md#structure``).
        ``potential`` (a :class:`~jaxcap._src.potential.Potential` like :attr:`potential`, possibly traced)
        stands in for :attr:`potential`'s values."""
        chi, q, x = params
        if potential is None and self.potential:
            potential = potentials.from_key(self.potential)
        r = q.shape[0]
        z_np, logw_np = gauss_hermite(self.nodes)
        z, logw = jnp.asarray(z_np), jnp.asarray(logw_np)

        def f(l, h):
            if l == r - 1:
                if self.leaf == "hinge":
                    inner = hinge_innermost_level(h, 1.0 - q[r - 1], x[r - 1], kappa)
                elif potential is not None:
                    inner = potentials.innermost_level(h - kappa, chi, 1.0 - q[r - 1], x[r - 1], potential)
                else:
                    inner = innermost_level(h, chi, 1.0 - q[r - 1], x[r - 1], kappa)
                return inner if probe is None else inner + probe(h - kappa)
            sigma = jnp.sqrt(q[l + 1] - q[l])
            return nested_logmeanexp(lambda hh: f(l + 1, hh), h, sigma, x[l], z, logw)

        return jnp.sum(jnp.exp(logw) * f(0, jnp.sqrt(q[0]) * z))

    def refined(self) -> "TensorEngine":
        """The same engine with twice the nodes (for the quadrature-error estimate)."""
        return dataclasses.replace(self, nodes=2 * self.nodes)

    def coarse(self, starts=()) -> "TensorEngine":
        """A cheaper engine for the ascent stage (48 nodes, or fewer if given), whatever the ``starts``."""
        return dataclasses.replace(self, nodes=min(self.nodes, 48))

    def fitted(self, params: Params, ranged: bool = True) -> "TensorEngine":
        """Gauss–Hermite nodes do not depend on the parameters (nor on ``ranged``)."""
        return self

    def innermost_points(self, level: int) -> float:
        """Evaluations of the innermost level in one outer mean: ``nodes^level``."""
        return float(self.nodes) ** level

    def check(self, params: Params) -> str | None:
        """Gauss–Hermite has no range to leave: only the quadrature error (reported) limits it."""
        return None

    #: Gauss–Hermite nodes do not depend on the point: :meth:`fitted` is the engine itself.
    adaptive = False
    #: No grid: :data:`jaxcap._src.guards.MAX_GRID_POINTS` does not apply.
    grid_points = 0.0

    def terms(self, levels: int) -> float:
        """Evaluations of the closed-form innermost level in one evaluation of ``G``: ``Q^r``."""
        return float(self.nodes) ** levels

    def memory(self, level: int, copies: int = 1) -> float:
        """Estimated bytes of a level-``level`` Newton solve (``copies`` at once):
        :data:`~jaxcap._src.guards.BYTES_PER_LEAF` per leaf evaluation of the refined engine, ``(2Q)^r``."""
        return 0.0 if level == 0 else copies * BYTES_PER_LEAF * float(2 * self.nodes) ** level

    def points_needed(self, params: Params) -> float:
        """No grid to fit: 0."""
        return 0.0

    def covers(self, other: "TensorEngine") -> bool:
        """Whether this engine has at least ``other``'s nodes."""
        return self.nodes >= other.nodes

    def joined(self, other: "TensorEngine") -> "TensorEngine":
        """The engine with the nodes of the finer of the two."""
        return self if self.covers(other) else other

    def widened(self) -> "TensorEngine":
        """No kernel to widen: the engine itself."""
        return self

    def describe(self) -> dict:
        return {"engine": "tensor", "nodes": self.nodes} | ({"leaf": self.leaf} if self.leaf != "moreau" else {}) | (
            {"potential": self.potential[0]} if self.potential else {})
