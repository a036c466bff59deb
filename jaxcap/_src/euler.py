"""The integral-geometry prediction: the expected Euler characteristic of the non-injectivity set.

For ``W`` with ``m`` i.i.d. Gaussian rows ``w_i ∈ R^n`` the set of directions that witness
non-injectivity is ``K = {x ∈ S^{n−1} : #{i : w_i·x > 0} ≤ n − 1}``: the layer is injective
iff ``K`` is empty.  The heuristic of spherical integral geometry predicts injectivity where
``E χ(K) → 0`` exponentially, i.e. above the root ``α_Euler`` of the rate
``r(α) = lim (1/n) log |E χ(K)|`` at ``m = α n`` (``docs/theory.md#euler``).

* :func:`euler_characteristic` gives ``E χ(K)`` exactly, as a ``fractions.Fraction``
  (the face-counting sum of ``docs/theory.md#euler``, in exact integers: it cancels massively).
* :func:`euler_rate` gives the limit rate ``r(α)`` in closed form (the saddle point of a
  double generating function), :func:`leading_log` the saddle-point approximation of
  ``log E χ(K)`` at finite ``n`` (rate and prefactor).
* :func:`euler_threshold` solves ``r(α_Euler) = 0`` in 50-digit decimal arithmetic and, on request,
  compares it with the finite-size crossings :func:`finite_crossing`.

The exact sums cost ``n`` steps on integers of ``m`` bits; the sizes are bounded by
:data:`MAX_EULER_N` and :data:`MAX_EULER_ROWS` (``n = 1600, m = 13 344`` takes about 0.4 s,
``n = 6400, m = 53 376`` about 11 s).
"""
from __future__ import annotations

import cmath
import decimal
import math
import operator
from fractions import Fraction

from .guards import Limit
from .result import Quantities

__all__ = ["euler_characteristic", "euler_threshold", "euler_rate", "leading_log", "euler_finite_rate",
           "finite_crossing", "predicted_crossing", "euler_log_abs", "check_euler_size", "EulerThreshold",
           "MAX_EULER_N", "MAX_EULER_ROWS", "COALESCENCE_ALPHA"]

#: Input dimension ``n`` of one exact sum (``n`` steps; with ``m ≥ n`` rows).
MAX_EULER_N = Limit("JAXCAP_MAX_EULER_N", 10_000, "input dimensions")
#: Rows ``m`` of one exact sum (integers of ``m`` bits; only when ``m ≥ n``: below, ``K`` is the sphere).
MAX_EULER_ROWS = Limit("JAXCAP_MAX_EULER_ROWS", 100_000, "rows")

#: ``α = 4 + 2√2``: the two real saddle points of the rate coalesce here; below it they are complex
#: conjugate and ``E χ(K)`` oscillates in sign (``docs/theory.md#euler``).
COALESCENCE_ALPHA = 4.0 + 2.0 * math.sqrt(2.0)

#: The smallest ``α`` at which :func:`euler_rate` is offered (checked against the exact values there).
_RATE_MIN_ALPHA = 2.0
#: The smallest ``n`` of :func:`finite_crossing`: from there on the crossing lies above ``4 + 2√2``.
_CROSSING_MIN_N = 20


