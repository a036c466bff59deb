"""jaxcap: how much must a random ReLU layer expand to be injective?

The level-r functional of fully lifted random duality theory (= r-step RSB),
written once in JAX, maximised, and solved for the threshold alpha_r where the
ground-state energy reaches 1 (``docs/theory.md#question``).

Module map, in data-flow order (the public names below are the API, ``docs/api.md``):

* quadrature, leaf: Gauss–Hermite nodes and the closed-form innermost level;
* grid, tensor, engine: the two engines of the outer mean ``G`` and the :class:`Engine` protocol;
* params, functional: the coordinates and the level-``r`` functional ``E_r = S − αG``;
* solver: ascent, Newton polish and measurement of an objective ``φ(u)``;
* measurement, status, guards, validation: the verdict, the one enumeration of outcomes
  (:class:`Status`), the resource limits and the one check of every argument;
* driver: the one host driver of a level solve over an objective record;
* threshold, zero_energy: the objectives (threshold, energy, zero-energy line) and their chains;
* sweep, sensitivity: batched (vmapped) and traced (``jax.jit``/``vmap``/``grad``) solves;
* frsb, extrapolation, temperature, finite: the ``r → ∞`` limit, finite temperature, finite size;
* result: :class:`Result` and :func:`to_json`, what every solve returns;
* api: the public single solves :func:`threshold`, :func:`energy`, :func:`sat`;
* cli: the ``jaxcap`` command, on the public API only.
"""
from .precision import enable_x64_on_import

enable_x64_on_import()  # float64: the one documented global setting (jaxcap.precision, docs/guide/jax.md)

__version__ = "0.1.0"

from .result import ConvergenceError, Diagnostics, FRSBResult, Quantities, Result, to_json  # noqa: E402
from .threshold import threshold_chain  # noqa: E402
from .sweep import energy_grid, sweep  # noqa: E402  (the name jaxcap.sweep is the function)
from .api import energy, sat, threshold  # noqa: E402
from .status import Status  # noqa: E402
from .engine import Engine, make_engine  # noqa: E402
from .zero_energy import gardner, sat_chain, sat_curve, sat_sequence, second_derivative  # noqa: E402
from .frsb import frsb_sequence  # noqa: E402
from .extrapolation import extrapolate  # noqa: E402
from .temperature import dat_threshold, rs_state  # noqa: E402
from .finite import gordon_curve, gordon_limit_energy, is_injective, min_active, min_max_field  # noqa: E402
from .validation import check_points  # noqa: E402
from .guards import MAX_SPACING  # noqa: E402
from .euler import euler_characteristic, euler_threshold  # noqa: E402
from .structure import Structure, structure  # noqa: E402

__all__ = ["energy", "threshold", "threshold_chain", "sweep", "energy_grid", "sat", "Result", "Diagnostics", "FRSBResult",
           "Quantities", "ConvergenceError", "to_json",
           "Status", "Engine", "make_engine", "gardner", "sat_chain", "sat_curve", "sat_sequence", "second_derivative",
           "frsb_sequence", "extrapolate", "dat_threshold", "rs_state", "gordon_curve", "gordon_limit_energy",
           "is_injective", "min_active", "min_max_field", "check_points", "MAX_SPACING",
           "structure", "Structure", "euler_characteristic", "euler_threshold"]
