"""The zero-energy line alpha_sat,r(kappa) (docs/theory.md#zero-energy): level 0 is Gardner's capacity,
kappa <= 0 stays replica symmetric, kappa > 0 decreases with r, the chi -> infinity reduction, engines,
curves and the verified minimum (derivatives: test_sat_jax.py)."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from jaxcap._src.functional import reduced_sphere_term, sphere_term
from jaxcap._src.grid import GridEngine, hinge_ranges
from jaxcap._src.leaf import hinge_innermost_log_mgf, innermost_log_mgf
from jaxcap._src.params import Params, to_reduced
from jaxcap._src.result import ConvergenceError
from jaxcap._src.solver import log_zero_energy_ratio
from jaxcap._src.tensor import TensorEngine
from jaxcap._src.zero_energy import gardner, sat, sat_chain, sat_curve


@pytest.fixture(scope="module")
def chain_half():
    """Levels 0-2 at kappa = 0.5 (grid engine)."""
    return list(sat_chain(2, 0.5))


@pytest.fixture(scope="module")
def chain_two():
    """Levels 0-2 at kappa = 2 (grid engine)."""
    return list(sat_chain(2, 2.0))


def _second_moment(kappa):
    return quad(lambda z: (z - kappa) ** 2 * norm.pdf(z), kappa, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize("kappa", [-3.0, -1.5, -0.5, 0.0, 0.3, 1.0, 1.5, 1.6, 2.5, 4.0, 8.0, 15.0])
def test_level0_is_gardners_capacity(kappa):
    alpha, slope = gardner(kappa)
    assert alpha == pytest.approx(1.0 / _second_moment(kappa), rel=1e-12)
    first = quad(lambda z: (z - kappa) * norm.pdf(z), kappa, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]
    assert slope == pytest.approx(2.0 * alpha**2 * first, rel=1e-11)
    res = sat(kappa)
    assert res.alpha == alpha and res.params["q"].shape == res.params["y"].shape == (0,)


def test_gardner_at_zero_is_two_and_bad_kappa_is_rejected():
    assert gardner(0.0)[0] == pytest.approx(2.0, rel=1e-15)
    with pytest.raises(ValueError):
        sat(float("nan"))
    with pytest.raises(ValueError):
        sat(0.5, level=-1)


@pytest.mark.parametrize("d", [-6.0, -0.3, 0.0, 0.4, 2.0, 7.0])
@pytest.mark.parametrize("s2,y", [(0.01, 50.0), (0.3, 1.0), (1.0, 7.0)])
def test_hinge_innermost_level_closed_form(d, s2, y):
    """log E exp(-y (d + s z)_+^2 / 2) against quadrature, and as the chi -> infinity limit of the Moreau form."""
    s = np.sqrt(s2)
    scale = y * max(d, 0.0) ** 2 / (2 * (1 + y * s2))  # keeps the integrand above underflow
    ref = quad(lambda z: np.exp(scale - y * max(d + s * z, 0.0) ** 2 / 2) * norm.pdf(z), -40, 40,
               points=[-d / s], limit=400, epsabs=0, epsrel=1e-13)[0]
    got = float(hinge_innermost_log_mgf(jnp.asarray(d), s2, y, 0.0))
    assert got == pytest.approx(np.log(ref) - scale, rel=1e-10, abs=1e-12)
    chi = 1e4  # chi f_r -> g_r: (chi/m) log E exp(m f_r) with m = y chi
    moreau = float(innermost_log_mgf(jnp.asarray(d), chi, s2, y * chi, 0.0)) / y
    assert moreau == pytest.approx(got / y, rel=1e-9, abs=1e-12)


def test_reduced_sphere_term_formula():
    q, y = np.array([0.3, 0.7, 0.95]), np.array([2.0, 5.0, 40.0])
    lam = 1.0 + np.concatenate([np.cumsum((y * np.diff(np.append(q, 1.0)))[::-1])[::-1], [0.0]])
    a = q[0] / lam[0] + np.sum(np.log(lam[:-1] / lam[1:]) / y)
    assert float(reduced_sphere_term(Params(jnp.ones(()), jnp.asarray(q), jnp.asarray(y)))) == pytest.approx(a, rel=1e-14)
    for chi in (3.0, 250.0):  # S(chi, q, chi y) = -A / (2 chi)
        s = float(sphere_term(Params(jnp.asarray(chi), jnp.asarray(q), jnp.asarray(chi * y))))
        assert s == pytest.approx(-a / (2 * chi), rel=1e-13)


@pytest.mark.parametrize("kappa", [-1.0, -0.3, 0.0])
def test_nonpositive_kappa_every_level_is_level0(kappa):
    """The returned value, and the reason: the reduced ratio never goes below Gardner's at kappa <= 0
    and tends to it as q -> 1 (levels 1 and 2, tensor engine, a grid of (q, y))."""
    alpha0 = gardner(kappa)[0]
    for res in sat_chain(2, kappa):
        assert res.alpha == alpha0
    phi = jax.jit(lambda u: log_zero_energy_ratio(u, 0.0, kappa, TensorEngine(nodes=96, leaf="hinge")))
    ratio = lambda p: float(np.exp(phi(jnp.asarray(to_reduced(p)))))
    one = np.ones(())
    for q0 in (0.2, 0.6, 0.9, 0.99):
        for y0 in (0.5, 5.0, 50.0):
            assert ratio(Params(one, np.array([q0]), np.array([y0]))) >= alpha0 * (1 - 1e-12)
            for q1, y1 in ((1 - (1 - q0) / 4, 4 * y0), (1 - (1 - q0) / 20, 1.5 * y0)):
                assert ratio(Params(one, np.array([q0, q1]), np.array([y0, y1]))) >= alpha0 * (1 - 1e-12)
    assert ratio(Params(one, np.array([1 - 1e-6]), np.array([5.0]))) == pytest.approx(alpha0, rel=1e-4)


def test_sequence_decreases_for_positive_kappa(chain_half, chain_two):
    for chain in (chain_half, chain_two):
        alphas = [r.alpha for r in chain]
        assert np.all(np.diff(alphas) < 0), alphas
        assert chain[0].alpha == gardner(chain[0].kappa)[0]


def test_verified_minimum(chain_half, chain_two):
    """Gradient ~ 0 and a negative definite Hessian of the reduced energy S - alpha_sat G in (q, y);
    independently, every small move of (q, y) raises the ratio; the reduced energy is 0 at the point."""
    for res in chain_half[1:3] + chain_two[1:]:
        d = res.diagnostics
        assert d.grad_norm <= 1e-9 and d.hessian_max_eig < 0.0, d
        assert abs(res.energy) <= 1e-12 and d.quad_error <= 1e-8 * res.alpha
        u = to_reduced(Params(np.ones(()), np.asarray(res.params["q"]), np.asarray(res.params["y"])))
        jitted = jax.jit(lambda v, k: log_zero_energy_ratio(v, 0.0, k, TensorEngine(nodes=128, leaf="hinge")))
        phi = lambda v: float(jitted(jnp.asarray(v), res.kappa))
        at = phi(u)
        assert np.exp(at) == pytest.approx(res.alpha, rel=1e-9)
        for i in range(u.size):
            for step in (-1e-3, 1e-3):
                moved = u.copy()
                moved[i] += step
                assert phi(moved) > at


def test_grid_and_tensor_engines_agree(chain_two):
    for grid, tensor in zip(chain_two[1:], list(sat_chain(2, 2.0, engine="tensor", nodes=128))[1:]):
        assert tensor.alpha == pytest.approx(grid.alpha, rel=1e-10)
        np.testing.assert_allclose(tensor.params["q"], grid.params["q"], rtol=1e-5)


def test_inner_levels_on_their_own_ranges_equal_the_full_grids(chain_half):
    """Each inner level's grid spans only where it differs from its asymptotes (jaxcap._src.grid.hinge_ranges):
    the same sums as grids over the whole range, to rounding, with far fewer points; beyond a range the
    innermost closed form equals its asymptotes; a point whose levels reach past the ranges is refused."""
    res = chain_half[2]
    q, y = np.asarray(res.params["q"]), np.asarray(res.params["y"])
    params = Params(np.ones(()), q, y)
    fitted = GridEngine.around(0.5, leaf="hinge").fitted(params)
    whole = dataclasses.replace(fitted, level_ranges=())
    assert fitted.level_ranges and fitted.check(params) is None
    ranged, full = jax.jit(lambda p: (fitted.outer_mean(p, 0.5), whole.outer_mean(p, 0.5)))(params)
    assert float(ranged) == pytest.approx(float(full), rel=1e-14, abs=0)
    assert fitted.nodes < 0.3 * whole.nodes and fitted.terms(2) < 0.8 * whole.terms(2)
    (lo, hi), = hinge_ranges(q, y)[1:]
    s2, lam = 1.0 - q[1], 1.0 + y[1] * (1.0 - q[1])
    inner = lambda d: float(hinge_innermost_log_mgf(jnp.asarray(d), s2, y[1], 0.0)) / y[1]
    assert abs(inner(lo)) < 1e-16 and abs(inner(-20.0)) < 1e-300
    for d in (hi, 1.5 * hi):
        assert inner(d) == pytest.approx(-d**2 / (2 * lam) - np.log(lam) / (2 * y[1]), rel=1e-15)
    wider = Params(np.ones(()), np.array([q[0], 0.6 * q[1] + 0.4 * q[0]]), y)
    assert "beyond its grid" in fitted.check(wider)


@pytest.mark.parametrize("level", [1, 2])
def test_reduced_functional_is_the_infinite_chi_limit(level, chain_half):
    """At finite chi (x = chi y, the threshold's Moreau leaf) S/G lies above the reduced ratio and
    tends to it as chi grows, so min S/G over finite chi tends to alpha_sat,r."""
    res = chain_half[level]
    q, y = np.asarray(res.params["q"]), np.asarray(res.params["y"])
    reduced = Params(jnp.ones(()), jnp.asarray(q), jnp.asarray(y))
    ratio = jax.jit(lambda p, leaf: sphere_term(p) / TensorEngine(nodes=128, leaf=leaf).outer_mean(p, 0.5),
                    static_argnums=1)  # the same nodes for both leaves: the quadrature errors cancel
    limit = float(ratio(reduced, "hinge"))
    assert limit == pytest.approx(res.alpha, rel=1e-10)
    gaps = []
    for chi in (0.25, 0.5, 1.0, 2.0, 8.0):
        p = Params(jnp.asarray(chi), jnp.asarray(q), jnp.asarray(chi * y))
        gaps.append(float(ratio(p, "moreau")) - limit)
    assert gaps[0] > gaps[1] > gaps[2] > 0.0 and np.all(np.diff(gaps) <= 1e-12 * limit), gaps
    assert abs(gaps[-1]) < 1e-12 * limit, gaps


def test_a_curve_in_chunks_equals_single_solves():
    """sat_curve polishes chunks of neighbouring kappa in one vmapped program (here chunks of 4, the last
    one padded): every point equals its own single solve and the line decreases in level at every kappa."""
    ks = [-0.2, 0.0] + list(np.linspace(0.5, 1.0, 7))
    curve = sat_curve(ks, 1, chunk=4)
    assert [len(rows) for rows in curve] == [2] * len(ks)
    for k, rows in zip(ks, curve):
        assert rows[0].alpha == gardner(k)[0]
        assert rows[1].alpha < rows[0].alpha if k > 0 else rows[1].alpha == rows[0].alpha
    for i in (3, 8):   # in the first chunk, and in the last (padded) one
        single = sat(ks[i], 1)
        assert curve[i][1].alpha == pytest.approx(single.alpha, rel=1e-12)
        np.testing.assert_allclose(curve[i][1].params["q"], single.params["q"], rtol=1e-7)
    with pytest.raises(ValueError):
        sat_curve(ks, 1, chunk=0)


def test_a_start_drifting_to_q_one_is_refused_by_the_budget_not_memory():
    """A level-1 point with 1 - q_0 ~ 1e-13 (where some starts polish at kappa = 4) has a fitted grid of 93
    points on its range, but level 0 is extended by its asymptotes over all of [lo, hi] at that spacing:
    3e8 points, 10 GB of constants.  The budget counts them (and the closed-form level's points), so
    the start is refused before anything is built (the solve at kappa = 4 goes on to the verified
    minimum alpha_sat,1(4) = 119731.0, docs/guide/zero-energy.md)."""
    from jaxcap._src.driver import polished
    from jaxcap._src.zero_energy import LINE, MAX_WORK
    engine = GridEngine.around(4.0, leaf="hinge")
    p = Params(np.ones(()), np.array([1.0 - 1e-13]), np.array([50.0]))
    fitted = engine.fitted(p)
    (_, points), = fitted.grids(1)
    assert points < 100 and fitted.terms(1) == fitted._full_counts(1)[0] > 10 * MAX_WORK   # range + asymptotes
    _, why = polished(LINE, to_reduced(p), p, 1, 4.0, engine)
    assert why.startswith("the grid needs") and f"{fitted.terms(1):.1e}" in why
    usual = engine.fitted(Params(np.ones(()), np.array([1e-3]), np.array([147.0])))   # the kappa = 4 minimum
    assert usual.terms(1) < MAX_WORK / 100


def test_energy_below_the_level_r_line_says_so():
    """Between alpha_sat,1(kappa) and Gardner's value the level-1 energy is positive, so a failed energy
    solve there is not explained by the zero-energy phase; below the level-1 line it is, by that line.
    (A level-1 energy solve below the line at kappa > 0 runs its grid toward q -> 1 before it fails.)"""
    from jaxcap._src.threshold import _zero_energy_phase
    line = sat(1.0, 1).alpha
    between = 0.5 * (line + gardner(1.0)[0])
    failed = ConvergenceError("no start reached a verified non-degenerate maximum", {"level": 1})
    assert _zero_energy_phase(failed, between, 1.0, 1) is failed
    err = _zero_energy_phase(failed, 0.99 * line, 1.0, 1)
    assert "level-1 zero-energy boundary" in str(err) and err.diagnostics["alpha_sat"] == line


def test_sat_cli(jaxcap_cli, tmp_path):
    run = jaxcap_cli("sat", "--kappa", "-0.5", "--json")
    assert run.code == 0, run
    assert run.json()["alpha"] == pytest.approx(0.9612050528, rel=1e-9)
    run = jaxcap_cli("sat", "--kappa", "1", "--level", "1", "--json")
    assert run.code == 0, run
    assert run.json()["alpha"] == pytest.approx(sat(1.0, 1).alpha, rel=1e-12) and "chi" not in run.json()["params"]
    png = tmp_path / "line.png"
    run = jaxcap_cli("sat", "--kappa-from", "0.9", "--kappa-to", "1", "--points", "2", "--level", "1", "--json",
                     "--plot", str(png))
    assert run.code == 0, run
    points = run.json()["points"]
    assert [len(p["alphas"]) for p in points] == [2, 2] and png.stat().st_size > 1000
    assert points[1]["alphas"][1] == pytest.approx(sat(1.0, 1).alpha, rel=1e-12)
    for argv in (("sat", "--kappa", "1", "--extrapolate"), ("sat", "--level", "1"),
                 ("sat", "--kappa", "1", "--kappa-from", "0", "--kappa-to", "1", "--points", "3")):
        run = jaxcap_cli(*argv)
        assert run.code == 2 and run.err.count("\n") == 1, run


def test_finite_n_feasibility_moves_the_right_way_with_alpha():
    """Exact finite-n check (jaxcap._src.finite.min_max_field: min over unit x of the largest field) at n = 3:
    the value is attained by its certificate and no random direction beats it; along nested rows
    (the first m = alpha n rows of one W) it never decreases, so the fraction of W with no field above
    kappa = 0.5 falls with alpha, from 1 at alpha = 1 (line: 4.6966 as n -> infinity)."""
    from jaxcap._src.finite import min_max_field
    rng = np.random.default_rng(0)
    n, kappa, alphas = 3, 0.5, (1, 2, 4, 8, 16)
    mats = rng.standard_normal((40, alphas[-1] * n, n))
    dirs = rng.standard_normal((20000, n))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    for W in mats[:4]:
        value, x = min_max_field(W[:24])
        assert np.linalg.norm(x) == pytest.approx(1.0) and (W[:24] @ x).max() == pytest.approx(value, abs=1e-12)
        searched = (dirs @ W[:24].T).max(axis=1).min()
        assert value <= searched + 1e-12 and searched - value < 0.1
    values = np.array([[min_max_field(W[:a * n])[0] for a in alphas] for W in mats])
    assert np.all(np.diff(values, axis=1) >= -1e-12)
    fractions = (values <= kappa).mean(axis=0)
    assert fractions[0] == 1.0 and np.all(np.diff(fractions) <= 0) and fractions[-1] < 0.5, fractions
