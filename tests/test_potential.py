"""Piecewise-quadratic potentials: the leaf against a brute-force maximum, the innermost level against
quadrature, the count against the closed forms of ``jaxcap._src.leaf`` and ``jaxcap._src.functional``, the
quadratic hinge's RS energy in closed form, and derivatives against finite differences."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

import jaxcap  # noqa: F401  (float64)
from jaxcap._src import leaf as count_leaf
from jaxcap._src import potential as pot
from jaxcap._src.functional import rs_outer_mean

KAPPA, CHI = 0.3, 0.7


def _custom():
    """Three pieces: a jump down at −0.5, a bounded middle piece and a kink at 1."""
    return pot.from_pieces([-0.5, 1.0], [0.2, 0.3, 0.5], [0.1, 0.0, -0.4], [0.0, -0.6, 0.7])


POTENTIALS = {"count": pot.count(KAPPA), "linear": pot.linear(KAPPA), "quadratic": pot.quadratic(KAPPA),
              "custom": _custom()}


@pytest.mark.parametrize("name", POTENTIALS)
def test_leaf_is_the_moreau_envelope(name):
    p = POTENTIALS[name]
    u = np.linspace(-12.0, 12.0, 60_001)
    v = np.asarray(pot.potential_value(p, jnp.asarray(u)))
    h = np.linspace(-3.0, 4.0, 15)
    brute = np.max(-(u[None, :] - h[:, None]) ** 2 / (2 * CHI) - v[None, :], axis=1)
    leaf = np.asarray(pot.leaf(jnp.asarray(h), CHI, p))
    assert np.all(leaf >= brute - 1e-12)                     # the grid's maximum can only be lower
    assert np.max(leaf - brute) < 1e-3                        # by at most its spacing's worth


@pytest.mark.parametrize("name", POTENTIALS)
def test_innermost_level_against_quadrature(name):
    p = POTENTIALS[name]
    h, s2, m = jnp.array([-2.0, 0.1, 0.45, 1.2, 3.0]), 0.4, 2.5
    z = np.linspace(-14.0, 14.0, 200_001)
    leaf = np.asarray(jax.jit(lambda w: pot.leaf(w, CHI, p))(jnp.asarray(h[:, None] + np.sqrt(s2) * z[None, :])))
    dens = np.exp(m * leaf - z**2 / 2) / np.sqrt(2 * np.pi)
    quad = np.log(np.trapezoid(dens, z, axis=1))       # kinks of the leaf: trapezoid error O(dz^2)
    closed = np.asarray(jax.jit(lambda hh: pot.innermost_log_mgf(hh, CHI, s2, m, p))(h))
    np.testing.assert_allclose(closed, quad, atol=1e-8)


def test_count_matches_the_closed_forms():
    p = pot.count(KAPPA)
    h = jnp.linspace(-6.0, 9.0, 151)
    s2, m = jnp.array([0.4, 0.01, 0.9]), jnp.array([2.5, 300.0, 0.05])

    @jax.jit
    def both():
        mine = jax.vmap(lambda a, b: pot.innermost_log_mgf(h, CHI, a, b, p))(s2, m)
        ref = jax.vmap(lambda a, b: count_leaf.innermost_log_mgf(h, CHI, a, b, KAPPA))(s2, m)
        rs = jnp.stack([pot.rs_outer_mean(CHI, p), rs_outer_mean(CHI, KAPPA)])
        d2 = jnp.stack([jax.hessian(lambda c: pot.rs_outer_mean(c, p))(CHI),
                        jax.hessian(lambda c: rs_outer_mean(c, KAPPA))(CHI)])
        return mine, ref, rs, d2

    mine, ref, rs, d2 = both()
    np.testing.assert_allclose(mine, ref, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(rs[0], rs[1], rtol=1e-14)
    np.testing.assert_allclose(d2[0], d2[1], rtol=1e-12)


@pytest.mark.parametrize("alpha", [4.0, 6.0])
def test_quadratic_hinge_rs_energy_in_closed_form(alpha):
    """``e_0 = max_χ [−1/(2χ) − α G_0(χ)] = (√(αD) − 1)²/2`` with ``D = E(z − κ)_+²`` when ``αD > 1``."""
    p = pot.quadratic(KAPPA)
    g0 = jax.jit(lambda c: pot.rs_outer_mean(c, p))
    best = minimize_scalar(lambda t: 0.5 * np.exp(-t) + alpha * float(g0(np.exp(t))), bounds=(-8, 8),
                           method="bounded", options={"xatol": 1e-10})
    d = (1 + KAPPA**2) * ndtr(-KAPPA) - KAPPA * np.exp(-KAPPA**2 / 2) / np.sqrt(2 * np.pi)
    assert alpha * d > 1
    np.testing.assert_allclose(-best.fun, (np.sqrt(alpha * d) - 1) ** 2 / 2, rtol=1e-9)


@pytest.mark.parametrize("name", ["count", "quadratic"])
def test_derivatives_match_finite_differences(name):
    """In ``κ`` (every built-in is a family in κ), in the hinge's scale, and second order in ``χ``."""
    make = {"count": pot.count, "linear": pot.linear, "quadratic": pot.quadratic}[name]
    h = jnp.linspace(-2.0, 3.0, 7)

    def mgf(kappa, chi, scale=1.0):
        p = make(kappa)
        p = pot.Potential(p.breaks, scale * p.a, scale * p.b, p.c if name == "count" else scale * p.c, p.name)
        return pot.innermost_log_mgf(h, chi, 0.4, 2.5, p).sum()

    e, e2 = 1e-5, 1e-3
    steps = jnp.array([[e, 0, 0], [-e, 0, 0], [0, e, 0], [0, -e, 0], [0, 0, e], [0, 0, -e],
                       [0, e2, 0], [0, 0, 0], [0, -e2, 0]])

    @jax.jit
    def everything():
        at = (KAPPA, CHI, 1.0)
        f = jax.vmap(lambda d: mgf(KAPPA + d[0], CHI + d[1], 1.0 + d[2]))(steps)
        return jnp.stack(jax.grad(mgf, argnums=(0, 1, 2))(*at)), jax.hessian(mgf, argnums=1)(*at), f

    grads, second, f = everything()
    fd = (f[0:6:2] - f[1:6:2]) / (2 * e)
    fd2 = (f[6] - 2 * f[7] + f[8]) / e2**2
    np.testing.assert_allclose(grads, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(second, fd2, rtol=1e-5)


def test_json_potential_equals_the_builtin(tmp_path):
    path = tmp_path / "hinge.json"
    path.write_text(json.dumps(pot.quadratic(KAPPA).as_dict()))
    loaded = pot.load(path)
    h = jnp.linspace(-2.0, 3.0, 11)
    mgf = jax.jit(lambda p: pot.innermost_log_mgf(h, CHI, 0.4, 2.5, p))
    np.testing.assert_array_equal(mgf(loaded), mgf(pot.quadratic(KAPPA)))


@pytest.mark.parametrize("spec, reason", [
    (([0.0], [0.0], [0.0], [0.0]), "pieces"),
    (([1.0, 0.0], [0.0] * 3, [0.0] * 3, [0.0] * 3), "increasing"),
    (([0.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 0.0]), "a >= 0"),
    (([0.0, 1.0], [0.0, -1.0, 0.0], [0.0] * 3, [0.0] * 3), "a >= 0"),
    (([0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]), "-infinity"),
    (([float("nan")], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]), "finite"),
])
def test_invalid_potentials_are_refused(spec, reason):
    with pytest.raises(ValueError, match=reason):
        pot.from_pieces(*spec)


