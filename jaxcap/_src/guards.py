"""Resource limits checked before work, and the check that stops a solve drifting to a degenerate point.

Everything jaxcap computes has a cost that is known before it runs: a grid engine
evaluates the leaf on ``N`` points of its innermost grid (``N = (hi − lo)/Δ``, see
``docs/theory.md#engines``), a tensor engine ``Q^r`` times, a sweep holds a block of
elements per device, the exact finite-size methods visit up to ``C(m, n − 1)``
vertices.  Each :class:`Limit` below bounds one such quantity; an input beyond it is
refused up front with a :class:`ValueError` that names the limit and the environment
variable that raises it (the command line turns it into exit code 2).

Memory is estimated from the size of the compiled solve.  XLA's own analysis of the
Newton programs (``memory_analysis().temp_size_in_bytes``) gives, per point of the
innermost grid and per direction of the Hessian (``2r + 1``), 930–1110 bytes at levels
1, 3 and 6 (:data:`BYTES_PER_POINT`), and 720–1180 bytes per leaf evaluation of the
refined tensor engine (``(2Q)^r`` of them, levels 1–3; :data:`BYTES_PER_LEAF`);
:func:`engine_memory` adds the blocked Toeplitz matrices of the grid's convolutions.

A solve can also drift during Newton toward a degenerate point where ``q_0 → 0`` or an
overlap gap closes (at large ``κ``; below the zero-energy boundary, where no maximum is
finite, wherever the rounding leads): the grid fitted to such a point
(:meth:`jaxcap._src.grid.GridEngine.fitted`) needs ever finer spacings, millions of points
or more (a spacing of 2.3e−26 at ``q_0 ≈ 6e−51``).  :func:`drift` reports such a point before any engine is built for it; the
solve then counts the start as failed, and ends in
:class:`~jaxcap._src.result.ConvergenceError` (exit 3) when no start is left.  The test
compares the size asked for with the limit, so it holds whatever the rounding that
led there.
"""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

__all__ = ["Limit", "MAX_LEVEL", "MAX_GRID_POINTS", "MAX_MEMORY_GB", "MAX_POINTS", "MAX_CPU_DEVICES",
           "MAX_FINITE_N", "MAX_FINITE_ROWS", "MAX_TRIALS", "MAX_WORKERS", "MAX_SPACING", "BYTES_PER_POINT",
           "BYTES_PER_LEAF", "QUAD_TOL", "unresolved",
           "check_spacing", "check_engine", "engine_memory", "drift"]


@dataclasses.dataclass(frozen=True)
class Limit:
    """An upper bound on one resource, ``default`` unless the environment variable ``env`` sets another."""

    env: str
    default: float
    unit: str

    def value(self) -> float:
        """The limit in force: ``$env`` when set (a positive number), else ``default``."""
        text = os.environ.get(self.env)
        if text is None or not text.strip():
            return self.default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value > 0:
            raise ValueError(f"{self.env} must be a positive number, got {text!r}")
        return value

    def exceeded(self, amount: float, subject: str) -> str | None:
        """Why ``amount`` (of this limit's unit, needed by ``subject``) is refused, or ``None``."""
        limit = self.value()
        if amount <= limit:
            return None
        shown = f"{int(amount)}" if float(amount).is_integer() and amount < 1e9 else f"{amount:.3g}"
        return (f"{subject} needs {shown} {self.unit}, over the limit of {limit:.6g} "
                f"(set {self.env} to raise it)")

    def check(self, amount: float, subject: str) -> None:
        """``ValueError`` naming this limit when ``amount`` exceeds it."""
        why = self.exceeded(amount, subject)
        if why:
            raise ValueError(why)


#: Lifting levels of one solve or chain: as far as the levels 0–30 run of ``docs/benchmarks.md#levels-0-30``.
MAX_LEVEL = Limit("JAXCAP_MAX_LEVEL", 30, "lifting levels")
#: Points of one quadrature grid: the innermost grid of a grid engine, the ``z`` grid at finite temperature.
#: The verified maxima of levels 1–30 at ``κ = 0`` need at most 24 892 (1.7 GB estimated at level 30).
MAX_GRID_POINTS = Limit("JAXCAP_MAX_GRID_POINTS", 250_000, "grid points")
#: Estimated working memory of one compiled solve (:func:`engine_memory`).
MAX_MEMORY_GB = Limit("JAXCAP_MAX_MEMORY_GB", 8.0, "GB of memory (estimated)")
#: Points of a ``κ`` range or batch (``curve``, ``sweep``, ``energy_grid``).
MAX_POINTS = Limit("JAXCAP_MAX_POINTS", 10_000, "points")
#: XLA devices on a CPU backend (each takes a share of a sweep's batch, padded to blocks).
MAX_CPU_DEVICES = Limit("JAXCAP_MAX_CPU_DEVICES", 64, "CPU devices")
#: Input dimension ``n`` of the exact finite-size methods (NP-hard in ``n``; ``docs/benchmarks.md#finite-size-runs``).
MAX_FINITE_N = Limit("JAXCAP_MAX_FINITE_N", 10, "input dimensions")
#: Rows ``m = round(α n)`` of one finite-size matrix.
MAX_FINITE_ROWS = Limit("JAXCAP_MAX_FINITE_ROWS", 400, "rows")
#: Exact finite-size solves of one run (trials times alphas).
MAX_TRIALS = Limit("JAXCAP_MAX_TRIALS", 100_000, "trials")
#: Worker processes of one finite-size run (each imports jaxcap: about 0.2 GB).
MAX_WORKERS = Limit("JAXCAP_MAX_WORKERS", 64, "worker processes")

