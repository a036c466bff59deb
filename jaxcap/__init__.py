"""jaxcap: how much must a random ReLU layer expand to be injective?

The level-r functional of fully lifted random duality theory (= r-step RSB),
written once in JAX, maximised, and solved for the threshold alpha_r where the
ground-state energy reaches 1 (``docs/theory.md#question``).

The public API is the names below (``docs/api.md``); the implementation lives in the private
package ``jaxcap._src``, whose docstring maps its modules in data-flow order (quadrature → engines →
functional → solver → objectives → solves).  ``jaxcap.cli`` is the ``jaxcap`` command, on this API;
``jaxcap.references`` holds the published values and ``jaxcap.scipy_baseline`` the SciPy solver that
the benchmarks compare against.

Importing jaxcap turns on float64 and nothing else: each public name is imported from its module on
first use, so that ``import jaxcap`` costs little more than ``import jax``.
"""
from ._src.precision import enable_x64_on_import

enable_x64_on_import()  # float64: the one documented global setting (jaxcap._src.precision, docs/guide/jax.md)

__version__ = "0.1.0"

#: Each public name and the implementation module that defines it.
_SOURCES = {
    "threshold": "api", "energy": "api", "sat": "api",
    "threshold_chain": "threshold",
    "sweep": "sweep", "energy_grid": "sweep", "sweep_chunks": "sweep",
    "AUTO_COARSE": "sweep", "AUTO_COARSE_FROM": "sweep", "SWEEP_HESSIANS": "sweep",
    "potential_derivatives": "coefficients",
    "Result": "result", "Diagnostics": "result", "FRSBResult": "result", "Quantities": "result",
    "ConvergenceError": "result", "to_json": "result", "json_safe": "result",
    "check_writable": "checkpoint",
    "Status": "status",
    "Engine": "engine", "make_engine": "engine",
    "gardner": "zero_energy", "sat_chain": "zero_energy", "sat_curve": "zero_energy", "sat_sequence": "zero_energy",
    "second_derivative": "zero_energy",
    "frsb_sequence": "frsb", "extrapolate": "extrapolation",
    "dat_threshold": "temperature", "rs_state": "temperature",
    "gordon_curve": "finite", "gordon_limit_energy": "finite", "is_injective": "finite", "min_active": "finite",
    "min_max_field": "finite", "finite_experiment": "finite", "FINITE_METHODS": "finite",
    "check_points": "validation", "check_finite_size": "finite", "check_finite_experiment": "finite",
    "check_cpu_devices": "validation", "MAX_SPACING": "guards",
    "structure": "structure", "Structure": "structure",
    "structure_at": "structure", "structure_sequence": "structure_limits", "contacts_limit": "structure_limits",
    "euler_characteristic": "euler", "euler_threshold": "euler", "euler_rate": "euler",
    "EulerThreshold": "euler", "check_euler_size": "euler", "euler_log_abs": "euler", "euler_finite_rate": "euler",
    "finite_threshold": "finite_threshold",
    "Potential": "potential",
    "bench_suite": "bench", "bench_tasks": "bench",
}

__all__ = list(_SOURCES)


def __getattr__(name: str):
    """The public name ``name``, imported from its module on first use (PEP 562)."""
    try:
        module = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module 'jaxcap' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(f"._src.{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
