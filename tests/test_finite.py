"""Tests of jaxcap._src.finite: exact min_active (two independent methods), the
injectivity criterion, the plain-RDT (Gordon) Monte Carlo of level 0, and
the finite-size experiment."""
import itertools
import math

import numpy as np
import pytest

from jaxcap._src import finite as F


def relu(v):
    return np.maximum(v, 0.0)


def gaussian(n, m, seed):
    return np.random.default_rng(seed).standard_normal((m, n))


# ---------------------------------------------------------------- min_active

CASES = [(1, 3, 0), (2, 4, 1), (2, 9, 2), (3, 6, 3), (3, 12, 4), (3, 24, 5),
         (4, 8, 6), (4, 16, 7), (4, 28, 8), (4, 40, 9), (5, 20, 10), (5, 35, 11)]


@pytest.mark.parametrize("n,m,seed", CASES)
def test_enumeration_and_milp_agree_with_certificates(n, m, seed):
    W = gaussian(n, m, seed)
    e = F.min_active_enumerate(W)
    p = F.min_active_milp(W)
    assert e.value == p.value
    for r in (e, p):
        assert r.lower_bound == r.value
        assert r.x.dtype == np.float64 and r.x.shape == (n,)
        assert abs(np.linalg.norm(r.x) - 1) < 1e-12
        # re-verify the certificate independently of the module's recount
        assert int(np.sum(W @ r.x > 1e-9 * np.linalg.norm(W, axis=1))) == r.value
        # Gaussian W is in general position: the polished certificate is a
        # generic point, every row clearly on one side of its hyperplane
        assert r.n_zero == 0 and r.margin > 1e-8
        assert int(np.sum(W @ r.x > 0)) == r.value
    assert {e.method, p.method} == {"enumerate", "milp"}


@pytest.mark.parametrize("n,m,seed", [(2, 8, 20), (3, 15, 21), (4, 20, 22)])
def test_no_sampled_direction_beats_the_minimum(n, m, seed):
    """The lower-bound side, checked without either exact method: many random
    unit directions never give fewer active rows than min_active."""
    W = gaussian(n, m, seed)
    v = F.min_active(W).value
    X = np.random.default_rng(seed + 100).standard_normal((200_000, n))
    counts = (X @ W.T > 0).sum(1)
    assert counts.min() >= v


def test_auto_method_and_value_bounds():
    W = gaussian(3, 12, 30)
    r = F.min_active(W)
    assert r.method == "enumerate"
    assert 0 <= r.value <= 12 // 2  # N(x) + N(-x) = m for generic x
    assert F.min_active(W, method="milp").value == r.value
    with pytest.raises(ValueError):
        F.min_active(W, method="nope")


def test_kappa_nonzero_is_rejected():
    W = gaussian(2, 6, 31)
    with pytest.raises(ValueError, match="kappa"):
        F.min_active(W, kappa=0.5)
    with pytest.raises(ValueError):
        F.min_active(W, kappa=-0.1)
    assert F.min_active(W, kappa=0.0).value == F.min_active(W).value


def test_rank_deficient_and_zero_rows():
    W = gaussian(4, 3, 32)  # m < n: a null vector has no active row
    for method in ("enumerate", "milp"):
        r = F.min_active(W, method=method)
        assert r.value == 0 and np.all(W @ r.x <= 1e-12)
    W = gaussian(3, 10, 33)
    W[:, 2] = W[:, 0] - W[:, 1]  # rank 2 < n
    assert F.min_active_enumerate(W).value == 0
    assert F.min_active_milp(W).value == 0
    W = gaussian(3, 12, 34)
    Wz = np.vstack([W, np.zeros((3, 3))])  # zero rows are never active
    assert F.min_active_enumerate(Wz).value == F.min_active_enumerate(W).value
    assert F.min_active_milp(Wz).value == F.min_active_enumerate(W).value


def test_bad_W_is_rejected():
    for bad in (np.zeros(3), np.zeros((0, 2)), np.array([[np.nan, 1.0]])):
        with pytest.raises(ValueError):
            F.min_active(bad)


