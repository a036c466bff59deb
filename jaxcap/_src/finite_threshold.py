"""The finite-size injectivity threshold: the median of the exact per-matrix thresholds (``docs/theory.md#finite-size``).

Draw the rows ``w_1, w_2, …`` of a Gaussian layer one after another.  With ``W_m`` the first ``m``
rows, ``min_active(W_m)`` (:func:`jaxcap._src.finite.min_active`, exact) never decreases as rows are
added (every count ``#{i ≤ m : w_i·x > 0}`` can only grow), so each sequence has a threshold

    m*(W) = min { m : min_active(W_m) ≥ n },

the first ``m`` at which the layer is injective (general position holds a.s.), and
``P(injective at m) = P(m* ≤ m)``.  The finite-size estimate ``α_½(n)``, where
``P(injective) = ½``, is the median of ``m*/n``; its confidence interval is the distribution-free
one of order statistics (ranks from the binomial ``B(T, ½)``, exact coverage reported).
``m* ≥ 2n``: for ``m < 2n`` some ``x`` has ``N(x) + N(−x) ≤ m < 2n``, so the search starts there.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import guards
from .finite import check_finite_size, min_active, trial_rng

__all__ = ["injective_rows", "median_interval", "finite_threshold"]

_GROWTH = 1.5  # the search brackets m* by m ← ceil(1.5 m) from 2n, then bisects


def injective_rows(rng: np.random.Generator, n: int, method: str = "auto") -> int:
    """``m*``: the fewest Gaussian rows (drawn in order from ``rng``) that make ``x → ReLU(Wx)`` injective.

    Brackets ``m*`` by growing ``m`` geometrically from ``2n`` (each step draws the new rows),
    then bisects; ``min_active`` is monotone in ``m``.  Raises ``ValueError`` when ``m*`` would
    exceed :data:`jaxcap._src.guards.MAX_FINITE_ROWS`.
    """
    rows = np.empty((0, n))

    def injective(m):
        nonlocal rows
        if m > rows.shape[0]:
            rows = np.vstack([rows, rng.standard_normal((m - rows.shape[0], n))])
        return min_active(rows[:m], method=method).value >= n

    lo, hi = 2 * n - 1, 2 * n            # lo: not injective (m < 2n); hi: the candidate
    while not injective(hi):
        lo, hi = hi, math.ceil(_GROWTH * hi)
        guards.MAX_FINITE_ROWS.check(hi, f"m = {hi} rows (no injective layer below it at n = {n})")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if injective(mid) else (mid, hi)
    return hi


def median_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """The distribution-free interval ``[x_(j), x_(T+1−j)]`` for the median and its exact coverage
    ``1 − 2 P(B ≤ j − 1)``, ``B ~ Binomial(T, ½)``: the largest ``j`` with coverage ``≥ confidence``
    (``j = 1``, the whole range, when ``T`` is too small for it)."""
    from scipy.stats import binom
    x = np.sort(np.asarray(values, dtype=float))
    t = len(x)
    j = 1
    while j + 1 <= (t + 1) // 2 and 1.0 - 2.0 * binom.cdf(j, t, 0.5) >= confidence:
        j += 1
    return float(x[j - 1]), float(x[t - j]), float(1.0 - 2.0 * binom.cdf(j - 1, t, 0.5))


def finite_threshold(n: int, trials: int, seed: int = 0, method: str = "auto", progress=None) -> dict:
    """``α_½(n)``: the median of ``m*/n`` over ``trials`` Gaussian row sequences, exactly per sequence.

    Trial ``t`` draws its rows from :func:`jaxcap._src.finite.trial_rng` ``(seed, 0, t)``.  Returns
    ``alpha`` (the sample median), ``ci`` and ``coverage`` (:func:`median_interval`),
    ``alphas`` (every ``m*/n``), ``n``, ``trials``, ``seed``, ``method``, ``seconds``.
    ``progress(done, total)`` after each trial.  ``ValueError`` for ``n``, ``trials`` or
    ``method`` out of range (:func:`jaxcap.check_finite_size`).
    """
    check_finite_size(n, trials, method)
    t0 = time.perf_counter()
    alphas = []
    for t in range(trials):
        alphas.append(injective_rows(trial_rng(seed, 0, t), n, method) / n)
        if progress:
            progress(t + 1, trials)
    lo, hi, coverage = median_interval(alphas)
    return {"n": int(n), "trials": int(trials), "seed": int(seed), "method": method,
            "alpha": float(np.median(alphas)), "ci": [lo, hi], "coverage": coverage, "alphas": alphas,
            "seconds": time.perf_counter() - t0}
