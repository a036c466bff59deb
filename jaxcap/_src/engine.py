"""What an engine is, and how one is chosen (``docs/theory.md#engines``).

An engine evaluates the outer mean ``G = E_z f_0(√q_0 z)`` of the level-``r``
functional ``E_r = S − αG`` (:mod:`jaxcap._src.functional`).  Two implement the
:class:`Engine` protocol: :class:`~jaxcap._src.grid.GridEngine` (level by level on
uniform grids; the default) and :class:`~jaxcap._src.tensor.TensorEngine`
(Gauss–Hermite tensor products; the independent check at low levels).  Engines
are frozen dataclasses: hashable, so a compiled program takes one as a static
argument, and every solve, single or batched or traced, names its engine.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Protocol, runtime_checkable

from . import guards
from .grid import GridEngine, snapped_spacing
from .params import Params
from .tensor import TensorEngine

__all__ = ["Engine", "make_engine", "joined"]


@runtime_checkable
class Engine(Protocol):
    """An evaluator of ``G(θ, κ)``; hashable (a static argument of compiled programs)."""

    name: str
    #: Whether :meth:`fitted` depends on the point (a grid fitted to it) or is the engine itself.
    adaptive: bool
    #: Points of the innermost grid (0 without one), bounded by :data:`jaxcap._src.guards.MAX_GRID_POINTS`.
    grid_points: float
    #: The potential at ``κ = 0`` (:func:`jaxcap._src.potential.key`); empty: the count ``1[u > κ]``.
    potential: tuple

    def outer_mean(self, params: Params, kappa, probe=None, potential=None):
        """``G = E_z f_0(√q_0 z)`` at ``params`` (level ``r = len(q) ≥ 1``), traceable by JAX; ``potential``
        (a :class:`~jaxcap._src.potential.Potential`, possibly traced) stands in for :attr:`potential`'s values."""

    def refined(self) -> "Engine":
        """A finer engine: ``|E_refined − E|`` at fixed parameters is the quadrature-error estimate."""

    def coarse(self, starts=()) -> "Engine":
        """A cheaper engine that still steers an ascent from ``starts``."""

    def fitted(self, params: Params, ranged: bool = True) -> "Engine":
        """This engine adapted to resolve ``params`` (``ranged=False``: over the full width of every level,
        so that no path of the tilted law is cut, ``docs/theory.md#structure``)."""

    def innermost_points(self, level: int) -> float:
        """Evaluations of the innermost level in one outer mean at ``level``."""

    def check(self, params: Params) -> str | None:
        """Why ``params`` lie outside what this engine resolves, or ``None``."""

    def covers(self, other: "Engine") -> bool:
        """Whether this engine resolves at least what ``other`` does."""

    def joined(self, other: "Engine") -> "Engine":
        """The cheapest engine that covers both."""

    def widened(self) -> "Engine":
        """This engine with room for the points of a ``κ`` range (wider kernels where it has them)."""

    def terms(self, levels: int) -> float:
        """Terms summed by one evaluation of ``G`` at ``levels`` levels (the work of one evaluation)."""

    def memory(self, level: int, copies: int = 1) -> float:
        """Estimated bytes of a level-``level`` Newton solve on this engine (``copies`` at once)."""

    def points_needed(self, params: Params) -> float:
        """Points of the innermost grid of :meth:`fitted` for ``params`` (0 without a grid), not built."""

    def describe(self) -> dict:
        """``engine`` (the name) and the engine's settings, for diagnostics."""


def joined(engines) -> Engine:
    """One engine covering every one of ``engines`` (:meth:`Engine.joined`, left to right)."""
    return functools.reduce(lambda a, b: a.joined(b), engines)


def make_engine(level: int, engine: str | None = None, nodes: int | None = None,
                spacing: float | None = None, kappa: float = 0.0, leaf: str = "moreau",
                potential: tuple = ()) -> Engine:
    """The engine for ``level``: ``"grid"`` (default; finest spacing at most ``spacing``, default
    :data:`jaxcap._src.guards.MAX_SPACING`) or ``"tensor"`` (``nodes`` per level), on ``leaf`` (``"hinge"``:
    the zero-energy line) of the count or of ``potential`` (:func:`jaxcap._src.potential.key`).

    Level 0 has a closed form and ignores the engine.

    Raises:
        ValueError: an unknown engine, ``nodes`` not an integer ``≥ 8``, ``spacing`` outside
            ``(0,`` :data:`~jaxcap._src.guards.MAX_SPACING` ``]``, or a solve on the engine beyond a
            resource limit of :mod:`jaxcap._src.guards` (grid points, estimated memory).
    """
    name = engine or "grid"
    if nodes is not None and (isinstance(nodes, bool) or int(nodes) != nodes or nodes < 8):
        raise ValueError(f"nodes must be an integer >= 8, got {nodes!r}")
    if spacing is not None:
        guards.check_spacing(spacing)
    if name == "tensor":
        eng = TensorEngine(nodes=int(nodes or (256 if level <= 2 else 96)), leaf=leaf, potential=potential)
        cost, subject = eng, f"the tensor engine at level {level} with {eng.nodes} nodes"
    elif name == "grid":
        eng = GridEngine.around(kappa, spacing=spacing or guards.MAX_SPACING, leaf=leaf, potential=potential)
        # the grids fitted to a point are at least as fine as the ladder's rung below ``spacing``
        cost = dataclasses.replace(eng, spacing=snapped_spacing(eng.spacing))
        subject = f"the grid engine at level {level}, kappa={float(kappa):g}, spacing {eng.spacing:g}"
    else:
        raise ValueError(f"unknown engine {engine!r} (expected 'tensor' or 'grid')")
    guards.check_engine(cost, level, subject)
    return eng