def test_unreadable_json_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{\"pieces\": [{\"a\": 0}]}")
    with pytest.raises(ValueError, match="cannot read a potential"):
        pot.load(path)


# ---------------------------------------------------------------------------------------------
# solves of a potential (docs/theory.md#potentials)

ALPHA, K = 8.0, 0.5


def _gardner_moment(kappa):
    """``D = E(z − κ)_+²``."""
    return (1 + kappa**2) * ndtr(-kappa) - kappa * np.exp(-kappa**2 / 2) / np.sqrt(2 * np.pi)


@pytest.mark.parametrize("alpha, kappa", [(8.0, 0.5), (3.0, 0.0), (16.0, 1.0), (1.5, -0.5)])
def test_quadratic_hinge_rs_energy_in_closed_form(alpha, kappa):
    d = _gardner_moment(kappa)
    res = jaxcap.energy(alpha, 0, kappa=kappa, potential="quadratic")
    assert alpha * d > 1
    np.testing.assert_allclose(res.energy, (np.sqrt(alpha * d) - 1) ** 2 / 2, rtol=1e-12)
    np.testing.assert_allclose(res.params.chi, 1 / (np.sqrt(alpha * d) - 1), rtol=1e-9)   # the stationary chi


def test_linear_hinge_rs_outer_mean_against_quadrature():
    from scipy.integrate import quad
    for chi in (0.3, 1.0, 4.0):
        p = pot.linear(K)
        leaf = lambda z: float(pot.leaf(jnp.asarray(z), chi, p))  # noqa: E731
        phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        direct = sum(quad(lambda z: leaf(z) * phi(z), a, b, epsabs=1e-14, epsrel=1e-13)[0]
                     for a, b in ((-np.inf, K), (K, K + chi), (K + chi, np.inf)))
        np.testing.assert_allclose(float(pot.rs_outer_mean(chi, p)), direct, rtol=1e-11)


