"""The expected Euler characteristic of the non-injectivity set (``jaxcap._src.euler``, docs/theory.md#euler):
exact values against an independent generating-function form, closed forms and identities, a Monte
Carlo of random arrangements whose faces are enumerated from their sign vectors, the limit rate
against the exact finite-size values, and the threshold against the finite-size crossings."""
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

import jaxcap
from jaxcap._src import euler as E
from jaxcap.references import EULER_ALPHA, RS_ALPHA


# ---------------------------------------------------------------------------------------------
# independent references

def euler_by_generating_function(n: int, m: int) -> Fraction:
    """``E χ = (−1)^{n−1} 2^{1−m} [u^{n−1}] Σ_{k ≤ n−1} C(m, k) (1+u)^k (1−u)^{m−k} / (1 − u²)``
    (docs/theory.md#euler), by polynomial arithmetic: a form with no face sum and no partial-sum recurrence."""
    series = [0] * n
    for k in range(min(n - 1, m) + 1):
        a = [math.comb(k, i) for i in range(min(k, n - 1) + 1)]
        b = [math.comb(m - k, i) * (-1) ** i for i in range(min(m - k, n - 1) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                if i + j < n:
                    series[i + j] += math.comb(m, k) * x * y
    coefficient = sum(series[i] for i in range(n - 1, -1, -2))        # times 1/(1 − u²) = Σ u^{2t}
    return (-1) ** (n - 1) * Fraction(2 * coefficient, 2 ** m)


def euler_by_face_sum(n: int, m: int) -> Fraction:
    """The face sum term by term from binomials (no recurrences), for ``m ≥ n``."""
    total = Fraction(0)
    for j in range(n):
        regions = 2 * sum(math.comb(m - j - 1, k) for k in range(n - j))     # Cover–Wendel C(m−j, n−j)
        signs = sum(math.comb(m - j, p) for p in range(n))
        total += (-1) ** (n - 1 - j) * math.comb(m, j) * Fraction(regions * signs, 2 ** (m - j))
    return total


def test_exact_values_agree_with_the_generating_function_form():
    for n in range(1, 8):
        for m in range(0, 26):
            assert E.euler_characteristic(n, m) == euler_by_generating_function(n, m), (n, m)


@pytest.mark.parametrize("n,m", [(7, 7), (9, 40), (30, 31), (30, 250), (61, 500), (100, 834)])
def test_the_partial_sum_recurrences_agree_with_the_face_sum_term_by_term(n, m):
    assert E.euler_characteristic(n, m) == euler_by_face_sum(n, m)


def test_identities_and_closed_forms():
    for n in range(1, 12):
        for m in range(n):                                    # m ≤ n − 1: K is the whole sphere
            assert E.euler_characteristic(n, m) == 1 + (-1) ** (n - 1)
        assert E.euler_characteristic(n, n) == 1              # n hyperplanes: every face but the all-plus region
    for m in range(1, 30):                                    # n = 1: K = {±1} ∩ {all rows of one sign}
        assert E.euler_characteristic(1, m) == Fraction(2, 2 ** m)
    for m in range(2, 30):                                    # n = 2: 4m²/2^m points − 2m(m+1)/2^m arcs
        assert E.euler_characteristic(2, m) == Fraction(m * (m - 1), 2 ** (m - 1))
    assert E.euler_characteristic(3, 6) == Fraction(13, 8) and E.euler_characteristic(3, 4) == Fraction(5, 8)
    value = jaxcap.euler_characteristic(np.int64(4), 9)
    assert isinstance(value, Fraction) and value == Fraction(21, 32)


def test_the_sum_cancels_massively_and_stays_exact():
    value = E.euler_characteristic(400, 3336)
    assert value.denominator & (value.denominator - 1) == 0                # a power of two
    assert -10 < E.euler_log_abs(value) < -8                               # about e^−9; its terms reach e^524
    assert E.euler_characteristic(400, 3336) == value


@pytest.mark.parametrize("n,m,error", [(2.5, 3, TypeError), (3, 4.0, TypeError), (True, 3, TypeError),
                                       ("3", 5, TypeError), (0, 3, ValueError), (3, -1, ValueError)])
def test_bad_arguments_are_refused(n, m, error):
    with pytest.raises(error):
        E.euler_characteristic(n, m)


def test_sizes_beyond_the_limits_are_refused_up_front(monkeypatch):
    monkeypatch.setenv("JAXCAP_MAX_EULER_ROWS", "50")
    with pytest.raises(ValueError, match="JAXCAP_MAX_EULER_ROWS"):
        E.euler_characteristic(5, 51)
    assert E.euler_characteristic(5, 50) == euler_by_face_sum(5, 50)
    assert E.euler_characteristic(10 ** 9 + 1, 7) == 2                        # m < n: the sphere, no sum


def test_progress_reaches_the_end():
    seen = []
    E.euler_characteristic(50, 400, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (50, 50) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))


# ---------------------------------------------------------------------------------------------
# Monte Carlo: the faces of random arrangements, enumerated from their sign vectors

def faces(W):
    """The faces of the arrangements of ``W`` (``T × m × n``), as sign vectors in ``{−1, 0, 1}^m``, and the
    trial of each.  The vertices are ``±`` the null vectors of every ``n − 1`` rows; every face of an
    essential arrangement in general position has a vertex in its closure, and near a vertex all
    ``3^{n−1}`` sign patterns of its zero rows occur: the faces are the vertex sign vectors with their
    zeros replaced in every way, once each."""
    T, m, n = W.shape
    combos = list(itertools.combinations(range(m), n - 1))
    subsets = np.array(combos, dtype=np.intp).reshape(len(combos), n - 1)
    k = len(subsets)
    if n == 1:
        x = np.ones((T, k, 1))
    else:
        x = np.linalg.svd(W[:, subsets, :].reshape(T * k, n - 1, n))[2][:, -1, :].reshape(T, k, n)
    values = np.einsum("tkn,tmn->tkm", x, W)
    zero = np.zeros((k, m), bool)
    zero[np.arange(k)[:, None], subsets] = True
    assert np.all(np.abs(values[:, zero]) < 1e-9) and np.abs(values[:, ~zero]).min() > 1e-12   # general position
    S = np.where(zero, 0, np.sign(values)).astype(np.int8)
    S, Z = np.concatenate([S, -S], axis=1), np.concatenate([subsets, subsets])
    patterns = list(itertools.product((-1, 0, 1), repeat=n - 1))
    pats = np.array(patterns, np.int8).reshape(len(patterns), n - 1)
    F = np.repeat(S[:, :, None, :], len(pats), axis=2)
    F[:, np.arange(2 * k)[:, None, None], np.arange(len(pats))[None, :, None], Z[:, None, :]] = pats[None, None]
    F = F.reshape(T, -1, m)
    codes = (F.astype(np.int64) + 1) @ (3 ** np.arange(m, dtype=np.int64)) + np.arange(T)[:, None] * 3 ** m
    _, first = np.unique(codes.ravel(), return_index=True)
    return F.reshape(-1, m)[first], first // F.shape[1]


def euler_characteristics(W):
    """``χ(K)`` of each arrangement, ``χ`` of the whole sphere, and the number of regions."""
    T, m, n = W.shape
    F, trial = faces(W)
    sign = (-1) ** (n - 1 - (F == 0).sum(axis=1))
    in_K = (F == 1).sum(axis=1) <= n - 1
    count = lambda w: np.bincount(trial, w, T).round().astype(int)
    return count(sign * in_K), count(sign), count((F != 0).all(axis=1))


@pytest.mark.parametrize("n,m,trials", [(1, 3, 2000), (2, 5, 3000), (3, 7, 2000), (4, 8, 700)])
def test_monte_carlo_of_random_arrangements_agrees(n, m, trials):
    rng = np.random.default_rng(2024 + 10 * n + m)
    chi, sphere, regions = euler_characteristics(rng.standard_normal((trials, m, n)))
    cover = 2 * sum(math.comb(m - 1, k) for k in range(n))
    assert np.all(sphere == 1 + (-1) ** (n - 1)) and np.all(regions == cover)     # the enumeration is complete
    exact = float(E.euler_characteristic(n, m))
    err = chi.std(ddof=1) / math.sqrt(trials)
    assert 0 < err < 0.1
    assert abs(chi.mean() - exact) < 4 * err, (chi.mean(), err, exact)


def test_monte_carlo_where_chi_is_random_at_n_3():
    """At (3, 6) χ(K) varies from one W to the next; its mean is 13/8, not the sphere's 2 nor the n = m value 1."""
    rng = np.random.default_rng(7)
    chi, _, _ = euler_characteristics(rng.standard_normal((2500, 6, 3)))
    err = chi.std(ddof=1) / math.sqrt(len(chi))
    assert len(set(chi)) > 1 and abs(chi.mean() - 13 / 8) < 4 * err and abs(chi.mean() - 2) > 6 * err


# ---------------------------------------------------------------------------------------------
# the limit rate and the threshold

@pytest.mark.parametrize("alpha", [7.5, 8.34, 10.0])
def test_the_saddle_point_matches_the_exact_values_to_order_one_over_n(alpha):
    errors = []
    for n in (100, 200, 400):
        m = round(alpha * n)
        value = E.euler_characteristic(n, m)
        assert value > 0
        errors.append(abs(E.euler_log_abs(value) - E.leading_log(n, m)))
    assert errors[0] < 0.3 and errors[1] < 0.6 * errors[0] and errors[2] < 0.6 * errors[1], errors
    assert abs(E.euler_finite_rate(400, round(alpha * 400)) - E.euler_rate(alpha)) < 2 * math.log(400) / 400


def test_below_the_coalescence_the_rate_is_a_limsup_of_oscillating_values():
    alpha, n = 5.0, 400
    values = [E.euler_characteristic(n, m) for m in range(round(alpha * n) - 8, round(alpha * n) + 9)]
    assert any(v > 0 for v in values) and any(v < 0 for v in values)            # oscillates in sign
    best = max(E.euler_log_abs(v) for v in values) / n
    assert 0 < E.euler_rate(alpha) - best < 2 * math.log(n) / n


def test_the_rate_decreases_and_has_one_root():
    alphas = np.linspace(2.0, 14.0, 200)
    rates = np.array([E.euler_rate(a) for a in alphas])
    upper = alphas >= E.COALESCENCE_ALPHA
    assert np.all(np.diff(rates[upper]) < 0)
    assert np.sum(np.diff(np.sign(rates)) != 0) == 1
    with pytest.raises(ValueError):
        E.euler_rate(1.5)


def test_the_threshold_is_the_root_of_the_rate():
    res = jaxcap.euler_threshold()
    assert isinstance(res, E.EulerThreshold) and res.alpha == res["alpha"]
    assert 0 < res.alpha_err < 1e-12
    assert abs(E.euler_rate(res.alpha)) < 1e-13
    assert E.euler_rate(res.alpha - 1e-9) > 0 > E.euler_rate(res.alpha + 1e-9)
    assert float(res["alpha_digits"]) == pytest.approx(res.alpha, abs=1e-15)
    assert res.alpha == pytest.approx(EULER_ALPHA, abs=0.01)                     # "about 8.34" (MBBDN)
    assert res.alpha > RS_ALPHA                                                  # above the rigorous bound
    assert res["slope"] == pytest.approx((E.euler_rate(res.alpha + 1e-5) - E.euler_rate(res.alpha - 1e-5)) / 2e-5,
                                         rel=1e-6)
    assert jaxcap.to_json(res)["alpha"] == res.alpha


def test_the_finite_size_crossings_converge_to_the_threshold():
    res = E.euler_threshold(sizes=(50, 100, 200, 400))
    gaps = [c["gap"] for c in res["crossings"]]
    assert all(g < 0 for g in gaps) and all(abs(b) < 0.6 * abs(a) for a, b in zip(gaps, gaps[1:]))
    for c in res["crossings"]:                    # the saddle-point prediction is good to O(1/n²)
        assert abs(c["alpha_n"] - c["predicted"]) * c["n"] ** 2 < 12, c
        n, m = c["n"], math.floor(c["alpha_n"] * c["n"])
        assert abs(E.euler_characteristic(n, m)) >= 1 > abs(E.euler_characteristic(n, m + 1))


@pytest.mark.parametrize("n", [20, 31, 45])
def test_the_crossing_is_the_last_one_of_a_full_scan(n):
    last = max(m for m in range(n, 14 * n) if abs(E.euler_characteristic(n, m)) >= 1)
    assert math.floor(E.finite_crossing(n) * n) == last
    with pytest.raises(ValueError):
        E.finite_crossing(10)
