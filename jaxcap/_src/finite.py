"""Finite-size checks: exact injectivity of small random ReLU layers, and a
Monte Carlo of the plain-RDT (Gordon) comparison problem.

Everything here is numpy/scipy in float64; JAX is not used (``jaxcap`` is
imported only inside :func:`_level0_energy`, for the level-0 energy).

The quantity (``docs/theory.md#question``).  For ``W`` in R^{m x n} with rows ``w_i``,

    N(x) = #{ i : w_i . x > 0 },      min_active(W) = min_{|x| = 1} N(x).

The inequality is strict: a row with ``w_i . x = 0`` is *not* active.  N is
lower semicontinuous (a sum of indicators of open sets), so the minimum is
attained.  Writing ``I(x) = {i : w_i . x <= 0}``, min N = m - max_{x != 0}
|I(x)|, and the closed cone ``{y : w_i . y <= 0, i in I}`` of an optimal I
either contains a line (then it contains the 1-dim null space of some n-1
rows of rank n-1 that include a basis of its row space) or has an extreme
ray, cut out by n-1 linearly independent rows.  Hence (for rank W = n; if
rank W < n the minimum is 0, at a null vector of W)

    min_active(W) = min over (n-1)-subsets S of rank n-1, and s = +-1,
                    of N(s v_S),        v_S spanning the null space of W_S.

For W in general position (every n rows independent, which Gaussian W is
with probability one) the minimum is also attained at a *generic* x (no row
zero): at a vertex ``v_S`` the n-1 zero rows are independent, so a small step
makes all of them negative without changing the sign of any other row.  So
min N = min over open cells of the arrangement = min #{i : w_i . x >= 0},
and the certificates returned below are generic points whenever possible.

Certificates and tolerance.  Every :class:`MinActiveResult` carries the
minimising unit direction ``x`` and its ``value`` is *recounted* from ``W``
and ``x`` in float64: row i counts as active iff

    w_i . x  >  ZERO_TOL * |w_i|,          ZERO_TOL = 1e-9,

i.e. rows with ``|w_i . x| <= 1e-9 |w_i|`` are taken to lie on their
hyperplane (inactive).  A certificate is first *polished*: with I the rows
that are (numerically) inactive at the candidate, an LP looks for y with
``w_i . y <= -|w_i|`` on I; if one exists (general position), x = y/|y| is a
generic point at which every inactive row has a clear negative margin and no
tolerance decides anything (``margin`` reports min_i |w_i . x|/|w_i|).  If it
does not (degenerate W such as rows +-e_i), the candidate on its hyperplanes
is kept, and ``n_zero`` says how many rows the tolerance treated as zero.

Injectivity (Puthawala, Kothari, Lassas, Dokmanic, de Hoop, "Globally
injective ReLU networks", JMLR 2022, Thm 2): x -> ReLU(Wx) is injective iff

    for every x in R^n:  rank{ w_i : w_i . x >= 0 } = n.

For W in general position this is ``min_active(W) >= n`` (the ``docs/theory.md#question``
criterion).  It is *not* the same for degenerate W; see :func:`is_injective`.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import guards

ZERO_TOL = 1e-9
"""Rows with |w_i . x| <= ZERO_TOL*|w_i| (x unit) count as zero, i.e. inactive."""

_MILP_LOOSE_TOL = 1e-6  # MILP solutions satisfy w_i.x <= 0 only to ~1e-7 (HiGHS feasibility tolerance)
_ENUM_AUTO_LIMIT = 300_000  # "auto" enumerates when C(m, n-1) <= this
_ENUM_CHUNK = 50_000


# --------------------------------------------------------------------------
# counting and certificates
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class MinActiveResult:
    """Exact minimum of #{i : w_i . x > 0} over unit x, with its certificate.

    value        the minimum, recounted from W and ``x`` (see ``count_active``)
    x            a minimising unit direction (numpy float64, shape (n,))
    method       "milp" or "enumerate"
    seconds      wall time of the computation
    lower_bound  the bound the method proved (MILP optimum or exhaustive
                 enumeration); equal to ``value`` when the certificate checks
    margin       min over rows not treated as zero of |w_i . x| / |w_i|
    n_zero       rows with |w_i . x| <= ZERO_TOL |w_i| (on their hyperplane)
    """
    value: int
    x: np.ndarray
    method: str
    seconds: float
    lower_bound: int
    margin: float
    n_zero: int


def _as_matrix(W) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"W must be a non-empty 2-D array, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite")
    return W


def count_active(W, x, kappa: float = 0.0, tol: float = ZERO_TOL) -> int:
    """#{i : w_i . xh > kappa + tol*|w_i|} with xh = x/|x|.

    For kappa = 0 this is the strict count N(x) of the module docstring, a row
    within ``tol*|w_i|`` of its hyperplane being treated as zero (inactive).
    """
    W = _as_matrix(W)
    x = np.asarray(x, dtype=np.float64)
    nx = np.linalg.norm(x)
    if nx == 0 or not np.isfinite(nx):
        raise ValueError("x must be a finite nonzero vector")
    d = W @ (x / nx)
    return int(np.count_nonzero(d > kappa + tol * np.linalg.norm(W, axis=1)))


def _row_stats(W, x):
    """(count, margin, n_zero) of unit x: the recount used by every certificate."""
    norms = np.linalg.norm(W, axis=1)
    d = W @ x
    thr = ZERO_TOL * norms
    zero = np.abs(d) <= thr
    count = int(np.count_nonzero(d > thr))
    nz = ~zero & (norms > 0)
    margin = float(np.min(np.abs(d[nz]) / norms[nz])) if np.any(nz) else math.inf
    return count, margin, int(np.count_nonzero(zero & (norms > 0)))


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level writes to fd 1 (HiGHS prints MIP chatter on stdout)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                try:
                    sys.stdout.flush()
                except (OSError, ValueError):
                    pass
                os.dup2(saved, fd)
    finally:
        os.close(saved)


def _strict_point(A: np.ndarray):
    """A point y with A y <= -|a_i| row-wise (so A y < 0 strictly), or None.

    LP feasibility problem (HiGHS).  By Gordan's alternative it is feasible
    iff no nonzero lambda >= 0 has A^T lambda = 0.
    """
    from scipy.optimize import linprog
    k, n = A.shape
    if k == 0:
        return np.eye(n)[0]
    norms = np.linalg.norm(A, axis=1)
    keep = norms > 0
    if not np.all(keep):  # a zero row can never be < 0
        return None
    An = A / norms[:, None]
    res = linprog(np.zeros(n), A_ub=An, b_ub=-np.ones(k), bounds=[(None, None)] * n, method="highs")
    if res.status != 0:
        return None
    y = np.asarray(res.x, dtype=np.float64)
    if not np.all(An @ y < 0):
        return None
    return y


def _null_projection(W, x, loose):
    """Project x onto the null space of the rows within ``loose`` of zero."""
    norms = np.linalg.norm(W, axis=1)
    d = W @ x
    Z = (np.abs(d) <= loose * np.maximum(norms, 1e-300)) & (norms > 0)
    if not np.any(Z):
        return x
    _, s, Vh = np.linalg.svd(W[Z], full_matrices=True)
    rank = int(np.count_nonzero(s > 1e-10 * s[0])) if s.size else 0
    N = Vh[rank:]
    if N.shape[0] == 0:
        return x
    p = N.T @ (N @ x)
    nrm = np.linalg.norm(p)
    return p / nrm if nrm > 0.5 else x


def _certify(W, x, loose):
    """Polish a candidate minimiser and recount it; returns (x, count, margin, n_zero).

    Candidates tried (the one with the smallest recount wins, ties prefer the
    first): the LP-polished generic point (rows inactive at x, up to
    ``loose``, made strictly negative), x projected on the null space of its
    near-zero rows, and x itself.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x / np.linalg.norm(x)
    norms = np.linalg.norm(W, axis=1)
    inactive = (W @ x <= loose * norms) & (norms > 0)
    cands = []
    y = _strict_point(W[inactive]) if np.any(inactive) else None
    if y is not None and np.linalg.norm(y) > 0:
        cands.append(y / np.linalg.norm(y))
    cands.append(_null_projection(W, x, loose))
    cands.append(x)
    best = None
    for c in cands:
        cnt, margin, nzero = _row_stats(W, c)
        if best is None or cnt < best[1]:
            best = (c, cnt, margin, nzero)
    return best