def test_count_through_the_generic_path_matches_its_closed_forms():
    """The count given as pieces (the generic leaf, log-space grid) against the count's own programs."""
    custom = pot.from_pieces([0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0], name="custom count")
    for level in (0, 1):
        ours = jaxcap.energy(ALPHA, level, kappa=K, potential=custom)
        count = jaxcap.energy(ALPHA, level, kappa=K)
        np.testing.assert_allclose(ours.energy, count.energy, rtol=1e-10)
    th = jaxcap.threshold(1, kappa=K, potential=custom)
    np.testing.assert_allclose(th.alpha, jaxcap.threshold(1, kappa=K).alpha, rtol=1e-10)


def test_json_potential_gives_the_builtins_numbers(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps(dict(pot.quadratic(0.0).as_dict(), name="my hinge")))
    ours = jaxcap.energy(ALPHA, 1, kappa=K, potential=str(path))
    builtin = jaxcap.energy(ALPHA, 1, kappa=K, potential="quadratic")
    np.testing.assert_allclose(ours.energy, builtin.energy, rtol=1e-13)
    assert jaxcap.to_json(ours)["potential"]["name"] == "my hinge"


@pytest.mark.parametrize("name, levels", [("linear", 2), ("quadratic", 3)])
def test_levels_grow_and_the_engines_agree(name, levels):
    e = [jaxcap.energy(ALPHA, r, kappa=K, potential=name) for r in range(levels)]
    assert all(a.energy < b.energy for a, b in zip(e, e[1:]))     # each level at least the one below
    for res in e[1:]:
        assert res.diagnostics.grad_norm < 1e-8 and res.diagnostics.hessian_max_eig < 0
    tensor = jaxcap.energy(ALPHA, 1, kappa=K, potential=name, engine="tensor")
    np.testing.assert_allclose(tensor.energy, e[1].energy, rtol=1e-12)
    np.testing.assert_allclose(e[1].denergy_dalpha, tensor.denergy_dalpha, rtol=1e-9)


def test_grid_and_tensor_agree_at_level_2():
    grid = jaxcap.energy(ALPHA, 2, kappa=K, potential="quadratic")
    tensor = jaxcap.energy(ALPHA, 2, kappa=K, potential="quadratic", engine="tensor", nodes=96,
                           start=grid)
    np.testing.assert_allclose(tensor.energy, grid.energy, rtol=1e-10)


def test_energy_derivatives_are_the_envelope_theorems():
    res = jaxcap.energy(ALPHA, 1, kappa=K, potential="linear")
    h = 1e-4
    up, down = (jaxcap.energy(ALPHA + s, 1, kappa=K, potential="linear", start=res).energy for s in (h, -h))
    np.testing.assert_allclose(res.denergy_dalpha, (up - down) / (2 * h), rtol=1e-6)
    up, down = (jaxcap.energy(ALPHA, 1, kappa=K + s, potential="linear", start=res).energy for s in (h, -h))
    np.testing.assert_allclose(res.denergy_dkappa, (up - down) / (2 * h), rtol=1e-6)


def test_level_set_epsilon():
    """``threshold(epsilon=ε)``: the α where e_r reaches ε, checked by the energy there."""
    for level in (0, 1):
        th = jaxcap.threshold(level, kappa=K, potential="quadratic", epsilon=0.05)
        np.testing.assert_allclose(th.energy, 0.05, rtol=1e-12)
        e = jaxcap.energy(th.alpha, level, kappa=K, potential="quadratic")
        np.testing.assert_allclose(e.energy, 0.05, rtol=1e-9)
    count = jaxcap.threshold(1, epsilon=1.0)
    assert count.alpha == jaxcap.threshold(1).alpha          # epsilon = 1 is the threshold itself


