"""jaxcap.sat as a JAX function (docs/guide/zero-energy.md): grad against finite differences of the
concrete line, second derivatives against finite differences of the concrete slopes, vmap equal to the
concrete values, jit returning a Result, Gardner's slope for kappa <= 0, third derivatives NaN (not
computed) and the static arguments checked before tracing."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxcap
from jaxcap._src.zero_energy import curvature, gardner, sat_curve

alpha_1 = lambda k: jaxcap.sat(k, 1).alpha  # noqa: E731


def test_first_and_second_derivatives_match_central_differences_of_the_concrete_line():
    """vmap(grad) and vmap(hessian) of the level-1 line against central differences of the concrete
    values and slopes (one warm-started curve); for kappa <= 0, of Gardner's closed form."""
    h, ks = 1e-3, [0.5, 1.0]
    rows = [r[-1] for r in sat_curve([k + s for k in ks for s in (-h, h)], 1)]
    both = jax.jit(jax.vmap(lambda k: (jax.grad(alpha_1)(k), jax.hessian(alpha_1)(k))))
    first, second = (np.asarray(d) for d in both(jnp.asarray(ks + [-0.5])))
    for i in range(len(ks)):
        lo, hi = rows[2 * i], rows[2 * i + 1]
        # central differences: error O(h^2 alpha''') plus the solves' tolerance amplified by 1/h
        assert first[i] == pytest.approx((hi.alpha - lo.alpha) / (2 * h), rel=1e-5)
        assert second[i] == pytest.approx((hi.dalpha_dkappa - lo.dalpha_dkappa) / (2 * h), rel=1e-5)
    assert first[2] == pytest.approx(gardner(-0.5)[1], rel=1e-14)
    assert second[2] == pytest.approx((gardner(-0.5 + h)[1] - gardner(-0.5 - h)[1]) / (2 * h), rel=1e-5)


def test_vmap_equals_the_concrete_values_and_jit_returns_a_result():
    ks = np.array([1.0, -0.5, 0.5])  # unsorted: the host loop sorts and puts back
    batch = jax.vmap(lambda k: jaxcap.sat(k, 1))(jnp.asarray(ks))
    assert np.all(np.asarray(batch.converged))
    for i, k in enumerate(ks):
        ref = jaxcap.sat(float(k), 1)
        assert float(batch.alpha[i]) == pytest.approx(ref.alpha, rel=1e-12)
        assert float(batch.dalpha_dkappa[i]) == pytest.approx(ref.dalpha_dkappa, rel=1e-12)
        if k > 0:
            np.testing.assert_allclose(np.asarray(batch.params["q"][i]), ref.params["q"], rtol=1e-12)
    res = jax.jit(lambda k: jaxcap.sat(k, 1))(0.5)
    assert isinstance(res, jaxcap.Result) and res.kind == "sat" and bool(res.converged)
    assert float(res.alpha) == pytest.approx(float(batch.alpha[2]), rel=1e-12)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_nonpositive_kappa_gives_gardners_slope(level):
    alpha, slope = gardner(-0.5)
    assert float(jax.jit(lambda k: jaxcap.sat(k, level).alpha)(-0.5)) == pytest.approx(alpha, rel=1e-14)
    assert float(jax.grad(lambda k: jaxcap.sat(k, level).alpha)(-0.5)) == pytest.approx(slope, rel=1e-14)


def test_level_2_first_and_second_derivatives():
    """The concrete envelope slopes at levels 1 and 2 against central differences of the values along a
    curve, and jit(grad(grad)) at level 2 against differences of the slopes (its value: the curve's)."""
    h, k = 1e-3, 1.0
    minus, mid, plus = sat_curve([k - h, k, k + h], 2)
    for level in (1, 2):
        assert mid[level].dalpha_dkappa == pytest.approx((plus[level].alpha - minus[level].alpha) / (2 * h), rel=1e-6)
    alpha_2 = lambda v: jaxcap.sat(v, 2).alpha  # noqa: E731
    alpha, second = jax.jit(lambda v: (alpha_2(v), jax.grad(jax.grad(alpha_2))(v)))(k)
    assert float(alpha) == pytest.approx(mid[2].alpha, rel=1e-12)   # the traced solve: the curve's value
    assert float(second) == pytest.approx((plus[2].dalpha_dkappa - minus[2].dalpha_dkappa) / (2 * h), rel=1e-5)


def test_first_derivative_alone_skips_the_curvature_and_a_third_is_nan(monkeypatch):
    import jaxcap._src.sensitivity as sensitivity
    calls = []
    counted = lambda *a, **kw: calls.append(a) or curvature(*a, **kw)  # noqa: E731
    monkeypatch.setattr(sensitivity, "curvature", counted)
    jax.grad(alpha_1)(0.7)
    assert not calls
    assert float(jax.grad(lambda k: jaxcap.sat(k, 1).dalpha_dkappa)(0.7)) == pytest.approx(
        float(jax.hessian(alpha_1)(0.7)), rel=1e-12) and calls
    assert np.isnan(float(jax.grad(jax.grad(jax.grad(alpha_1)))(0.7)))
    assert np.isnan(float(jax.grad(lambda k: jaxcap.sat(k, 1).params["q"][0])(0.7)))


def test_failures_come_back_not_converged():
    res = jax.jit(lambda k: jaxcap.sat(k, 0))(jnp.inf)
    assert not bool(res.converged) and np.isnan(float(res.alpha))


@pytest.mark.parametrize("level, error", [(True, TypeError), (None, TypeError), ("1", TypeError), (1.0, TypeError),
                                          (-1, ValueError)])
def test_static_level_is_checked_before_tracing(level, error):
    with pytest.raises(error):
        jax.jit(lambda k: jaxcap.sat(k, level))(0.5)
    with pytest.raises(error):
        jaxcap.sat(0.5, level)


def test_unknown_option_is_a_type_error_before_tracing():
    with pytest.raises(TypeError):
        jax.jit(lambda k: jaxcap.sat(k, 1, colour="red"))(0.5)