def _check_kappa(kappa):
    if kappa != 0.0:
        raise ValueError(
            "min_active is exact only for kappa = 0 (scale invariance); for kappa != 0 the "
            "unit-sphere constraint is non-convex and is not supported")


def _rank_deficient_null(W):
    """A unit null vector of W if rank W < n, else None."""
    m, n = W.shape
    if m < n:
        _, _, Vh = np.linalg.svd(W, full_matrices=True)
        return Vh[-1]
    _, s, Vh = np.linalg.svd(W, full_matrices=False)
    if s[-1] <= 1e-12 * max(s[0], 1e-300):
        return Vh[-1]
    return None


def _result(W, x, method, t0, lower_bound, loose):
    """Certify x; the recount must equal the bound the method proved."""
    x, cnt, margin, nzero = _certify(W, x, loose)
    if cnt != lower_bound:
        raise RuntimeError(f"{method}: proved minimum {lower_bound} but the certificate recounts {cnt} "
                           f"(numerically degenerate W?)")
    return MinActiveResult(value=int(cnt), x=x, method=method, seconds=time.perf_counter() - t0,
                           lower_bound=int(lower_bound), margin=margin, n_zero=nzero)


# --------------------------------------------------------------------------
# exact method 1: enumeration of the arrangement's vertices
# --------------------------------------------------------------------------

def _combination_chunks(m, k, chunk):
    it = itertools.combinations(range(m), k)
    dt = np.dtype((np.intp, k))
    while True:
        block = np.fromiter(itertools.islice(it, chunk), dtype=dt)
        if block.shape[0] == 0:
            return
        yield block.reshape(-1, k)