@pytest.mark.parametrize("name", ["count", "quadratic",
                                  pytest.param("linear", marks=pytest.mark.examples)])   # chi ~ 1/delta: long
def test_zero_energy_line_is_universal(name):
    """Every potential vanishing exactly on u <= κ has the count's jamming line: its level-1 energy
    above the line, fitted by ``C (α − α₀)^p``, vanishes at α₀ = α_sat,1(κ) of the hinge leaf."""
    line = jaxcap.sat(K, 1).alpha
    deltas = np.array([0.0025, 0.005, 0.01])
    alphas = line * (1 + deltas)
    e = np.array([jaxcap.energy(a, 1, kappa=K, potential=name).energy for a in alphas])
    assert np.all(e > 0)
    # three points fix C, p and α₀: with equal ratios of the steps, α₀ solves one equation
    from scipy.optimize import brentq
    ratio = lambda a0: (np.log(e[2] / e[1]) / np.log((alphas[2] - a0) / (alphas[1] - a0))  # noqa: E731
                        - np.log(e[1] / e[0]) / np.log((alphas[1] - a0) / (alphas[0] - a0)))
    a0 = brentq(ratio, line * 0.95, alphas[0] * (1 - 1e-9))
    # (level 0's line, 4.770 at kappa = 0.5, is 1.5 % away)
    np.testing.assert_allclose(a0, line, rtol=2e-4)
    with pytest.raises(jaxcap.ConvergenceError, match="zero-energy boundary"):
        jaxcap.energy(line * 0.995, 1, kappa=K, potential=name)


def test_a_shifted_potential_is_the_shift_in_kappa():
    """``V(u − κ)``: the hinge from u = 0.5 on at κ = 0 is the quadratic hinge at κ = 0.5 (and, its zero set
    being (−∞, 0.5], not taken for a potential with the count's line at κ = 0)."""
    shifted = pot.from_pieces([0.5], [0.0, 0.5], [0.0, -0.5], [0.0, 0.125], name="shifted hinge")
    assert not shifted.vanishes_exactly_below_zero()
    for level in (0, 1):
        ours = jaxcap.energy(ALPHA, level, kappa=0.0, potential=shifted)
        hinge = jaxcap.energy(ALPHA, level, kappa=0.5, potential="quadratic")
        np.testing.assert_allclose(ours.energy, hinge.energy, rtol=1e-10)


def test_bad_potentials_and_levels_are_refused():
    with pytest.raises(ValueError, match="unknown potential"):
        jaxcap.energy(ALPHA, 1, potential="cubic")
    with pytest.raises(TypeError, match="potential must be"):
        jaxcap.energy(ALPHA, 1, potential=3)
    with pytest.raises(ValueError, match="epsilon"):
        jaxcap.threshold(1, potential="quadratic", epsilon=0.0)


def _sphere_ground_state(w, kappa, starts, rng):
    """``min_{|x| = 1} Σ_i (w_i·x − κ)_+²/2 / n`` by L-BFGS on ``x = y/|y|`` from ``starts`` random starts."""
    from scipy.optimize import minimize

    def f(y):
        r = np.linalg.norm(y)
        x = y / r
        p = np.maximum(w @ x - kappa, 0.0)
        g = w.T @ p
        return 0.5 * p @ p, (g - x * (x @ g)) / r

    best = min(minimize(f, rng.standard_normal(w.shape[1]), jac=True, method="L-BFGS-B").fun for _ in range(starts))
    return best / w.shape[1]


def test_finite_n_ground_states_grow_with_alpha():
    """Many-start minimisation on the sphere at n = 12: the quadratic hinge's ground-state energy grows
    with α, as e_1 does."""
    rng = np.random.default_rng(0)
    n, samples = 12, 8
    means, errors = [], []
    for alpha in (6.0, 10.0):
        e = [_sphere_ground_state(rng.standard_normal((int(alpha * n), n)), K, 8, rng) for _ in range(samples)]
        means.append(np.mean(e))
        errors.append(np.std(e) / np.sqrt(samples))
    assert means[1] - means[0] > 4 * np.hypot(*errors)
    predicted = [jaxcap.energy(a, 1, kappa=K, potential="quadratic").energy for a in (6.0, 10.0)]
    assert predicted[0] < predicted[1]
