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