def _null_vectors(S):
    """Unit null vectors of a stack S of (n-1) x n matrices; NaN rows where rank < n-1.

    Fast path: v = (A^{-1} a, -1) with S = [A | a] and A well conditioned
    (Hadamard ratio > 1e-4); the rest by the SVD (rank n-1 iff the smallest
    singular value exceeds 1e-10 times the largest).
    """
    K, k, n = S.shape
    out = np.full((K, n), np.nan)
    A = S[:, :, :k]
    sign, logdet = np.linalg.slogdet(A)
    lognorm = np.log(np.maximum(np.linalg.norm(A, axis=2), 1e-300)).sum(1)
    fast = (sign != 0) & (logdet - lognorm > math.log(1e-4))
    if np.any(fast):
        mu = np.linalg.solve(A[fast], S[fast, :, k:])[..., 0]
        v = np.concatenate([mu, -np.ones((mu.shape[0], 1))], axis=1)
        out[fast] = v / np.linalg.norm(v, axis=1, keepdims=True)
    slow = ~fast
    if np.any(slow):
        _, s, Vh = np.linalg.svd(S[slow], full_matrices=True)
        ok = s[:, -1] > 1e-10 * np.maximum(s[:, 0], 1e-300)
        v = Vh[:, -1, :].copy()
        v[~ok] = np.nan
        out[slow] = v
    return out


def _enumerate(W):
    """(min count, argmin direction) over all vertex candidates +-v_S."""
    m, n = W.shape
    thr = ZERO_TOL * np.linalg.norm(W, axis=1)
    if n == 1:
        cands = np.array([[1.0], [-1.0]])
        counts = ((cands @ W.T) > thr).sum(1)
        i = int(np.argmin(counts))
        return int(counts[i]), cands[i]
    best, bestx = m + 1, None
    for idx in _combination_chunks(m, n - 1, _ENUM_CHUNK):
        v = _null_vectors(W[idx])                     # null vector of each W_S
        v = v[np.all(np.isfinite(v), axis=1)]
        if v.shape[0] == 0:
            continue
        D = v @ W.T
        pos = (D > thr).sum(1)                        # N(+v)
        neg = (D < -thr).sum(1)                       # N(-v)
        ip, ineg = int(np.argmin(pos)), int(np.argmin(neg))
        if pos[ip] < best:
            best, bestx = int(pos[ip]), v[ip].copy()
        if neg[ineg] < best:
            best, bestx = int(neg[ineg]), -v[ineg].copy()
        if best == 0:
            break
    return best, bestx


def min_active_enumerate(W) -> MinActiveResult:
    """Exact min_active by enumerating the vertices of the hyperplane arrangement.

    Candidates: for every (n-1)-subset S of rows with rank n-1, both unit
    vectors +-v_S spanning null(W_S) (module docstring: this finite set
    contains a minimiser for *every* W of rank n; rank W < n gives 0).
    Counts use the tolerance ``ZERO_TOL`` (the rows of S are exactly zero up
    to rounding, ~1e-16).  Cost: C(m, n-1) batched null vectors and m-row
    recounts (timings: ``docs/benchmarks.md#finite-size-runs``).  Beyond a few
    million subsets (n = 6, alpha >~ 8; n >= 7, alpha >~ 5) use the MILP.
    """
    W = _as_matrix(W)
    t0 = time.perf_counter()
    z = _rank_deficient_null(W)
    if z is not None:
        return _result(W, z, "enumerate", t0, 0, ZERO_TOL)
    best, x = _enumerate(W)
    return _result(W, x, "enumerate", t0, best, ZERO_TOL)


# --------------------------------------------------------------------------
# exact method 2: mixed-integer linear program (HiGHS via scipy.optimize.milp)
# --------------------------------------------------------------------------

def _left_null(S):
    """lambda with S^T lambda = 0 for a stack S of (n+1) x n matrices, scaled to lambda_n = 1.

    lambda = (mu, 1) with S[:n]^T mu = -S[n]; rows whose leading n x n block is
    (numerically) singular get NaN.  A finite all-positive lambda means the
    n+1 rows positively span R^n (rank n, 0 = sum lambda_i w_i, lambda > 0).
    """
    B, k, n = S.shape
    A = np.transpose(S[:, :n, :], (0, 2, 1))
    rhs = -S[:, n, :][..., None]
    out = np.full((B, k), np.nan)
    # Hadamard ratio |det A| / prod |columns| in (0, 1]: ~0 means singular
    sign, logdet = np.linalg.slogdet(A)
    lognorm = np.log(np.maximum(np.linalg.norm(A, axis=1), 1e-300)).sum(1)
    good = (sign != 0) & (logdet - lognorm > math.log(1e-6))
    if np.any(good):
        mu = np.linalg.solve(A[good], rhs[good])[..., 0]
        out[good, :n] = mu
        out[good, n] = 1.0
    return out


