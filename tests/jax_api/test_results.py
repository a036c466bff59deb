"""Thresholds and energies as JAX functions: the pytree Result, jit, vmap (one batched program),
energy second derivatives against finite differences, errors that keep their type,
and the float64 policy."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxcap
from jaxcap._src import sensitivity
from jaxcap._src.result import REASONS

H = 1e-3  # finite-difference step in alpha and kappa: central differences err by about H^2 |f'''| / 6


def test_result_is_a_pytree_with_static_metadata():
    res = jaxcap.threshold(0, kappa=0.1)
    leaves, treedef = jax.tree.flatten(res)
    assert all(np.ndim(v) <= 1 for v in leaves) and not any(isinstance(v, str) for v in leaves)
    again = jax.tree.unflatten(treedef, leaves)
    assert again.level == 0 and again.kind == "threshold" and again.alpha == res.alpha
    assert res.converged and res.reason is None and res.shape == ()
    with pytest.raises(TypeError):
        len(res)

def test_jit_returns_a_result():
    res = jax.jit(lambda k: jaxcap.threshold(0, kappa=k))(0.1)
    host = jaxcap.threshold(0, kappa=0.1)
    assert isinstance(res, jaxcap.Result) and res.level == 0 and res.kind == "threshold"
    assert bool(res.converged) and res.reason is None
    assert float(res.alpha) == pytest.approx(host.alpha, rel=1e-12)
    assert float(res.dalpha_dkappa) == pytest.approx(host.dalpha_dkappa, rel=1e-10)
    assert float(res.energy) == pytest.approx(1.0, abs=1e-12)
    assert jaxcap.to_json(res)["alpha"] == pytest.approx(host.alpha, rel=1e-12)
    # a user function that uses the result inside jit
    both = jax.jit(lambda k: jaxcap.threshold(0, kappa=k).alpha + jaxcap.energy(8.0, 0, kappa=k).energy)(0.1)
    assert float(both) == pytest.approx(host.alpha + jaxcap.energy(8.0, 0, kappa=0.1).energy, rel=1e-12)

def test_vmap_sends_the_whole_batch_to_one_batched_solve(monkeypatch):
    calls = []
    solve = sensitivity.solve_batch
    monkeypatch.setattr(sensitivity, "solve_batch", lambda p, k, **kw: calls.append(len(k)) or solve(p, k, **kw))
    ks = jnp.linspace(-0.6, 0.6, 7)
    res = jax.vmap(lambda k: jaxcap.threshold(0, kappa=k))(ks)
    assert calls == [7]
    assert res.shape == (7,) and len(res) == 7 and res.params["q"].shape == (7, 0)
    ref = jaxcap.sweep(0, np.asarray(ks), hessian="difference")   # the program the vmap ran
    np.testing.assert_allclose(res.alpha, ref.alpha, rtol=1e-10)
    np.testing.assert_allclose(res.dalpha_dkappa, ref.dalpha_dkappa, rtol=1e-8)
    assert [bool(r.converged) for r in res] == [True] * 7

def test_a_failing_element_does_not_abort_the_batch():
    ks = jnp.array([0.2, jnp.nan, 1.5, -0.2])  # NaN: invalid; 1.5: outside the default kappa_range
    res = jax.vmap(lambda k: jaxcap.threshold(0, kappa=k))(ks)
    assert list(np.asarray(res.converged)) == [True, False, False, True]
    alpha = np.asarray(res.alpha)
    assert np.isnan(alpha[1]) and np.isnan(alpha[2]) and np.all(np.isfinite(alpha[[0, 3]]))
    assert list(res.reason) == [None, REASONS[6], REASONS[7], None]
    out = jaxcap.to_json(res)
    assert out[1]["alpha"] is None and out[1]["converged"] is False and out[1]["diagnostics"]["reason"] == REASONS[6]
    # a wider kappa_range brings kappa = 1.5 in
    wide = jax.vmap(lambda k: jaxcap.threshold(0, kappa=k, kappa_range=(-2.0, 2.0)))(ks)
    assert bool(wide.converged[2]) and float(wide.alpha[2]) == pytest.approx(jaxcap.threshold(0, kappa=1.5).alpha,
                                                                            rel=1e-12)

def test_a_solve_that_fails_inside_jit_is_nan_not_an_exception(monkeypatch):
    def fail(*args, **kwargs):
        raise jaxcap.ConvergenceError("no start reached a verified maximum")
    monkeypatch.setattr(sensitivity, "host_energy", fail)
    res = jax.jit(lambda a: jaxcap.energy(a, 0))(3.0)
    assert not bool(res.converged) and np.isnan(res.energy) and res.reason == REASONS[5]
    assert np.isnan(jax.grad(lambda a: jaxcap.energy(a, 0).energy)(3.0))

def test_energy_second_derivatives():
    alpha, kappa = 7.0, 0.1
    e = lambda a, k: jaxcap.energy(a, 0, kappa=k).energy
    hess = np.asarray(jax.jit(jax.hessian(e, argnums=(0, 1)))(alpha, kappa))
    # one batched call at (alpha +- H, kappa) and (alpha, kappa +- H)
    a = jnp.array([alpha - H, alpha + H, alpha, alpha, alpha])
    k = jnp.array([kappa, kappa, kappa - H, kappa + H, kappa])
    res = jax.vmap(lambda a, k: jaxcap.energy(a, 0, kappa=k))(a, k)
    assert bool(jnp.all(res.converged))
    ea, ek, en = np.asarray(res.denergy_dalpha), np.asarray(res.denergy_dkappa), np.asarray(res.energy)
    assert ea[4] == pytest.approx((en[1] - en[0]) / (2 * H), rel=1e-6)   # the envelope slopes
    assert ek[4] == pytest.approx((en[3] - en[2]) / (2 * H), rel=1e-6)
    assert hess[0, 0] == pytest.approx((ea[1] - ea[0]) / (2 * H), rel=1e-5)    # d2e/dalpha2
    assert hess[0, 1] == pytest.approx((ea[3] - ea[2]) / (2 * H), rel=1e-5)    # d2e/dalpha dkappa
    assert hess[1, 0] == pytest.approx((ek[1] - ek[0]) / (2 * H), rel=1e-5)
    assert hess[1, 1] == pytest.approx((ek[3] - ek[2]) / (2 * H), rel=1e-5)    # d2e/dkappa2
    assert hess[0, 0] > 0  # e_r is a maximum of functions linear in alpha: convex in alpha

@pytest.mark.parametrize("level", [True, None, "1", 1.0, jnp.int32(1)])
def test_level_must_be_an_int(level):
    with pytest.raises(TypeError, match="level must be an int"):
        jaxcap.threshold(level)
    with pytest.raises(TypeError, match="level must be an int"):
        jax.jit(lambda k: jaxcap.threshold(level, kappa=k))(0.0)

def test_bad_input_keeps_its_type_under_transformations():
    with pytest.raises(ValueError, match="non-negative"):
        jax.jit(lambda k: jaxcap.threshold(-1, kappa=k))(0.0)
    with pytest.raises(ValueError, match="engine"):
        jax.grad(lambda k: jaxcap.threshold(1, kappa=k, engine="fft").alpha)(0.0)
    with pytest.raises(ValueError, match="alpha"):
        jax.grad(lambda k: jaxcap.energy(-1.0, 0, kappa=k).energy)(0.0)
    with pytest.raises(ValueError, match="kappa_range"):
        jax.jit(lambda k: jaxcap.threshold(0, kappa=k, kappa_range=(1.0, -1.0)))(0.0)
    with pytest.raises(ValueError, match="scalar"):
        jax.jit(lambda k: jaxcap.threshold(0, kappa=k))(jnp.zeros(3))
    with pytest.raises(TypeError, match="kappa must be a real number"):
        jaxcap.threshold(0, kappa="0.1")
    with pytest.raises(ValueError, match="kappa must be finite"):
        jaxcap.threshold(0, kappa=float("nan"))

def test_sweep_and_energy_grid_return_batched_results():
    res = jaxcap.sweep(0, [-0.1, 0.0, 0.1])
    assert isinstance(res, jaxcap.Result) and res.shape == (3,) and res.kind == "threshold"
    assert [r.kappa for r in res] == [-0.1, 0.0, 0.1] and all(res.converged)
    assert res[1:].shape == (2,) and float(res[1].alpha) == pytest.approx(jaxcap.threshold(0).alpha, rel=1e-12)
    assert json.loads(json.dumps(jaxcap.to_json(res)))[2]["kappa"] == 0.1

def test_other_results_have_one_json_form():
    sat = jaxcap.sat(-0.5)
    assert sat.converged and sat.reason is None and sat.alpha == jaxcap.to_json(sat)["alpha"]
    with pytest.raises(TypeError):
        jaxcap.to_json({"alpha": 1.0})

def test_float64_is_enabled_in_one_documented_place_and_can_be_refused():
    code = ("import jax, jaxcap\n"
            "assert not jax.config.jax_enable_x64\n"
            "try:\n    jaxcap.threshold(0)\nexcept RuntimeError as e:\n    print('refused:', e)\n")
    env = dict(os.environ, JAXCAP_ENABLE_X64="0", JAX_PLATFORMS="cpu")
    env.pop("JAX_ENABLE_X64", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: jaxcap needs float64" in out.stdout
    assert jax.config.jax_enable_x64 and jnp.asarray(1.0).dtype == jnp.float64