def _integer(value, name: str) -> int:
    """``value`` as an ``int`` (Python or NumPy integers; not ``bool``, not floats), else ``TypeError``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def check_euler_size(n, m) -> tuple[int, int]:
    """The sizes of one exact :func:`euler_characteristic`: ``(n, m)`` as integers, checked: ``n ≥ 1``,
    ``m ≥ 0`` (else ``ValueError``; non-integers ``TypeError``), and, when ``m ≥ n``, within
    :data:`MAX_EULER_N` and :data:`MAX_EULER_ROWS`."""
    n, m = _integer(n, "n"), _integer(m, "m")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if m < 0:
        raise ValueError(f"m must be >= 0, got {m}")
    if m >= n:
        MAX_EULER_N.check(n, f"the exact Euler sum at n = {n}")
        MAX_EULER_ROWS.check(m, f"the exact Euler sum at m = {m}")
    return n, m


def _partial_row(N: int, K: int) -> tuple[int, int]:
    """``(Σ_{k ≤ K} C(N, k), C(N, K))`` for ``0 ≤ K ≤ N``, by the ratio of consecutive binomials."""
    c = s = 1
    for k in range(1, K + 1):
        c = c * (N - k + 1) // k
        s += c
    return s, c


def euler_characteristic(n, m, *, progress=None) -> Fraction:
    """``E χ(K)`` for ``m`` i.i.d. Gaussian rows in ``R^n``, exactly (``docs/theory.md#euler``).

    For ``m ≤ n − 1``, ``K = S^{n−1}`` and ``E χ = 1 + (−1)^{n−1}``.  For ``m ≥ n``,

        E χ(K) = Σ_{j=0}^{n−1} (−1)^{n−1−j} C(m, j) 2^{j+1−m} A_j B_j,
        A_j = Σ_{k ≤ n−j−1} C(m−j−1, k),   B_j = Σ_{p ≤ n−1} C(m−j, p):

    ``j`` zero signs (a face of dimension ``n − 1 − j``), a region of the other ``m − j``
    hyperplanes in the ``(n − j)``-dimensional intersection (probability ``2 A_j / 2^{m−j}``,
    Wendel–Cover), and ``B_j`` sign vectors with at most ``n − 1`` plus signs.  The partial
    sums follow from one another by Pascal's rule, ``n`` steps on integers (the sum cancels:
    at ``n = 400, m = 3336`` its largest term is about ``e^524``, the sum ``e^−9``).

    ``progress(done, total)``, when given, is called as the ``n`` terms are summed.

    Raises:
        TypeError: ``n`` or ``m`` is not an integer.
        ValueError: ``n < 1``, ``m < 0``, or beyond :data:`MAX_EULER_N` / :data:`MAX_EULER_ROWS`.
    """
    n, m = check_euler_size(n, m)
    if m < n:
        return Fraction(1 + (-1) ** (n - 1))
    B, _ = _partial_row(m, n - 1)            # B_0 = S(m, n−1)
    A, b1 = _partial_row(m - 1, n - 1)       # A_0 = S(m−1, n−1); b1 = C(m−1, n−1) = C(m−j−1, n−1) at j = 0
    b2 = b1 * (m - n) // (m - 1) if m >= 2 else 0   # C(m−2, n−1) = C(m−j−2, n−j−1) at j = 0
    binom = 1                                  # C(m, j)
    total = 0
    step = max(1, n // 200)
    for j in range(n):
        term = binom * A * B << j
        total += term if (n - 1 - j) % 2 == 0 else -term
        if progress is not None and (j % step == 0 or j == n - 1):
            progress(j + 1, n)
        if j == n - 1:
            break
        B = (B + b1) >> 1                      # S(N−1, K) = (S(N, K) + C(N−1, K)) / 2
        A = (A - b2) >> 1                      # S(N−1, K−1) = (S(N, K) − C(N−1, K)) / 2
        binom = binom * (m - j) // (j + 1)
        b1 = b1 * (m - j - n) // (m - j - 1)
        b2 = b2 * (n - j - 1) // (m - j - 2) if m - j - 2 > 0 else 0
    return Fraction(total, 1 << (m - 1))


def euler_log_abs(value: Fraction) -> float:
    """``log |value|`` of an exact rational of any size, such as :func:`euler_characteristic`'s
    ``E χ(K)`` (``−inf`` for 0; ``float(value)`` may overflow where this does not)."""
    if value == 0:
        return -math.inf
    return math.log(abs(value.numerator)) - math.log(value.denominator)


def euler_finite_rate(n, m) -> float:
    """The finite-size rate ``(1/n) log |E χ(K)|`` at ``(n, m)`` (``−inf`` where ``E χ = 0``)."""
    n, m = check_euler_size(n, m)
    return euler_log_abs(euler_characteristic(n, m)) / n


def _saddle(alpha: float) -> complex:
    """``ρ = −u``: the root of ``(α − 1) ρ² − (α − 2) ρ + 1 = 0`` that is nearer 0 (real for
    ``α ≥ 4 + 2√2``, else one of a complex-conjugate pair): the saddle ``(u, v) = (−ρ, ρ)``."""
    disc = alpha * alpha - 8.0 * alpha + 8.0
    root = math.sqrt(disc) if disc >= 0 else cmath.sqrt(disc)
    return ((alpha - 2.0) - root) / (2.0 * (alpha - 1.0))


def _check_alpha(alpha, minimum: float) -> float:
    a = float(alpha)
    if not (math.isfinite(a) and a >= minimum):
        raise ValueError(f"alpha must be a finite number >= {minimum:g}, got {alpha!r}")
    return a


def euler_rate(alpha) -> float:
    """The limit rate ``r(α) = lim (1/n) log |E χ(K)|`` at ``m = α n``, for ``α ≥ 2``
    (``docs/theory.md#euler``):

        r(α) = α log(α ρ (1 − ρ) / 2) − 2 log ρ,   (α − 1) ρ² − (α − 2) ρ + 1 = 0,

    ``ρ`` the root nearer 0.  Below ``α = 4 + 2√2`` the roots are complex conjugate and ``r`` is
    the real part (``|E χ|`` then oscillates about ``e^{n r}``; a limsup).  ``r`` decreases
    strictly: ``dr/dα = log(α ρ (1 − ρ)/2) < 0``.
    """
    a = _check_alpha(alpha, _RATE_MIN_ALPHA)
    rho = _saddle(a)
    if isinstance(rho, complex):
        return a * math.log(abs(a * rho * (1.0 - rho) / 2.0)) - 2.0 * math.log(abs(rho))
    return a * math.log(a * rho * (1.0 - rho) / 2.0) - 2.0 * math.log(rho)


def leading_log(n, m) -> float:
    """The saddle-point approximation of ``log E χ(K)`` at ``m ≥ (4 + 2√2) n`` (``m`` may be
    fractional): ``n r(α) + log(ρ² / (π n (1 − ρ²)(1 − ρ) √det))``, ``α = m/n``, where
    ``det = (1 − 1/α)² − (ρ/(1 − ρ) + 1/α)²`` is the determinant of the Hessian of the exponent
    (``docs/theory.md#euler``).  ``E χ(K)`` is positive there, and the error is ``O(1/n)``."""
    n = _integer(n, "n")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    a = _check_alpha(m / n, COALESCENCE_ALPHA)
    rho = _saddle(a)
    det = (1.0 - 1.0 / a) ** 2 - (rho / (1.0 - rho) + 1.0 / a) ** 2
    if not det > 0:   # at the coalescence itself the Gaussian approximation degenerates
        raise ValueError(f"alpha = {a!r} is at the coalescence of the saddle points (4 + 2 sqrt 2)")
    return n * euler_rate(a) + math.log(rho * rho / (math.pi * n * (1.0 - rho * rho) * (1.0 - rho) * math.sqrt(det)))


def _bisect(f, lo: float, hi: float, iters: int = 200) -> float:
    """The root of ``f`` in ``[lo, hi]`` (``f(lo) > 0 > f(hi)``) by bisection to the float resolution."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def predicted_crossing(n) -> float:
    """The ``α`` where the saddle-point approximation :func:`leading_log` reaches 0 at this ``n``:
    the finite-size crossing to ``O(1/n²)``."""
    n = _integer(n, "n")
    hi = COALESCENCE_ALPHA + 1.0
    while leading_log(n, hi * n) > 0:
        hi *= 2.0
    lo = COALESCENCE_ALPHA + 1e-3
    if leading_log(n, lo * n) <= 0:
        raise ValueError(f"n = {n}: the saddle-point approximation has no crossing above 4 + 2 sqrt 2")
    return _bisect(lambda a: leading_log(n, a * n), lo, hi)


def finite_crossing(n) -> float:
    """The finite-size crossing ``α_n``: where ``log |E χ(K)|`` reaches 0 as ``m`` grows, for ``n ≥ 20``.

    ``m*`` is the last ``m`` with ``|E χ| ≥ 1``, found by bisection above ``(4 + 2√2) n`` (where
    ``E χ > 0`` and ``log E χ`` decreases by about 0.3 a row), and ``log |E χ|`` is interpolated
    linearly between ``m*`` and ``m* + 1``: ``α_n = (m* + L(m*)/(L(m*) − L(m* + 1)))/n``.  The
    exact values at ``(n, m*)`` and ``(n, m* + 1)`` are checked on both sides of 1.  The search starts
    at :func:`predicted_crossing`, so a handful of exact sums suffice.
    """
    n = _integer(n, "n")
    if n < _CROSSING_MIN_N:
        raise ValueError(f"finite_crossing needs n >= {_CROSSING_MIN_N}, got {n}")
    cache: dict[int, float] = {}

    def L(m: int) -> float:
        if m not in cache:
            cache[m] = euler_log_abs(euler_characteristic(n, m))
        return cache[m]

    floor_m = math.ceil(COALESCENCE_ALPHA * n)
    guess = max(floor_m, int(predicted_crossing(n) * n))
    width = 2
    lo = max(floor_m, guess - width)
    while L(lo) < 0:                  # step down until |E χ| >= 1
        if lo == floor_m:
            raise ValueError(f"n = {n}: |E chi| < 1 already at m = {floor_m}")
        width *= 2
        lo = max(floor_m, guess - width)
    width, hi = 2, guess + 2
    while L(hi) >= 0:                 # step up until |E χ| < 1
        width *= 2
        hi = guess + width
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if L(mid) >= 0 else (lo, mid)
    a, b = L(lo), L(hi)
    if not (a >= 0 > b):
        raise ArithmeticError(f"n = {n}: no crossing between m = {lo} and {hi}")
    return (lo + a / (a - b)) / n


class EulerThreshold(Quantities):
    """The Euler-characteristic threshold ``α_Euler`` (:func:`euler_threshold`): named numbers read
    as attributes or like a mapping (``res.alpha``, ``res["alpha"]``); :func:`jaxcap.to_json` gives
    its JSON.

    ``alpha``: the root of ``r(α) = 0``; ``alpha_err``: a bound on ``|alpha − α_Euler|`` (the
    float64 rounding of the 50-digit root); ``alpha_digits``: the root to 30 significant digits;
    ``rho``: the saddle ``ρ`` there; ``slope``: ``dr/dα`` there; ``crossings``: the finite-size
    crossings asked for, each ``{"n", "alpha_n", "predicted", "gap"}`` (``predicted``: the root of
    :func:`leading_log`; ``gap``: ``alpha_n − alpha``).
    """

    @property
    def alpha(self) -> float:
        return self.values["alpha"]

    @property
    def alpha_err(self) -> float:
        return self.values["alpha_err"]


def _decimal_root(digits: int = 50):
    """``(α_Euler, ρ, bracket width in α)`` in ``digits``-digit decimal arithmetic: bisection in ``ρ`` on
    ``r = α(ρ) ln((1 + 2ρ − ρ²)/2) − 2 ln ρ`` with ``α(ρ) = (1 + 2ρ − ρ²)/(ρ(1 − ρ))``, ``0 < ρ < √2 − 1``
    (``r`` increases with ``ρ``: ``α`` decreases along the branch and ``r`` decreases with ``α``)."""
    D = decimal.Decimal
    with decimal.localcontext() as ctx:
        ctx.prec = digits + 10
        one, two = D(1), D(2)

        def alpha_of(rho):
            return (one + two * rho - rho * rho) / (rho * (one - rho))

        def rate(rho):
            return alpha_of(rho) * ((one + two * rho - rho * rho) / two).ln() - two * rho.ln()

        lo, hi = D("0.01"), two.sqrt() - one        # r(0.01) < 0 < r(√2 − 1)
        if not (rate(lo) < 0 < rate(hi)):
            raise ArithmeticError("the Euler rate does not change sign on its branch")
        tol = D(10) ** (-digits)
        while hi - lo > tol:
            mid = (lo + hi) / two
            lo, hi = (mid, hi) if rate(mid) < 0 else (lo, mid)
        rho = (lo + hi) / two
        return alpha_of(rho), rho, abs(alpha_of(lo) - alpha_of(hi))


def euler_threshold(sizes=(), *, progress=None) -> EulerThreshold:
    """``α_Euler``, the root of the limit rate :func:`euler_rate` (``docs/theory.md#euler``).

    The root is found in 50-digit decimal arithmetic; ``alpha_err`` bounds the error of the
    float64 ``alpha`` (its rounding of the 50-digit root plus the bracket).  ``sizes`` (each ``n ≥ 20``) adds the exact
    finite-size crossings :func:`finite_crossing` and their saddle-point predictions, which
    approach ``alpha`` like ``(log n)/n``; ``progress(done, total)`` counts the sizes finished.
    """
    sizes = [_integer(s, "size") for s in sizes]
    for s in sizes:
        check_euler_size(s, math.ceil(9 * s))
    root, rho, width = _decimal_root()
    alpha = float(root)
    err = abs(decimal.Decimal(alpha) - root) + width
    crossings = []
    for i, n in enumerate(sizes):
        an = finite_crossing(n)
        crossings.append({"n": n, "alpha_n": an, "predicted": predicted_crossing(n), "gap": an - alpha})
        if progress is not None:
            progress(i + 1, len(sizes))
    rho_f = float(rho)
    return EulerThreshold(kind="euler", values={
        "alpha": alpha, "alpha_err": float(err), "alpha_digits": format(root, ".30g"), "rho": rho_f,
        "slope": math.log(alpha * rho_f * (1.0 - rho_f) / 2.0), "crossings": crossings})