def _cover_cuts(W, max_cuts, max_samples, rng):
    """Random (n+1)-subsets C of rows that positively span R^n.

    Such a C has 0 = sum_{i in C} lambda_i w_i with all lambda_i > 0 and
    rank W_C = n, so {x : w_i . x <= 0, i in C} = {0}: no nonzero x keeps all
    of C inactive, and sum_{i in C} b_i >= 1 is a valid inequality for the
    MILP.  It tightens the LP relaxation (the big-M rows alone give a bound
    near 0).  For Gaussian rows a random (n+1)-subset qualifies with
    probability 2^-n (Wendel).
    """
    m, n = W.shape
    nonzero = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)
    if nonzero.size < n + 1 or max_cuts <= 0:
        return np.zeros((0, n + 1), dtype=np.intp)
    max_cuts = min(max_cuts, math.comb(nonzero.size, n + 1))
    found, seen, done, stale = [], set(), 0, 0
    batch = 20_000
    while done < max_samples and len(found) < max_cuts and stale < 2:
        B = min(batch, max_samples - done)
        done += B
        pick = rng.random((B, nonzero.size)).argpartition(n, axis=1)[:, :n + 1]
        idx = nonzero[pick]
        S = W[idx]                                           # (B, n+1, n)
        lam = _left_null(S)                                  # S^T lam = 0, lam[:, n] = 1
        ok = np.all(np.isfinite(lam), axis=1)
        ok[ok] = lam[ok].min(1) > 1e-6 * np.abs(lam[ok]).max(1)  # clearly positive: a safe cut
        before = len(found)
        for row in np.sort(idx[ok], axis=1):
            key = tuple(row)
            if key not in seen:
                seen.add(key)
                found.append(row)
                if len(found) >= max_cuts:
                    break
        stale = stale + 1 if len(found) == before else 0  # nothing new twice: stop sampling
    return np.array(found, dtype=np.intp).reshape(-1, n + 1)


