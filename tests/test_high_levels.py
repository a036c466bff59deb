"""Levels 4–6: per-level grids, extrapolated starts and the r → ∞ fit (docs/references.md, docs/theory.md#frsb)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxcap
from jaxcap._src.extrapolation import MODEL, extrapolate
from jaxcap._src.grid import GridEngine
from jaxcap._src.params import Params, extrapolated_level, split_level, to_unconstrained
from jaxcap._src.tensor import TensorEngine
from conftest import FRSB_ALPHA


@pytest.fixture(scope="module")
def chain():
    return list(jaxcap.threshold_chain(6))


def _params(res):
    return Params(jnp.asarray(res.params["chi"]), jnp.asarray(res.params["q"]), jnp.asarray(res.params["x"]))


def test_levels_four_to_six_are_verified_and_decrease(chain):
    alphas = [r.alpha for r in chain]
    assert all(a > b for a, b in zip(alphas, alphas[1:]))
    assert FRSB_ALPHA - 1e-4 < alphas[-1]
    for r in chain[4:]:
        d = r.diagnostics
        assert r.energy == pytest.approx(1.0, abs=1e-12)
        assert d.grad_norm <= 1e-9 and d.hessian_max_eig < 0 and d.quad_error < 1e-10


def test_level_four_against_the_tensor_engine(chain):
    """At the level-4 solution, Gauss–Hermite tensor products (48 nodes per level, no grid, no strides)
    give the same ``G``: the implied change of ``α`` is below 1e-5.  (Gauss–Hermite converges slowly on
    the leaf's kinks: 3e-6 at 48 nodes, 2e-7 at 64, which take 4x longer: 48^4 vs 64^4 closed forms.)"""
    res = chain[4]
    p = _params(res)
    grid = GridEngine.around(0.0, spacing=0.04).fitted(p)
    g_grid, g_tensor = jax.jit(lambda v: (grid.outer_mean(v, 0.0), TensorEngine(48).outer_mean(v, 0.0)))(p)
    assert abs(res.alpha * (g_tensor - g_grid) / g_grid) < 1e-5


def test_per_level_grids_match_one_fine_uniform_grid(chain):
    """The fitted engine (strided outer grids, per-level kernels) against a uniform grid at a quarter
    of its finest spacing with the widest kernels, at the level-6 solution: ``G`` to 1e-13."""
    p = _params(chain[6])
    fitted = GridEngine.around(0.0).fitted(p)
    assert fitted.strides[0] >= 8 and fitted.check(p) is None
    fine = GridEngine(spacing=fitted.spacing / 4, sigma_cap=1.0)
    both = jax.jit(lambda v: (fitted.outer_mean(v, 0.0), fine.outer_mean(v, 0.0)))(p)
    assert float(both[0]) == pytest.approx(float(both[1]), abs=1e-13)
    # an engine that does not resolve the innermost level is refused
    coarse = GridEngine(spacing=0.04)
    assert "under 3 grid spacings" in coarse.check(p)


def test_extrapolated_start_is_closer_than_any_split(chain):
    for r in (4, 5, 6):
        target = to_unconstrained(_params(chain[r]))
        start = extrapolated_level(_params(chain[r - 2]), _params(chain[r - 1]))
        ours = np.linalg.norm(to_unconstrained(start) - target)
        splits = min(np.linalg.norm(to_unconstrained(split_level(_params(chain[r - 1]), w, s)) - target)
                     for w in range(r) for s in (0.3, 0.8))
        assert ours < splits / 2
    # the start chain[6] came from needed few Newton measurements
    assert chain[6].diagnostics.newton_steps <= 12


def test_shifted_power_law_over_levels_two_to_six(chain):
    """The r → ∞ fit: inside the published FRSB window, with an error bar under 2e-5."""
    fit = extrapolate([r.level for r in chain], [r.alpha for r in chain])
    assert fit["model"] == MODEL and fit["fit_levels"] == [2, 3, 4, 5, 6]
    assert abs(fit["alpha_inf"] - FRSB_ALPHA) < 1e-4
    assert fit["alpha_inf"] < chain[-1].alpha and fit["alpha_inf_err"] < 2e-5
    assert 3.0 < fit["p"] < 5.0
