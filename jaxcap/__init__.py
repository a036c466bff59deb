"""jaxcap: how much must a random ReLU layer expand to be injective?

The level-r functional of fully lifted random duality theory (= r-step RSB),
written once in JAX, maximised, and solved for the threshold alpha_r where the
ground-state energy reaches 1 (``docs/theory.md#question``).
"""
from .precision import enable_x64_on_import

enable_x64_on_import()  # float64: the one documented global setting (jaxcap.precision, docs/guide/jax.md)

__version__ = "0.1.0"

from .result import ConvergenceError, Diagnostics, FRSBResult, Quantities, Result, to_json  # noqa: E402
from .threshold import threshold_chain  # noqa: E402
from .sweep import energy_grid, sweep  # noqa: E402  (the name jaxcap.sweep is the function)
from .api import energy, sat, threshold  # noqa: E402
from .euler import euler_characteristic, euler_threshold  # noqa: E402
from .structure import Structure, structure  # noqa: E402  (the name jaxcap.structure is the function)

__all__ = ["energy", "threshold", "threshold_chain", "sweep", "energy_grid", "sat", "Result", "Diagnostics", "FRSBResult",
           "Quantities", "ConvergenceError", "to_json", "structure", "Structure"]
__all__ += ["euler_characteristic", "euler_threshold"]
