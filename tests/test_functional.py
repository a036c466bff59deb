"""The functional's pieces against independent computations (docs/theory.md#functional)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

import jaxcap
from jaxcap._src.functional import energy_functional, rs_outer_mean, sphere_term
from jaxcap._src.grid import GridEngine
from jaxcap._src.leaf import innermost_log_mgf, leaf_moreau
from jaxcap._src.params import Params, degeneracy, from_unconstrained, split_level, to_unconstrained
from jaxcap._src.quadrature import gauss_hermite
from jaxcap._src.tensor import TensorEngine

LEVEL2 = Params(jnp.asarray(0.0356731), jnp.asarray([0.741098, 0.976634]), jnp.asarray([2.66732, 5.35331]))
LEVEL3 = Params(jnp.asarray(0.03077), jnp.asarray([0.7314, 0.9506, 0.9931]), jnp.asarray([2.487, 3.838, 7.295]))


def test_gauss_hermite_moments():
    for q in (8, 64, 300, 500):
        z, logw = gauss_hermite(q)
        w = np.exp(logw)
        assert abs(w.sum() - 1) < 1e-13
        assert abs((w * z**2).sum() - 1) < 1e-12
        assert abs((w * z**4).sum() - 3) < 1e-11


def _brute_log_mgf(h, chi, s2, m, kappa):
    s, a = np.sqrt(s2), np.sqrt(2 * chi)
    f = lambda z: norm.pdf(z) * np.exp(m * float(leaf_moreau(h + s * z, chi, kappa)))
    cuts = sorted([(kappa - h) / s, (kappa + a - h) / s])
    parts = [(-np.inf, cuts[0]), (cuts[0], cuts[1]), (cuts[1], np.inf)]
    return np.log(sum(quad(f, lo, hi, epsabs=1e-15, epsrel=1e-13)[0] for lo, hi in parts))


@pytest.mark.parametrize("kappa", [0.0, -0.4, 0.3])
@pytest.mark.parametrize("h", [-2.0, -0.3, 0.05, 0.2, 0.9, 3.0])
def test_innermost_closed_form_matches_quadrature(h, kappa):
    chi, s2, m = 0.0533, 1 - 0.7772, 3.287
    assert float(innermost_log_mgf(h, chi, s2, m, kappa)) == pytest.approx(
        _brute_log_mgf(h, chi, s2, m, kappa), rel=1e-9, abs=1e-12)


def test_innermost_large_breakpoint_does_not_underflow():
    v = innermost_log_mgf(jnp.asarray(5.0), 0.03, 0.01, 900.0, 0.0)
    assert np.isfinite(float(v)) and float(v) == pytest.approx(-900.0, rel=1e-9)
    g = jax.grad(lambda m: innermost_log_mgf(0.1, 0.03, 0.01, m, 0.0))(50.0)
    assert np.isfinite(float(g))


@pytest.mark.parametrize("kappa", [0.0, -0.7, 0.5])
@pytest.mark.parametrize("chi", [0.05, 0.63, 2.0])
def test_rs_closed_form_against_quad(chi, kappa):
    f = lambda z: norm.pdf(z) * float(leaf_moreau(z, chi, kappa))
    a = np.sqrt(2 * chi)
    ref = sum(quad(f, lo, hi, epsabs=1e-15)[0] for lo, hi in [(-np.inf, kappa), (kappa, kappa + a), (kappa + a, np.inf)])
    assert float(rs_outer_mean(chi, kappa)) == pytest.approx(ref, abs=1e-13)


@pytest.mark.parametrize("kappa", [3.0, 5.0, 8.0])
def test_rs_closed_form_keeps_its_relative_precision_in_the_upper_tail(kappa):
    # G is of order Φ(−κ): 1e−3 … 1e−16; Φ(κ + a) − Φ(κ) rounds away unless taken as Φ(−κ) − Φ(−κ − a)
    chi = 0.2
    f = lambda z: norm.pdf(z) * float(leaf_moreau(z, chi, kappa))
    a = np.sqrt(2 * chi)
    ref = quad(f, kappa, kappa + a, epsabs=0.0, epsrel=1e-13)[0] - norm.sf(kappa + a)
    assert float(rs_outer_mean(chi, kappa)) == pytest.approx(ref, rel=1e-9)
    assert jaxcap.threshold(0, kappa=kappa).diagnostics.grad_norm <= 1e-9


def test_rs_is_the_merged_limit_of_level_one():
    """Level 1 with q_0 → 1 collapses onto the RS closed form (generic nested path vs closed form).

    The gap closes linearly in ``ε = 1 − q_0`` (sphere term and smoothing width both
    move ``E`` by O(ε)); a fine grid resolves the narrow inner level.
    """
    chi, alpha = 0.63, 7.6
    rs = float(energy_functional(alpha, Params(jnp.asarray(chi), jnp.zeros(0), jnp.zeros(0)), 0.0, None))
    engine = GridEngine(spacing=0.001)
    gaps = [abs(float(energy_functional(alpha, Params(jnp.asarray(chi), jnp.asarray([1 - eps]), jnp.asarray([1.0])),
                                        0.0, engine)) - rs) for eps in (1e-2, 1e-3)]
    assert gaps[1] < 1e-4 and gaps[1] < gaps[0] / 5


def test_sphere_term_level_zero_and_one():
    chi, q0, x0 = 0.05, 0.78, 3.3
    assert float(sphere_term(Params(jnp.asarray(chi), jnp.zeros(0), jnp.zeros(0)))) == pytest.approx(-0.5 / chi)
    lam0 = chi + x0 * (1 - q0)
    ref = -0.5 * (q0 / lam0 + np.log(lam0 / chi) / x0)
    assert float(sphere_term(Params(jnp.asarray(chi), jnp.asarray([q0]), jnp.asarray([x0])))) == pytest.approx(ref, rel=1e-14)


def _outer_mean(engine, params, kappa=0.0):
    """``G`` from ``engine``, compiled (eagerly, each operation of a level-3 grid is its own program)."""
    return float(jax.jit(lambda p: engine.outer_mean(p, kappa))(params))


def test_engines_agree():
    """Independent engines: Gauss–Hermite tensor products vs the grid (G to 1e-9; level 2: the solves in
    test_thresholds.py)."""
    g_tensor, g_grid = _outer_mean(TensorEngine(128), LEVEL3), _outer_mean(GridEngine(), LEVEL3)
    assert g_grid == pytest.approx(g_tensor, abs=1e-8)


def test_grid_converges_in_spacing():
    g = [_outer_mean(GridEngine(spacing=s), LEVEL3) for s in (0.02, 0.01, 0.005)]
    assert abs(g[2] - g[1]) < 1e-11 and abs(g[1] - g[0]) < 1e-8


def test_tensor_converges_in_nodes():
    """Each doubling of the nodes cuts the change of G more than tenfold (7e-7, then 1.1e-8)."""
    e = [_outer_mean(TensorEngine(q), LEVEL2) for q in (64, 128, 256)]
    diffs = np.abs(np.diff(e))
    assert diffs[-1] < 0.1 * diffs[0] and diffs[-1] < 2e-8


def test_coordinates_round_trip_and_degeneracy():
    u = to_unconstrained(LEVEL3)
    back = from_unconstrained(u)
    np.testing.assert_allclose(np.asarray(back.q), np.asarray(LEVEL3.q), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(back.x), np.asarray(LEVEL3.x), rtol=1e-13)
    assert degeneracy(LEVEL3) is None
    merged = Params(LEVEL3.chi, jnp.asarray([0.7314, 0.7314 + 1e-7, 0.9931]), LEVEL3.x)
    assert "overlaps merged" in degeneracy(merged)
    merged_inside = Params(LEVEL3.chi, jnp.asarray([0.7314, 0.9931, 0.9931 + 2e-4]), LEVEL3.x)
    assert "overlaps merged" in degeneracy(merged_inside)           # 2e-4 next to a gap of 0.26
    # a deep level: gaps shrinking geometrically (the innermost 1.3e-4) are not a merge
    deep = 1.0 - 0.28 * 0.6 ** np.arange(16)
    assert degeneracy(Params(LEVEL3.chi, jnp.asarray(deep), jnp.asarray(2.3 * 1.1 ** np.arange(16)))) is None
    # the level-2 maximum at κ = 3: an innermost gap of 0.011 beside one of 0.95 is not a merge
    assert degeneracy(Params(0.00288, jnp.asarray([0.036772, 0.988850]), jnp.asarray([1.2066, 3.3481]))) is None
    for where in range(4):
        s = split_level(LEVEL3, where)
        assert s.q.shape == (4,) and degeneracy(s) is None
        assert np.all(np.diff(np.asarray(s.q)) > 0) and np.all(np.diff(np.asarray(s.x)) > 0)


def test_sliding_dot_is_a_direct_convolution():
    """The blocked Toeplitz product equals ``np.convolve`` (valid mode) to rounding, kernel shorter or longer than the output."""
    from jaxcap._src.grid import sliding_dot
    rng = np.random.default_rng(0)
    for n, size in [(50, 7), (300, 801), (1000, 129)]:
        padded, kernel = rng.uniform(1e-6, 1.0, n + size - 1), rng.uniform(0.0, 1.0, size)
        ref = np.convolve(padded, kernel[::-1], mode="valid")
        np.testing.assert_allclose(np.asarray(sliding_dot(jnp.asarray(padded), jnp.asarray(kernel), n)), ref, rtol=1e-13)
    for n, size, stride in [(20, 5, 2), (37, 100, 16), (13, 7, 8), (1000, 300, 4)]:
        padded, kernel = rng.uniform(1e-6, 1.0, stride * (n - 1) + size + 3), rng.uniform(0.0, 1.0, size)
        ref = np.convolve(padded, kernel[::-1], mode="valid")[::stride][:n]
        out = np.asarray(sliding_dot(jnp.asarray(padded), jnp.asarray(kernel), n, stride))
        np.testing.assert_allclose(out, ref, rtol=1e-13)


LEVEL1 = Params(jnp.asarray(0.06), jnp.asarray([0.75]), jnp.asarray([3.0]))


def _threshold_phi(engine):
    from jaxcap._src.solver import log_threshold_ratio
    return lambda v, k: log_threshold_ratio(v, 0.0, k, engine)


@jax.jit
def _threshold_derivatives(u, kappa):
    """``log A`` at ``LEVEL1`` on a small tensor engine: difference and autodiff derivatives, and ``∇E``,
    ``∇²E`` at ``α = A(θ)`` from them and directly (one compiled program: eager autodiff is slow)."""
    from jaxcap._src.functional import sphere_term
    from jaxcap._src.solver import energy_derivatives, value_grad_hessian
    engine = TensorEngine(16)
    phi = _threshold_phi(engine)
    value, grad, hess, dk = value_grad_hessian(phi, u, kappa)
    alpha = jnp.exp(value)
    energy = lambda v: energy_functional(alpha, from_unconstrained(v), kappa, engine)
    s, ds = jax.value_and_grad(lambda v: sphere_term(from_unconstrained(v)))(u)
    grad_e, hess_e = energy_derivatives("threshold", value, grad, hess, s, ds)
    _, direct_grad_e, direct_hess_e, _ = value_grad_hessian(lambda v, _: energy(v), u, kappa)
    return dict(grad=grad, hess=hess, dk=dk, ad_grad=jax.grad(phi)(u, kappa), ad_hess=jax.hessian(phi)(u, kappa),
                ad_dk=jax.grad(phi, argnums=1)(u, kappa), grad_e=grad_e, hess_e=hess_e,
                direct_grad_e=direct_grad_e, direct_hess_e=direct_hess_e)


def test_difference_hessian_matches_autodiff():
    d = _threshold_derivatives(jnp.asarray(to_unconstrained(LEVEL1)), 0.1)
    np.testing.assert_allclose(np.asarray(d["grad"]), np.asarray(d["ad_grad"]), rtol=1e-13)
    assert float(d["dk"]) == pytest.approx(float(d["ad_dk"]), rel=1e-12)
    np.testing.assert_allclose(np.asarray(d["hess"]), np.asarray(d["ad_hess"]), atol=1e-9)


def test_energy_derivatives_from_the_threshold_objective():
    """``∇E`` and ``∇²E`` at ``α = A(θ)`` from the derivatives of ``log A`` (exact at any ``θ``, not only at the optimum)."""
    d = _threshold_derivatives(jnp.asarray(to_unconstrained(LEVEL1)), 0.1)
    np.testing.assert_allclose(np.asarray(d["grad_e"]), np.asarray(d["direct_grad_e"]), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(np.asarray(d["hess_e"]), np.asarray(d["direct_hess_e"]), atol=1e-8)


def _rough_objective(u):
    """``t² + t⁴`` (``t = u_0 − 3``), plus, when ``u_1 > 0`` (a label the gradient ignores), a ripple of
    height 1e−8 and wavelength 1e−9: a stand-in for rounding noise, which keeps that copy's gradient
    far above any tolerance while its value stops going down."""
    t = u[0] - 3.0
    return t**2 + t**4 + jnp.where(u[1] > 0.0, 1e-8 * jnp.sin(1e9 * u[0]), 0.0)


def test_lbfgs_batch_stops_when_every_start_converged_or_stalled():
    from jaxcap._src.solver import lbfgs
    u0s = jnp.asarray([[0.0, -1.0], [0.0, 1.0]])
    run = lambda stall: jax.vmap(lambda u0: lbfgs(_rough_objective, u0, 5000, 1e-12, stall))(u0s)
    u, _, gnorm, evals = run(40)
    assert float(gnorm[0]) <= 1e-12 and float(gnorm[1]) > 1e-3    # one converged, one stalled
    assert int(evals.max()) < 200
    assert float(u[0, 0]) == pytest.approx(3.0, abs=1e-6)
    _, _, _, evals = run(10_000)                                     # without the stall test: runs to maxiter
    assert int(evals[1]) == 5000


def test_compiled_programs_use_the_cpu_options_this_xla_knows(monkeypatch):
    """Every wanted option is passed; one this XLA refuses is dropped at the first compilation that
    asks for it and left out of every later program."""
    from jaxcap._src import compilation
    options = compilation.compiler_options()
    if jax.default_backend() == "cpu":
        assert options == compilation.CPU_OPTIONS
    assert compilation.compiler_options(fast_compile=True).items() >= options.items()
    monkeypatch.setattr(compilation, "_REFUSED", set())
    monkeypatch.setitem(compilation.FAST_COMPILE, "xla_no_such_option", 0)

    @compilation.jit(fast_compile=True)
    def g(v):
        return 2.0 * v

    assert float(g(3.0)) == 6.0 and compilation._REFUSED == {"xla_no_such_option"}
    assert "xla_no_such_option" not in compilation.compiler_options(fast_compile=True)
    assert compilation.compiler_options(fast_compile=True).items() >= options.items()

    @compilation.jit(static_argnames="power")
    def f(v, power):
        return v ** power

    assert float(f(3.0, power=2)) == 9.0 and float(jax.grad(f)(3.0, 2)) == 6.0
    assert float(f.lower(3.0, power=3).compile()(3.0)) == 27.0
