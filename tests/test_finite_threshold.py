"""The exact finite-size threshold ``α_½(n)``: per-sequence thresholds ``m*`` against ``min_active``,
the ``n = 1`` closed form, and the order-statistic interval."""
import math

import numpy as np
import pytest
from scipy.stats import binom

from jaxcap._src.finite import min_active, trial_rng
from jaxcap._src.finite_threshold import finite_threshold, injective_rows, median_interval


@pytest.mark.parametrize("n,trial", [(2, 0), (3, 1), (3, 2)])
def test_the_threshold_is_the_first_injective_prefix(n, trial):
    m = injective_rows(trial_rng(5, 0, trial), n)
    W = trial_rng(5, 0, trial).standard_normal((m, n))       # the same rows, drawn at once
    assert m >= 2 * n
    assert min_active(W).value >= n and min_active(W[:m - 1]).value < n


def test_n1_matches_the_closed_form():
    """At ``n = 1`` the layer is injective once both signs occur: ``P(m* ≤ m) = 1 − 2^{1−m}``."""
    trials = 120
    out = finite_threshold(1, trials, seed=3)
    ms = np.array(out["alphas"])
    for m in (2, 3, 4):
        p = 1 - 2.0 ** (1 - m)
        assert abs(np.mean(ms <= m) - p) <= 4 * math.sqrt(p * (1 - p) / trials), m
    assert out["alpha"] == np.median(ms) and out["ci"][0] <= out["alpha"] <= out["ci"][1]


def test_median_interval_has_the_largest_rank_with_the_coverage():
    values = np.arange(40.0)[::-1]
    lo, hi, coverage = median_interval(values)
    j = int(lo) + 1                                             # x_(j) = j - 1 here
    assert hi == 40 - j and coverage == pytest.approx(1 - 2 * binom.cdf(j - 1, 40, 0.5))
    assert coverage >= 0.95 > 1 - 2 * binom.cdf(j, 40, 0.5)
    assert median_interval([1.0, 2.0, 3.0])[:2] == (1.0, 3.0)    # too few for 95%: the range, its coverage
    assert median_interval([1.0, 2.0, 3.0])[2] == pytest.approx(0.75)


def test_reproducible_and_refuses_bad_sizes():
    a, b = finite_threshold(2, 6, seed=1), finite_threshold(2, 6, seed=1)
    assert a["alphas"] == b["alphas"] and all(x >= 2 for x in a["alphas"])
    for bad in ({"n": 0, "trials": 3}, {"n": 2, "trials": 0}, {"n": 99, "trials": 3}, {"n": 2.5, "trials": 3}):
        with pytest.raises(ValueError):
            finite_threshold(**bad)