def _milp(W, cuts, time_limit=None):
    """Solve the big-M MILP; returns (objective, x).

    Variables x in [-1, 1]^n, b in {0,1}^m (b_i = 1: row i may be active),
    face selectors p_j, q_j in {0,1}:

        minimise  sum_i b_i
        s.t.      w_i . x <= M_i b_i,            M_i = |w_i|_1 >= max_{box} w_i . x
                  x_j >= 2 p_j - 1,  x_j <= 1 - 2 q_j,  sum_j (p_j + q_j) = 1
                  sum_{i in C} b_i >= 1          for each cover cut C

    The selectors pin one coordinate to +1 or -1, so x ranges over the
    boundary of the cube: every nonzero direction up to positive scaling
    (|x|_inf = 1).  b_i = 0 forces w_i . x <= 0 (zero allowed: inactive), so
    the optimum is min_x #{w_i . x > 0} exactly.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix, csr_matrix
    m, n = W.shape
    nv = n + m + 2 * n
    ix, ib, ip, iq = 0, n, n + m, n + m + n
    c = np.zeros(nv)
    c[ib:ib + m] = 1.0
    M = np.abs(W).sum(1)
    rows, cols, vals = [], [], []
    # big-M rows
    r = np.repeat(np.arange(m), n)
    rows.append(r); cols.append(np.tile(np.arange(n), m)); vals.append(W.ravel())
    rows.append(np.arange(m)); cols.append(ib + np.arange(m)); vals.append(-M)
    A1 = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, nv)).tocsr()
    eye = np.arange(n)
    A2 = coo_matrix((np.r_[np.ones(n), -2 * np.ones(n)], (np.r_[eye, eye], np.r_[ix + eye, ip + eye])),
                    shape=(n, nv)).tocsr()
    A3 = coo_matrix((np.r_[np.ones(n), 2 * np.ones(n)], (np.r_[eye, eye], np.r_[ix + eye, iq + eye])),
                    shape=(n, nv)).tocsr()
    A4 = coo_matrix((np.ones(2 * n), (np.zeros(2 * n, dtype=int), ip + np.arange(2 * n))), shape=(1, nv)).tocsr()
    cons = [LinearConstraint(A1, -np.inf, 0.0), LinearConstraint(A2, -1.0, np.inf),
            LinearConstraint(A3, -np.inf, 1.0), LinearConstraint(A4, 1.0, 1.0)]
    if len(cuts):
        k = cuts.shape[0]
        C = csr_matrix((np.ones(cuts.size), (np.repeat(np.arange(k), cuts.shape[1]), ib + cuts.ravel())),
                       shape=(k, nv))
        cons.append(LinearConstraint(C, 1.0, np.inf))
    integrality = np.r_[np.zeros(n), np.ones(m + 2 * n)]
    lb = np.r_[-np.ones(n), np.zeros(m + 2 * n)]
    ub = np.ones(nv)
    options = {"disp": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    with _quiet_stdout():
        res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub), options=options)
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"MILP did not solve to optimality: {res.message}")
    return int(round(res.fun)), np.asarray(res.x[:n], dtype=np.float64)


def min_active_milp(W, *, max_cuts: int = 1000, max_samples: int = 200_000, seed: int = 0,
                    time_limit: float | None = None) -> MinActiveResult:
    """Exact min_active by a MILP (scipy.optimize.milp, HiGHS) strengthened by cover cuts.

    See ``_milp`` for the formulation and ``_cover_cuts`` for the cuts
    (deterministic for a given ``seed``).  The MILP optimum is a lower bound
    (up to HiGHS tolerances) and the polished, recounted certificate an upper
    bound; a disagreement raises RuntimeError.  The running time is erratic
    (branch and bound) and grows with the minimum itself, i.e. with alpha
    (timings: ``docs/benchmarks.md#finite-size-runs``); ``time_limit`` (s)
    turns a long solve into RuntimeError.
    """
    W = _as_matrix(W)
    t0 = time.perf_counter()
    z = _rank_deficient_null(W)
    if z is not None:
        return _result(W, z, "milp", t0, 0, ZERO_TOL)
    cuts = _cover_cuts(W, max_cuts, max_samples, np.random.default_rng(seed))
    obj, x = _milp(W, cuts, time_limit)
    if not np.any(x):
        raise RuntimeError("MILP returned x = 0")
    return _result(W, x, "milp", t0, obj, _MILP_LOOSE_TOL)


def min_active(W, kappa: float = 0.0, *, method: str = "auto") -> MinActiveResult:
    """Exact min over unit x of #{i : w_i . x > kappa}; only kappa = 0 is supported.

    method: "enumerate" (vertex enumeration, exact for every W, cost
    C(m, n-1)), "milp" (HiGHS), or "auto" (enumerate when C(m, n-1) <= 3e5,
    else the MILP).  Timings: ``docs/benchmarks.md#finite-size-runs``.  The returned ``x`` is a certificate: ``value`` is
    recounted from it (tolerance ``ZERO_TOL``, see the module docstring).
    """
    _check_kappa(kappa)
    W = _as_matrix(W)
    m, n = W.shape
    guards.MAX_FINITE_N.check(n, f"n = {n}")
    guards.MAX_FINITE_ROWS.check(m, f"m = {m}")
    if method == "auto":
        method = "enumerate" if math.comb(m, n - 1) <= _ENUM_AUTO_LIMIT else "milp"
    if method == "enumerate":
        return min_active_enumerate(W)
    if method == "milp":
        return min_active_milp(W)
    raise ValueError(f"unknown method {method!r} (auto, enumerate, milp)")


# --------------------------------------------------------------------------
# injectivity
# --------------------------------------------------------------------------

def _nonzero_rows(W):
    return W[np.linalg.norm(W, axis=1) > 0]


def _dss_witness(W):
    """None if ReLU(W .) is injective, else (p, q), p != q, ReLU(Wp) = ReLU(Wq).

    Exact for every W (Puthawala et al. 2022, Thm 2): not injective iff some
    x has rank{w_i : w_i . x >= 0} < n.  Since the set {i : w_i . x >= 0}
    only shrinks off the hyperplanes, it suffices to look at generic x, and
    a failure is a unit v and an x with w_i . x < 0 for every row with
    w_i . v != 0 (the active rows then lie in v-perp).  The set
    T(v) = {i : w_i . v != 0} is smallest (the condition easiest) when v
    spans the null space of a rank n-1 set of rows, so we check those lines:
    for each, an LP asks for x with w_i . x < 0 on T(v) (``_strict_point``).
    Then p = x and q = x + eps v (eps so small that T(v) stays negative) have
    the same output.  Rows with |w_i . v| <= ZERO_TOL |w_i| count as zero.
    Cost: C(m, n-1) null vectors and up to that many LPs (small n only).
    """
    W = _as_matrix(W)
    m, n = W.shape
    z = _rank_deficient_null(W)
    if z is not None:
        return np.zeros(n), z
    norms = np.linalg.norm(W, axis=1)
    thr = ZERO_TOL * norms
    seen = set()
    subsets = [np.zeros((1, 0), dtype=np.intp)] if n == 1 else _combination_chunks(m, n - 1, _ENUM_CHUNK)
    for idx in subsets:
        if n == 1:
            V = np.ones((1, 1))
        else:
            _, s, Vh = np.linalg.svd(W[idx], full_matrices=True)
            ok = s[:, -1] > 1e-10 * np.maximum(s[:, 0], 1e-300)
            V = Vh[ok, -1, :]
        D = V @ W.T
        T = np.abs(D) > thr
        for v, t in zip(V, T):
            key = np.packbits(t).tobytes()
            if key in seen:  # same set T(v): same LP
                continue
            seen.add(key)
            x = _strict_point(W[t])
            if x is None:
                continue
            dv = np.abs(W[t] @ v)
            slack = -(W[t] @ x)
            eps = 0.5 * float(np.min(slack / dv)) if dv.size else 1.0
            return x, x + eps * v
    return None


def min_max_field(W) -> tuple[float, np.ndarray]:
    """``min_{|x| = 1} max_i w_i . x`` exactly, with a minimiser: ``W`` has no field above ``κ`` at some
    unit ``x`` iff the value is ``≤ κ`` (the zero-energy line at finite ``n``,
    ``docs/theory.md#zero-energy``).

    At a minimiser ``x`` with active rows ``S`` (those attaining the max, ``t``), the
    optimality conditions give ``Σ_S μ_i w_i = −ν x`` with ``μ ≥ 0``.  For ``W`` in general
    position ``ν ≠ 0`` (else ``|S| ≥ n + 1`` rows would meet on the sphere) and ``|S| ≤ n``,
    so ``x`` lies in the row space of ``W_S`` with ``W_S x = t 1``: ``x = ±v/|v|``,
    ``v = W_S^+ 1``.  The minimum is the least ``max_i w_i . x`` over these candidates for
    every ``S`` of 1 to ``n`` rows (``Σ_k C(m, k)`` of them: small ``n`` only).

    Returns:
        ``(value, x)``.
    """
    W = _as_matrix(W)
    m, n = W.shape
    best, arg = np.inf, None
    for k in range(1, min(n, m) + 1):
        for chunk in _combination_chunks(m, k, 4096):
            rows = W[chunk]                                              # (c, k, n)
            gram = rows @ rows.transpose(0, 2, 1)
            ok = np.linalg.cond(gram) < 1e12
            if not ok.any():
                continue
            coef = np.linalg.solve(gram[ok], np.ones((int(ok.sum()), k, 1)))
            v = (rows[ok].transpose(0, 2, 1) @ coef)[..., 0]             # W_S^+ 1
            x = v / np.linalg.norm(v, axis=1, keepdims=True)
            x = np.concatenate([x, -x])
            values = (x @ W.T).max(axis=1)
            i = int(np.argmin(values))
            if values[i] < best:
                best, arg = float(values[i]), x[i]
    return best, arg


def is_injective(W, *, method: str = "auto") -> bool:
    """Is x -> ReLU(W x) injective on R^n?

    Exact criterion (Puthawala et al. 2022): for every x, the rows with
    w_i . x >= 0 span R^n.  Consequences used as quick exits: it needs
    rank W = n and at least 2n nonzero rows (a generic x and -x split the
    nonzero rows into two disjoint sets that must each span R^n), so fewer
    than 2n rows are never injective.

    For W in general position (Gaussian W with probability one) the
    criterion is ``min_active(W) >= n`` (``docs/theory.md#question``).  For degenerate W it is
    not: the 2n rows +-e_i give an injective layer (x = x_+ - x_-), yet
    min_active = 1 (at x = e_1 the rows +-e_2..+-e_n are zero, hence
    inactive); the criterion holds because at every generic x exactly one of
    +-e_j is active for each j (n independent rows).  Conversely, repeated
    rows can make every N(x) >= n while the active rows at some x span only
    a subspace (then not injective).

    method: "dss" (the exact rank criterion, ``_dss_witness``; every W,
    cost C(m, n-1) LPs at most), "count" (``min_active(W).value >= n``; exact
    for W in general position only), "auto" ("dss" when C(m, n-1) <= 2000,
    else "count").
    """
    W = _as_matrix(W)
    m, n = W.shape
    if method not in ("auto", "dss", "count"):
        raise ValueError(f"unknown method {method!r} (auto, dss, count)")
    Wn = _nonzero_rows(W)
    if Wn.shape[0] < 2 * n or _rank_deficient_null(Wn) is not None:
        return False
    if method == "auto":
        method = "dss" if math.comb(Wn.shape[0], n - 1) <= 2000 else "count"
    if method == "dss":
        return _dss_witness(Wn) is None
    return min_active(Wn).value >= n


# --------------------------------------------------------------------------
# level 0: plain RDT (Gordon's comparison problem) by Monte Carlo
# --------------------------------------------------------------------------

def gordon_min(g, budget: float, kappa: float = 0.0) -> int:
    """min { #{i : z_i > kappa} : |z - g|^2 <= budget } over z in R^m, exactly.

    A coordinate with g_i <= kappa is inactive for free (z_i = g_i).  One
    with g_i > kappa is made inactive most cheaply by z_i = kappa, at cost
    (g_i - kappa)^2; the others keep z_i = g_i.  Every coordinate costs 1
    in the objective, so deactivating the k cheapest is optimal (exchange
    argument) with k = max{k : sum of the k smallest costs <= budget}; the
    minimum is #{g_i > kappa} - k.
    """
    g = np.asarray(g, dtype=np.float64)
    costs = np.sort((g[g > kappa] - kappa) ** 2)
    k = int(np.searchsorted(np.cumsum(costs), budget, side="right"))
    return int(costs.size - k)


def gordon_energy(alpha: float, n: int, rng: np.random.Generator, kappa: float = 0.0) -> float:
    """One sample of (1/n) min { #{i : z_i > kappa} : |z - g|^2 <= |h|^2 }.

    Gordon's comparison problem for min_{|x|=1} #{i : w_i . x > kappa}.
    With z = W x and a multiplier lambda, the primal is
    min_{x, z} max_lambda #{z_i > kappa} + lambda . (W x - z); Gordon replaces
    lambda . W x by |x| g . lambda + |lambda| h . x (g ~ N(0, I_m),
    h ~ N(0, I_n)); at |x| = 1 the minimum over x of h . x is -|h|, and the
    maximum over lambda of lambda . (g - z) - |lambda||h| is 0 if
    |z - g| <= |h| and +infinity otherwise.  m = round(alpha n); the inner
    problem is solved exactly by ``gordon_min``.
    """
    m = int(round(alpha * n))
    g = rng.standard_normal(m)
    h = rng.standard_normal(n)
    return gordon_min(g, float(h @ h), kappa) / n


def gordon_limit_energy(alpha: float, kappa: float = 0.0) -> float:
    """n -> infinity limit of ``gordon_energy``: the RS / plain-RDT energy e_0(alpha).

    The budget per unit n tends to 1 and the cost per coordinate is
    (g - kappa)^2 on kappa < g, so the deactivated coordinates are
    kappa < g < t with alpha E[(g - kappa)^2 1{kappa < g < t}] = 1 and
    e_0 = alpha P(g > t) (0 if alpha E[(g - kappa)_+^2] <= 1).  This is the
    maximum over chi of E_0(alpha; chi) = -1/(2 chi) - alpha E f_0(z)
    (``docs/theory.md#functional``): d/dchi = 0 is the same equation with t = kappa + sqrt(2 chi),
    and at that chi E_0 = alpha P(z > t).  Closed form via
    int_kappa^t (g - kappa)^2 phi = [(1 + kappa^2) Phi + (2 kappa - g) phi]_kappa^t.
    """
    from scipy.optimize import brentq
    from scipy.special import ndtr
    from scipy.stats import norm

    def F(g):
        return (1.0 + kappa ** 2) * ndtr(g) + (2.0 * kappa - g) * norm.pdf(g)

    total = (1.0 + kappa ** 2) * ndtr(-kappa) - kappa * norm.pdf(kappa)  # E (g - kappa)_+^2
    if alpha * total <= 1.0:
        return 0.0
    t = brentq(lambda t: alpha * (F(t) - F(kappa)) - 1.0, kappa, kappa + 40.0, xtol=1e-14, rtol=1e-15)
    return float(alpha * norm.sf(t))


@dataclass(frozen=True)
class GordonPoint:
    """Monte Carlo mean of ``gordon_energy`` at one n: mean, standard error, trials."""
    n: int
    m: int
    mean: float
    stderr: float
    trials: int


def gordon_curve(alpha: float, ns: Sequence[int], trials: int, seed: int = 0,
                 kappa: float = 0.0) -> list[GordonPoint]:
    """``gordon_energy`` averaged over ``trials`` samples at each n in ``ns``.

    Reproducible: the samples at ns[k] use SeedSequence(seed).spawn(len(ns))[k].
    The mean tends to ``gordon_limit_energy(m/n, kappa)`` with an O(1/n) bias (the
    integer k, and the curvature of the threshold equation in the
    fluctuating |h|^2/n and empirical sums).
    """
    if trials < 2:
        raise ValueError("trials must be >= 2 (a standard error is reported)")
    out = []
    for n, ss in zip(ns, np.random.SeedSequence(seed).spawn(len(ns))):
        n = int(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(ss)
        e = np.array([gordon_energy(alpha, n, rng, kappa) for _ in range(trials)])
        out.append(GordonPoint(n=n, m=int(round(alpha * n)), mean=float(e.mean()),
                               stderr=float(e.std(ddof=1) / math.sqrt(trials)), trials=trials))
    return out


def _level0_energy(alpha: float, kappa: float = 0.0) -> float:
    """e_0(alpha) from the project's functional (``jaxcap.energy(alpha, 0)``)."""
    import jaxcap
    return float(jaxcap.energy(alpha, 0, kappa=kappa).energy)


# --------------------------------------------------------------------------
# the experiment of ``jaxcap finite``
# --------------------------------------------------------------------------

def wilson_interval(k: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy.stats.binomtest)."""
    from scipy.stats import binomtest
    ci = binomtest(int(k), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def trial_rng(seed: int, alpha_index: int, trial: int) -> np.random.Generator:
    """The generator of trial ``trial`` at the ``alpha_index``-th alpha."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(alpha_index), int(trial)]))


def _trial(n, m, seed, ai, t, method):
    W = trial_rng(seed, ai, t).standard_normal((m, n))
    return min_active(W, method=method).value


#: The exact methods of :func:`min_active` an experiment may name.
FINITE_METHODS = ("auto", "enumerate", "milp")


def check_experiment(n, trials, method: str) -> None:
    """``ValueError`` unless ``n`` and ``trials`` are integers ``>= 1`` and ``method`` is one of
    :data:`FINITE_METHODS`."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    if method not in FINITE_METHODS:
        raise ValueError(f"method must be one of {', '.join(FINITE_METHODS)}, got {method!r}")


def layer_sizes(n: int, alphas, trials: int = 1, method: str = "auto") -> list[int]:
    """``m = round(alpha n)`` per alpha, after checking the experiment (``ValueError`` with a one-line reason).

    Beyond the limits of :mod:`jaxcap._src.guards` on ``n``, on the largest ``m`` and on the number
    of exact solves ``len(alphas) * trials`` the experiment is refused: the cost of the exact
    methods grows like ``C(m, n − 1)``.
    """
    check_experiment(n, trials, method)
    ms = []
    for a in alphas:
        if not (math.isfinite(a) and a > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {a!r}")
        m = int(round(a * n))
        if m < 1:
            raise ValueError(f"m = round(alpha*n) = {m} < 1 for alpha = {a}, n = {n}")
        ms.append(m)
    if not ms:
        raise ValueError("alphas must not be empty")
    guards.MAX_FINITE_N.check(n, f"n = {n}")
    guards.MAX_FINITE_ROWS.check(max(ms), f"m = round(alpha*n) = {max(ms)}")
    guards.MAX_TRIALS.check(len(ms) * trials, f"{trials} trials at {len(ms)} alphas")
    return ms


def check_finite_size(n: int, trials: int, method: str = "auto", subjects: tuple[str, str] | None = None) -> None:
    """``ValueError`` unless ``trials`` exact layers at ``n`` inputs (:func:`jaxcap.finite_threshold`) are
    integers ``>= 1`` within :data:`jaxcap._src.guards.MAX_FINITE_N` and
    :data:`jaxcap._src.guards.MAX_TRIALS`, and ``method`` is one of :data:`FINITE_METHODS`.

    ``subjects``: what the message of a limit names ``n`` and ``trials`` (default ``"n = {n}"`` and
    ``"{trials} trials"``; the command line names its options).
    """
    check_experiment(n, trials, method)
    n_subject, trials_subject = subjects or (f"n = {n}", f"{trials} trials")
    guards.MAX_FINITE_N.check(n, n_subject)
    guards.MAX_TRIALS.check(trials, trials_subject)


def check_finite_experiment(n: int, alphas, trials: int, method: str = "auto", workers: int = 1,
                            workers_subject: str | None = None) -> list[int]:
    """The rows ``m = round(α n)`` of each ``α`` of a :func:`finite_experiment`, after checking it:
    ``ValueError`` (one line) for an experiment :func:`layer_sizes` refuses, or more ``workers`` than
    :data:`jaxcap._src.guards.MAX_WORKERS` (named ``workers_subject``, default ``"workers={workers}"``)."""
    ms = layer_sizes(n, alphas, trials, method)
    guards.MAX_WORKERS.check(workers, workers_subject or f"workers={workers}")
    return ms


def finite_experiment(n, alphas, trials, seed=0, method="auto", workers=1, progress=None) -> dict:
    """Empirical P(injective) and min_active/n for T Gaussian W per alpha.

    Each trial draws W in R^{m x n}, m = round(alpha n), from
    ``trial_rng(seed, alpha_index, trial)`` and computes min_active exactly;
    injective means min_active >= n (general position holds a.s.).  The
    interval is the 95% Wilson score interval.  ``progress(done, total)`` is
    called after every trial.  ``workers > 1`` spreads the trials over that many processes (the same
    values).  Raises ``ValueError`` for an experiment :func:`check_finite_experiment` refuses.
    """
    t0 = time.perf_counter()
    ms = check_finite_experiment(n, alphas, trials, method, workers)
    jobs = [(n, m, seed, ai, t, method) for ai, m in enumerate(ms) for t in range(trials)]
    values = []
    workers = min(workers, len(jobs))
    if workers > 1:
        import multiprocessing
        import signal
        from concurrent.futures import ProcessPoolExecutor
        # the workers ignore Ctrl-C (it reaches the whole process group): this process alone stops
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
        try:
            for v in ex.map(_trial, *zip(*jobs), chunksize=max(1, len(jobs) // (8 * workers))):
                values.append(v)
                if progress:
                    progress(len(values), len(jobs))
        finally:
            ex.shutdown(wait=len(values) == len(jobs), cancel_futures=True)
    else:
        for job in jobs:
            values.append(_trial(*job))
            if progress:
                progress(len(values), len(jobs))
    results = []
    for ai, (a, m) in enumerate(zip(alphas, ms)):
        v = values[ai * trials:(ai + 1) * trials]
        k = sum(1 for x in v if x >= n)
        lo, hi = wilson_interval(k, trials)
        results.append({"alpha": a, "m": m, "p_injective": k / trials, "ci": [lo, hi],
                        "mean_min_active_over_n": float(np.mean(v)) / n, "min_active": [int(x) for x in v]})
    return {"n": n, "trials": trials, "seed": seed, "method": method, "confidence": 0.95,
            "ci_method": "wilson", "results": results, "seconds": time.perf_counter() - t0}