#: The largest quadrature spacing anywhere: the grid engine's finest spacing when none is given
#: (``--spacing``), and the most a user may ask for there and for the ``z`` grid of ``rs``/``dat``.
#: Smaller spacings are bounded by :data:`MAX_GRID_POINTS`.
MAX_SPACING = 0.08
#: Bytes of a compiled Newton solve per point of the innermost grid and direction of the Hessian
#: (grid engine; module docstring).
BYTES_PER_POINT = 1100.0
#: Bytes of a compiled Newton solve per leaf evaluation of the refined tensor engine (module docstring).
BYTES_PER_LEAF = 900.0


#: Largest estimated discretisation error of a returned result (``quad_error``: the change when the
#: engine is refined), relative to ``max(1, |value|)``.  The default engines stay far below it (grid:
#: 1e-11 and less; tensor with 96 nodes: 1.5e-7 and 3.2e-7 at levels 1 and 2); a tensor engine with
#: 48 nodes at level 2 (5e-5) or 16 at level 1 (3e-3) is beyond it.
QUAD_TOL = 1e-6


def unresolved(quad_error: float, value: float) -> str | None:
    """Why a result ``value`` with discretisation-error estimate ``quad_error`` is not resolved by its
    engine (beyond :data:`QUAD_TOL`, or not a number), or ``None``."""
    scale = max(1.0, abs(float(value))) if math.isfinite(float(value)) else math.inf
    if float(quad_error) <= QUAD_TOL * scale:
        return None
    return (f"not resolved by the engine: quadrature error estimate {float(quad_error):.1e} exceeds "
            f"{QUAD_TOL:g} x {scale:.3g} (a finer --spacing or more --nodes)")


def check_spacing(spacing, span: float | None = None, what: str = "grid spacing") -> None:
    """``ValueError`` unless ``0 < spacing ≤`` :data:`MAX_SPACING` and, when ``span`` is given,
    the ``span/spacing`` points of the grid fit :data:`MAX_GRID_POINTS`."""
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.floating, np.integer)) \
            or not 0.0 < float(spacing) <= MAX_SPACING:
        raise ValueError(f"{what} must be a number in (0, {MAX_SPACING:g}], got {spacing!r}")
    if span is not None:
        MAX_GRID_POINTS.check(span / float(spacing) + 1.0, f"{what} {float(spacing):g} over a range of {span:g}")


def engine_memory(engine, level: int, copies: int = 1) -> float:
    """Estimated bytes of a level-``level`` Newton solve on ``engine`` (``copies`` of it at once): the
    engine's own estimate (``engine.memory``, from :data:`BYTES_PER_POINT` per innermost grid point and
    Hessian direction, or :data:`BYTES_PER_LEAF` per leaf evaluation; module docstring).  Level 0 is
    closed-form: nothing to speak of."""
    return 0.0 if level == 0 else engine.memory(level, copies)


def check_engine(engine, level: int, subject: str, copies: int = 1) -> None:
    """``ValueError`` when a level-``level`` solve on ``engine`` exceeds :data:`MAX_GRID_POINTS` or
    :data:`MAX_MEMORY_GB`; ``subject`` says what asked for it."""
    why = _over(engine, level, subject, copies)
    if why:
        raise ValueError(why)


def _over(engine, level, subject, copies=1) -> str | None:
    if level == 0:
        return None
    why = MAX_GRID_POINTS.exceeded(engine.grid_points, subject)
    if why:
        return why
    return MAX_MEMORY_GB.exceeded(engine_memory(engine, level, copies) / 1e9, subject)


def drift(engine, params, level: int) -> str | None:
    """Why ``params`` have drifted beyond what a solve may resolve, or ``None``.

    For a grid engine: the grid fitted to them (:meth:`~jaxcap._src.grid.GridEngine.points_needed`)
    would exceed :data:`MAX_GRID_POINTS` or :data:`MAX_MEMORY_GB`, typically because
    ``q_0 → 0`` or an overlap gap closes; non-finite parameters always count.  The
    reason names the parameters and the limit.
    """
    chi = float(np.asarray(params.chi))
    q = np.atleast_1d(np.asarray(params.q, dtype=float))
    x = np.atleast_1d(np.asarray(params.x, dtype=float))
    where = (f"degenerate drift (chi={chi:.3g}, q_0={q[0]:.3g}, 1-q_max={1.0 - q[-1]:.3g}, x_max={x[-1]:.3g})"
             if q.size else f"degenerate drift (chi={chi:.3g})")
    if not (np.isfinite(chi) and np.all(np.isfinite(q)) and np.all(np.isfinite(x))):
        return f"{where}: non-finite parameters"
    if not engine.adaptive or q.size == 0:
        return None
    why = MAX_GRID_POINTS.exceeded(engine.points_needed(params), f"{where}: the grid fitted to it")
    return why or _over(engine.fitted(params), level, f"{where}: the grid fitted to it")
