"""Thresholds levels 0–3 against the published values and the invariants (DESIGN §3, §4)."""
import numpy as np
import pytest

import jaxcap
from jaxcap.tensor import TensorEngine
from conftest import FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA


@pytest.fixture(scope="module")
def chain():
    return list(jaxcap.threshold_chain(3))


def test_level_zero_is_plain_rdt(chain):
    assert chain[0].alpha == pytest.approx(RS_ALPHA, abs=2e-6)


def test_level_one_is_1rsb(chain):
    r = chain[1]
    assert r.alpha == pytest.approx(ONE_RSB_ALPHA, abs=5e-6)
    assert r.params["q"][0] == pytest.approx(0.7772, abs=2e-4)
    assert r.params["chi"] == pytest.approx(0.0533, abs=2e-4)
    assert r.params["x"][0] == pytest.approx(3.287, abs=2e-3)


def test_levels_decrease_towards_frsb(chain):
    alphas = [r.alpha for r in chain]
    assert all(a > b for a, b in zip(alphas, alphas[1:]))
    assert FRSB_ALPHA < alphas[3] < alphas[2] < alphas[1]


def test_energy_is_one_and_optimum_is_a_proper_maximum(chain):
    for r in chain:
        d = r.diagnostics
        assert r.energy == pytest.approx(1.0, abs=1e-12)
        assert d.grad_norm <= 1e-9
        assert d.hessian_max_eig < 0
        assert d.quad_error < 1e-7
        q, x = np.asarray(r.params["q"]), np.asarray(r.params["x"])
        assert np.all(np.diff(np.concatenate([q, [1.0]])) > 1e-3) and np.all(np.diff(x) > 0)


def test_energy_at_threshold_reaches_one(chain):
    r2 = chain[2]
    e = jaxcap.energy(r2.alpha, 2)
    assert e.energy == pytest.approx(1.0, abs=1e-9)
    assert e.diagnostics.grad_norm <= 1e-9 and e.diagnostics.hessian_max_eig < 0
    np.testing.assert_allclose(e.params["q"], r2.params["q"], atol=1e-6)
    # the energy is increasing in alpha, and the level-1 energy lies below level 2
    assert jaxcap.energy(r2.alpha, 1).energy < 1.0


def test_tensor_engine_agrees_with_grid_engine(chain):
    for level in (1, 2):
        t = jaxcap.threshold(level, engine="tensor", nodes=256)
        assert t.alpha == pytest.approx(chain[level].alpha, abs=1e-6)
        assert t.diagnostics.engine == "tensor" and t.diagnostics.quad_nodes == 256