def test_count_active_strict_inequality():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert F.count_active(W, [0.0, 1.0]) == 1  # rows 0 and 2 are zero: inactive
    assert F.count_active(W, [1e-12, 1.0]) == 1  # within the 1e-9 tolerance
    assert F.count_active(W, [1e-6, 1.0]) == 2


# ------------------------------------------------------------- injectivity

@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_plus_minus_identity_is_injective(n):
    W = np.vstack([np.eye(n), -np.eye(n)])
    # x = x_+ - x_- is recovered from ReLU(Wx) = (x_+, x_-)
    x = np.random.default_rng(n).standard_normal(n)
    y = relu(W @ x)
    assert np.allclose(y[:n] - y[n:], x)
    assert F.is_injective(W) is True
    assert F.is_injective(W, method="dss") is True
    # not in general position: the strict count drops to 1 at x = e_1 ...
    assert F.min_active_enumerate(W).value == 1
    assert F.min_active_milp(W).value == 1
    # ... so the general-position shortcut would (wrongly) say no for n > 1
    assert F.is_injective(W, method="count") is (n == 1)


def test_rows_in_a_half_space_are_not_injective():
    W = gaussian(3, 30, 40)
    W[:, 0] = np.abs(W[:, 0]) + 0.1  # every row has w . e_1 > 0
    assert F.min_active(W).value == 0  # x = -e_1 switches every row off
    for method in ("auto", "dss", "count"):
        assert F.is_injective(W, method=method) is False
    p, q = F._dss_witness(W)
    assert np.linalg.norm(p - q) > 1e-3
    assert np.allclose(relu(W @ p), relu(W @ q), atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_fewer_than_2n_rows_are_never_injective(n):
    for seed in range(3):
        W = gaussian(n, 2 * n - 1, 50 + seed)
        assert F.min_active(W).value <= n - 1  # N(x) + N(-x) = m <= 2n - 1
        assert F.is_injective(W) is False
        assert F.is_injective(W, method="dss") is False
        assert F.is_injective(W, method="count") is False
    # even rows +-e_i minus one row
    W = np.vstack([np.eye(n), -np.eye(n)])[1:]
    assert F.is_injective(W, method="dss") is False


def test_repeated_rows_count_criterion_is_not_enough():
    """Degenerate W with N(x) >= n everywhere that is still not injective."""
    e = np.eye(3)
    a, b = np.array([1.0, 0, 1]), np.array([1.0, 0, -1])
    W = np.vstack([e[0]] * 3 + [-e[0]] * 3 + [e[1]] * 3 + [-e[1]] * 3 + [a] * 3 + [b] * 3)
    assert F.min_active_enumerate(W).value == 3
    assert F.min_active_milp(W).value == 3
    assert F.is_injective(W, method="count") is True
    assert F.is_injective(W) is False
    p, q = F._dss_witness(W)
    assert np.linalg.norm(p - q) > 1e-3
    assert np.array_equal(relu(W @ p), relu(W @ q))


def test_dss_criterion_agrees_with_count_for_gaussian_W():
    """General position: rank criterion <=> min_active >= n (both outcomes occur)."""
    seen = set()
    for n, m in [(2, 4), (2, 6), (2, 10), (3, 6), (3, 9), (3, 12), (3, 18), (3, 24)]:
        for seed in range(3):
            W = gaussian(n, m, 1000 * n + 10 * m + seed)
            dss = F.is_injective(W, method="dss")
            assert dss == (F.min_active(W).value >= n)
            seen.add(dss)
            if not dss:
                p, q = F._dss_witness(W)
                assert np.linalg.norm(p - q) > 1e-6
                assert np.allclose(relu(W @ p), relu(W @ q), atol=1e-9 * np.linalg.norm(p))
    assert seen == {True, False}


# ------------------------------------------------ level 0: Gordon's problem

def test_gordon_min_matches_brute_force():
    rng = np.random.default_rng(60)
    for _ in range(200):
        m = int(rng.integers(1, 9))
        kappa = float(rng.choice([0.0, -0.5, 0.7]))
        g = rng.standard_normal(m)
        budget = float(rng.exponential(1.0))
        best = m
        # z_i in {g_i, kappa}: deactivating a set D of g_i > kappa costs sum (g_i - kappa)^2
        for D in itertools.product([False, True], repeat=m):
            D = np.array(D)
            if np.any(D & (g <= kappa)):
                continue
            if np.sum((g[D] - kappa) ** 2) <= budget:
                best = min(best, int(np.sum(g > kappa) - D.sum()))
        assert F.gordon_min(g, budget, kappa) == best


@pytest.mark.parametrize("alpha,kappa", [(7.647695, 0.0), (5.0, 0.0), (3.0, 0.0), (3.0, -0.5), (12.0, 0.5)])
def test_gordon_limit_energy_closed_form_matches_level0_functional(alpha, kappa):
    """The n -> infinity limit of the sorting problem = max_chi E_0(alpha; chi)."""
    import jaxcap
    assert F.gordon_limit_energy(alpha, kappa) == pytest.approx(jaxcap.energy(alpha, 0, kappa=kappa).energy, abs=1e-8)


def test_gordon_limit_energy_known_values():
    assert F.gordon_limit_energy(7.647695) == pytest.approx(1.0, abs=1e-6)  # RS threshold, docs/references.md
    assert F.gordon_limit_energy(2.0) == 0.0 and F.gordon_limit_energy(1.5) == 0.0    # alpha <= 2: all fields negative
    assert F.gordon_limit_energy(2.2) > 0
    # kappa < 0: zero energy up to Gardner's capacity 1 / E (z - kappa)_+^2
    k = -0.5
    from scipy.integrate import quad
    ac = 1.0 / quad(lambda z: (z - k) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), k, 40)[0]
    assert F.gordon_limit_energy(ac * 0.999, k) == 0.0 and F.gordon_limit_energy(ac * 1.001, k) > 0


