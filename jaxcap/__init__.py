"""jaxcap: how much must a random ReLU layer expand to be injective?

The level-r functional of fully lifted random duality theory (= r-step RSB),
written once in JAX, maximised, and solved for the threshold alpha_r where the
ground-state energy reaches 1.  See DESIGN.md (shared with the developers) for
the mathematics; equation references in docstrings point there.
"""
import jax

# The one global switch, on purpose: every computation in jaxcap is float64.
jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

from .result import ConvergenceError, Diagnostics, Result  # noqa: E402
from .threshold import energy, threshold, threshold_chain  # noqa: E402
from .sweep import energy_grid, sweep  # noqa: E402  (the name jaxcap.sweep is the function)

__all__ = ["energy", "threshold", "threshold_chain", "sweep", "energy_grid", "Result", "Diagnostics", "ConvergenceError"]