@pytest.mark.parametrize("alpha", [7.647695, 5.0])
def test_gordon_monte_carlo_converges_to_level0_energy(alpha):
    """n = 2000, 200 trials: |mean - e_0(m/n)| <= 4 SE + 2/n.

    e_0 from the level-0 functional (jaxcap.energy) at alpha_eff = m/n.  Bias
    allowance 2/n: the finite-n mean sits above e_0 by c/n with c measured at
    1.2-1.4 for alpha in {3, 5, 7.65} and n in {25, ..., 200} (>= 10^4 trials
    each): about 1/2 from the integer number of deactivated coordinates (the
    leftover budget below the next cost), the rest from the curvature of the
    threshold equation in the O(n^-1/2) fluctuations of |h|^2/n and of the
    empirical sums (delta method).  At n = 2000 it is 1e-3, below the 4 SE
    ~ 0.01 of 200 trials; a sampler with a wrong budget or cost is off by
    O(0.1).
    """
    import jaxcap
    n, trials = 2000, 200
    (pt,) = F.gordon_curve(alpha, [n], trials, seed=7)
    e0 = jaxcap.energy(pt.m / n, 0).energy
    assert pt.m == round(alpha * n) and pt.trials == trials
    assert abs(pt.mean - e0) <= 4 * pt.stderr + 2.0 / n, (pt.mean, e0, pt.stderr)


def test_gordon_finite_n_bias_is_order_one_over_n():
    """At n = 50 the mean exceeds e_0 by c/n with 0.5 < c < 2 (see above)."""
    n, trials = 50, 4000
    (pt,) = F.gordon_curve(5.0, [n], trials, seed=3)
    c = (pt.mean - F.gordon_limit_energy(pt.m / n)) * n
    assert 0.5 - 4 * pt.stderr * n < c < 2.0 + 4 * pt.stderr * n
    assert c > 0.5  # clearly positive: the O(1/n) bias is real, not noise


def test_gordon_curve_reproducible_and_validated():
    a = F.gordon_curve(5.0, [20, 40], 10, seed=11)
    b = F.gordon_curve(5.0, [20, 40], 10, seed=11)
    c = F.gordon_curve(5.0, [20, 40], 10, seed=12)
    assert a == b and a != c
    assert [p.n for p in a] == [20, 40] and [p.m for p in a] == [100, 200]
    with pytest.raises(ValueError):
        F.gordon_curve(5.0, [20], 1)
