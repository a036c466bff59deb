"""Conventional SciPy baseline for the level-r functional (levels 0, 1, 2).

This is the reference that jaxcap's benchmarks compare against: the same
functional E_r(alpha; chi, q, x) of docs/theory.md#functional, computed the way a
physicist would without JAX -- adaptive ``scipy.integrate.quad`` on scalar
Python integrands, ``scipy.optimize`` for the maximisation over the parameters
and for the threshold in alpha.  No JAX, no vectorised Gauss-Hermite tensors.

What is computed how
--------------------
* Level 0 (RS / plain RDT).  E_z f_0(z) by ``quad`` piecewise over the kinks of
  the leaf: the piece ``z <= kappa`` is identically 0 (not integrated), the
  piece ``[kappa, kappa + a]`` and the tail ``[kappa + a, inf)`` are two
  ``quad`` calls.  The maximum over chi is the root (``brentq`` in
  ``a = sqrt(2 chi)``) of the classic saddle-point equation
  ``alpha * int_kappa^{kappa+a} (z - kappa)^2 phi(z) dz = 1``.
* Level 1 (1RSB / lifting level 1).  f_0 is the closed form of docs/theory.md#leaf,
  section 2 ("Innermost level in closed form"), the outer expectation
  E_z f_0(sqrt(q_0) z) is one ``quad`` on ``[-Z_MAX, Z_MAX]`` with the two
  kink images (and 0, +-2, +-4, where the Gaussian weight lives) passed as
  break points.
* Level 2.  f_1 is the closed form, f_0(h) = (1/x_0) ln E_z exp(x_0 f_1(h +
  sqrt(q_1 - q_0) z)) is an inner ``quad`` for every outer node h, and the
  outer expectation is a ``quad`` over those -- a nested (dblquad-like)
  adaptive quadrature, the expensive conventional way (about 0.1 s per
  evaluation of E_2, ~1000 evaluations for a threshold).
* Maximisation (levels >= 1): Nelder-Mead on -E in unconstrained coordinates
  (chi = e^a; q the cumulative softmax of r + 1 logits, the last fixed at 0;
  x the cumulative sums of e^b, docs/theory.md#solver), then a root-find of the
  stationarity equations grad E = 0 with ``scipy.optimize.root`` (MINPACK
  ``hybr``) on central finite-difference gradients in the natural parameters,
  with a central finite-difference Hessian as its Jacobian; finally the
  Hessian is checked to be negative definite.
* Threshold: Newton in alpha through ``scipy.optimize.root_scalar``, with
  the derivative from the envelope theorem dE/dalpha = -E_z f_0(sqrt(q_0) z)
  (docs/theory.md#leaf); every alpha evaluation is warm-started from the
  previous solution.  ``method="brentq"`` instead brackets the root and uses
  ``scipy.optimize.brentq``.

The functions return plain dicts; see ``energy`` and ``threshold``.
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, optimize

__all__ = ["energy", "threshold", "functional", "accuracy_note", "ACCURACY_NOTES"]

SQRT2 = math.sqrt(2.0)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: Gaussian integrals over z are truncated to [-Z_MAX, Z_MAX]; the neglected
#: mass 2 * Phi(-8) ~ 1.2e-15 (times |integrand| <= 1) is far below every
#: tolerance used here.
Z_MAX = 8.0
#: ``quad`` subinterval limit (the default 50 is too small for epsabs 1e-12).
QUAD_LIMIT = 200

ACCURACY_NOTES = {
    0: ("level 0: E_z f_0 by scipy quad piecewise over the leaf's kinks "
        "([kappa, kappa+a] and the tail [kappa+a, inf); the piece z < kappa is "
        "identically 0), epsabs=epsabs, epsrel=1e-12; chi from brentq on the "
        "saddle-point equation alpha*int_kappa^{kappa+a} (z-kappa)^2 phi = 1 "
        "(xtol 1e-15 in a = sqrt(2 chi)); threshold by Newton in alpha with "
        "the envelope derivative, xtol=tol. The erf closed form is used only "
        "in the self-check."),
    1: ("level 1: innermost level in closed form (docs/theory.md#leaf); outer "
        "E_z by scipy quad on [-8, 8] (truncated mass 1.2e-15) with break "
        "points at the kink images and at 0, +-2, +-4, epsabs=epsabs, "
        "epsrel=1e-12; maximum by Nelder-Mead in unconstrained coordinates "
        "(xatol 1e-5, fatol 1e-12), then scipy.optimize.root (hybr, xtol "
        "1e-9) on central finite-difference gradients (step 1e-5) with a "
        "central-FD Hessian (step 1e-4) as Jacobian; Hessian checked negative "
        "definite; threshold by Newton in alpha (envelope derivative), "
        "xtol=tol."),
    2: ("level 2: f_1 in closed form; f_0(h) by an inner scipy quad on [-8, 8] "
        "(epsabs=epsabs/10, epsrel=1e-12, break points at the kink images and "
        "0, +-2, +-4) for every node of the outer quad on [-8, 8] "
        "(epsabs=epsabs, epsrel=1e-12): nested adaptive quadrature, ~3e4-6e4 "
        "closed-form evaluations per E_2. Maximum by Nelder-Mead from the "
        "split level-1 solution, then scipy.optimize.root (hybr) on central "
        "FD gradients (step 1e-5), FD Hessian (step 1e-4) as Jacobian; checks: "
        "Hessian negative definite, q0<q1<1 and x0<x1 with gaps > 1e-3, and "
        "E_2 > E_1 at the same alpha; threshold by Newton in alpha (envelope "
        "derivative), xtol=tol."),
}


def accuracy_note(level: int) -> str:
    """A one-paragraph description of the tolerances used at ``level``."""
    return ACCURACY_NOTES[level]


# --------------------------------------------------------------------------
# Scalar building blocks (plain Python floats, math module).
# --------------------------------------------------------------------------

def _Phi(t: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-t / SQRT2)


def _Phi_diff(u: float, l: float) -> float:
    """Phi(u) - Phi(l) for l <= u without cancellation in the upper tail."""
    if l > 0.0:
        return _Phi(-l) - _Phi(-u)
    return _Phi(u) - _Phi(l)


def _phi(z: float) -> float:
    return INV_SQRT2PI * math.exp(-0.5 * z * z)


def leaf(h: float, chi: float, kappa: float = 0.0) -> float:
    """f_r(h): the Moreau envelope of V_kappa (docs/theory.md#leaf)."""
    d = h - kappa
    if d <= 0.0:
        return 0.0
    if d * d < 2.0 * chi:
        return -d * d / (2.0 * chi)
    return -1.0


def closed_innermost(h: float, chi: float, s2: float, m: float,
                     kappa: float = 0.0) -> float:
    """f_{r-1}(h) = (1/m) ln E_z exp(m f_r(h + s z)), s^2 = s2 (closed form)."""
    s = math.sqrt(s2)
    a = math.sqrt(2.0 * chi)
    d = h - kappa
    A = 1.0 / s2 + m / chi
    sA = math.sqrt(A)
    B = d / (s2 * sA)
    p = (_Phi(-d / s) + math.exp(-m) * _Phi((d - a) / s)
         + math.exp(-m * d * d / (2.0 * (chi + m * s2))) / (s * sA)
         * _Phi_diff(sA * a - B, -B))
    return math.log(p) / m


def sphere(chi: float, q, x) -> float:
    """S(chi, q, x) with q = (q_0..q_{r-1}), x = (x_0..x_{r-1}); q_r = 1."""
    r = len(q)
    qq = list(q) + [1.0]
    lam = [0.0] * (r + 1)
    lam[r] = chi
    for l in range(r - 1, -1, -1):
        lam[l] = lam[l + 1] + x[l] * (qq[l + 1] - qq[l])
    s = qq[0] / lam[0]
    for l in range(r):
        s += math.log(lam[l] / lam[l + 1]) / x[l]
    return -0.5 * s


#: Fixed break points for every Gaussian-weighted quad (they tell QUADPACK
#: where the weight phi(z) lives; the kink images of the leaf are added).
GAUSS_BREAKS = (-4.0, -2.0, 0.0, 2.0, 4.0)


def _gauss_expect(fun, points=(), epsabs=1e-10, epsrel=1e-12):
    """E_z fun(z) for z ~ N(0, 1) by adaptive quad on [-Z_MAX, Z_MAX]."""
    pts = sorted(set(p for p in tuple(points) + GAUSS_BREAKS if -Z_MAX < p < Z_MAX))
    val, err = integrate.quad(lambda z: _phi(z) * fun(z), -Z_MAX, Z_MAX,
                              points=pts or None, epsabs=epsabs, epsrel=epsrel,
                              limit=QUAD_LIMIT)
    return val, err


# --------------------------------------------------------------------------
# The functional, level by level: returns (E, E_z f_0(sqrt(q_0) z), quad error)
# --------------------------------------------------------------------------

def _mean_f0_level0(chi, kappa, epsabs):
    a = math.sqrt(2.0 * chi)
    # piece z <= kappa: f_0 = 0 identically.
    mid, e1 = integrate.quad(lambda z: -_phi(z) * (z - kappa) ** 2 / (2.0 * chi),
                             kappa, kappa + a, epsabs=epsabs, epsrel=1e-12,
                             limit=QUAD_LIMIT)
    tail, e2 = integrate.quad(lambda z: -_phi(z), kappa + a, np.inf,
                              epsabs=epsabs, epsrel=1e-12, limit=QUAD_LIMIT)
    return mid + tail, e1 + e2


def _mean_f0_level1(chi, q0, x0, kappa, epsabs):
    sq = math.sqrt(q0)
    s2 = 1.0 - q0
    a = math.sqrt(2.0 * chi)
    return _gauss_expect(lambda z: closed_innermost(sq * z, chi, s2, x0, kappa),
                         points=(kappa / sq, (kappa + a) / sq), epsabs=epsabs)


def _mean_f0_level2(chi, q0, q1, x0, x1, kappa, epsabs):
    sq0 = math.sqrt(q0)
    sig = math.sqrt(q1 - q0)
    s2 = 1.0 - q1
    a = math.sqrt(2.0 * chi)
    inner_eps = epsabs * 1e-1
    err_inner = [0.0]

    def f0(h):
        # inner quad: (1/x0) ln E_z exp(x0 f_1(h + sig z)), f_1 in closed form
        val, err = _gauss_expect(
            lambda z: math.exp(x0 * closed_innermost(h + sig * z, chi, s2, x1, kappa)),
            points=((kappa - h) / sig, (kappa + a - h) / sig), epsabs=inner_eps)
        err_inner[0] = max(err_inner[0], err / (x0 * val))
        return math.log(val) / x0

    val, err = _gauss_expect(lambda z: f0(sq0 * z),
                             points=(kappa / sq0, (kappa + a) / sq0), epsabs=epsabs)
    return val, err + err_inner[0]


def functional(alpha, level, chi, q=(), x=(), kappa=0.0, epsabs=1e-10):
    """E_level(alpha; chi, q, x) -> (E, E_z f_0(sqrt(q_0) z), quad error est.)."""
    if level == 0:
        m, err = _mean_f0_level0(chi, kappa, epsabs)
        S = -0.5 / chi
    elif level == 1:
        m, err = _mean_f0_level1(chi, q[0], x[0], kappa, epsabs)
        S = sphere(chi, q, x)
    elif level == 2:
        m, err = _mean_f0_level2(chi, q[0], q[1], x[0], x[1], kappa, epsabs)
        S = sphere(chi, q, x)
    else:
        raise ValueError("the SciPy baseline implements levels 0, 1, 2 only")
    return S - alpha * m, m, alpha * err


# --------------------------------------------------------------------------
# Parametrisations
# --------------------------------------------------------------------------

def _to_natural(theta, r):
    """Unconstrained theta -> (chi, q, x)."""
    chi = math.exp(theta[0])
    logits = np.append(np.asarray(theta[1:1 + r], float), 0.0)
    w = np.exp(logits - logits.max())
    w /= w.sum()
    q = np.cumsum(w)[:r]
    x = np.cumsum(np.exp(np.asarray(theta[1 + r:1 + 2 * r], float)))
    return chi, q, x


def _to_theta(chi, q, x):
    r = len(q)
    qq = np.append(np.asarray(q, float), 1.0)
    w = np.diff(np.concatenate([[0.0], qq]))
    logits = np.log(w[:r]) - math.log(w[r])
    b = np.log(np.diff(np.concatenate([[0.0], np.asarray(x, float)])))
    return np.concatenate([[math.log(chi)], logits, b])


def _pack(chi, q, x):
    return np.concatenate([[chi], np.asarray(q, float), np.asarray(x, float)])


def _unpack(p, r):
    return float(p[0]), [float(v) for v in p[1:1 + r]], [float(v) for v in p[1 + r:1 + 2 * r]]


def _valid(p, r):
    chi, q, x = _unpack(p, r)
    qq = [0.0] + q + [1.0]
    xx = [0.0] + x
    return (chi > 0 and all(qq[i] < qq[i + 1] for i in range(r + 1))
            and all(xx[i] < xx[i + 1] for i in range(r)))


# --------------------------------------------------------------------------
# Maximisation over the parameters
# --------------------------------------------------------------------------

FD_STEP = 1e-5      # central-difference step for the gradient (natural params)
FD_STEP_HESS = 1e-4  # step for the Hessian


def _fd_grad(fun, p, h=FD_STEP):
    g = np.empty_like(p)
    for i in range(len(p)):
        e = np.zeros_like(p)
        e[i] = h
        g[i] = (fun(p + e) - fun(p - e)) / (2.0 * h)
    return g


def _fd_hess(fun, p, h=FD_STEP_HESS, f0=None):
    n = len(p)
    f0 = fun(p) if f0 is None else f0
    H = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h
        H[i, i] = (fun(p + ei) - 2.0 * f0 + fun(p - ei)) / h ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h
            H[i, j] = H[j, i] = (fun(p + ei + ej) - fun(p + ei - ej)
                                 - fun(p - ei + ej) + fun(p - ei - ej)) / (4 * h * h)
    return H


def _maximise(alpha, r, start, kappa, epsabs, simplex_step, explore=True,
              jac_hessian=None, final_hessian=True, nm_maxfev=3000):
    """Maximise E_r: Nelder-Mead (optional) then root on grad E = 0.

    Returns (p, grad, hessian, hessian_at_final_point, counters).  The root
    step uses ``jac_hessian`` (a Hessian from a nearby point: chord Newton) when
    given, else a fresh central-FD Hessian at the Nelder-Mead point.
    """
    nfev = [0]

    def E_nat(p):
        if not _valid(p, r):
            return -np.inf
        chi, q, x = _unpack(p, r)
        nfev[0] += 1
        return functional(alpha, r, chi, q, x, kappa, epsabs)[0]

    def negE_theta(th):
        chi, q, x = _to_natural(th, r)
        if not _valid(_pack(chi, q, x), r):
            return np.inf
        nfev[0] += 1
        return -functional(alpha, r, chi, list(q), list(x), kappa, epsabs)[0]

    info = {}
    p0 = _pack(*start)
    if explore:
        th0 = _to_theta(*start)
        n = len(th0)
        simplex = np.vstack([th0] + [th0 + simplex_step * np.eye(n)[i] for i in range(n)])
        nm = optimize.minimize(negE_theta, th0, method="Nelder-Mead",
                               options=dict(initial_simplex=simplex, xatol=1e-5,
                                            fatol=1e-12, maxfev=nm_maxfev, adaptive=True))
        chi, q, x = _to_natural(nm.x, r)
        p0 = _pack(chi, q, x)
        info.update(nm_nfev=int(nm.nfev), nm_message=str(nm.message))

    # polish: the stationarity equations grad E = 0 (central FD gradients)
    grad = lambda p: _fd_grad(E_nat, p)
    H0 = _fd_hess(E_nat, p0) if jac_hessian is None else np.asarray(jac_hessian)
    g0 = grad(p0)
    sol = optimize.root(grad, p0, jac=lambda p: H0, method="hybr",
                        options=dict(xtol=1e-9, maxfev=25))
    g1 = grad(sol.x) if _valid(sol.x, r) else None
    if g1 is not None and np.linalg.norm(g1) <= np.linalg.norm(g0):
        p, g = sol.x, g1
    else:
        p, g = p0, g0
    info.update(root_success=bool(sol.success), root_message=str(sol.message).strip(),
                root_nfev=int(sol.nfev))
    if final_hessian:
        H, H_fresh = _fd_hess(E_nat, p), True
    else:
        H, H_fresh = H0, False
    info["nfev"] = nfev[0]
    return p, g, H, H_fresh, info


def _level0_chi(alpha, kappa, epsabs):
    """chi at the RS maximum: alpha * int_kappa^{kappa+a} (z-kappa)^2 phi dz = 1."""
    def g(a):
        v, _ = integrate.quad(lambda z: (z - kappa) ** 2 * _phi(z), kappa, kappa + a,
                              epsabs=epsabs * 1e-2, epsrel=1e-13, limit=QUAD_LIMIT)
        return alpha * v - 1.0
    if g(40.0) <= 0.0:
        return math.inf  # alpha below the SAT/UNSAT line: energy 0
    a = optimize.brentq(g, 1e-8, 40.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return 0.5 * a * a


def _default_start(level):
    """Cold start: a 1RSB-like shape (kappa = 0 published values), split for level 2."""
    start = (0.05, [0.78], [3.3])
    return start if level == 1 else _split(start)


def _split(start):
    """Level-1 (chi, [q0], [x0]) -> a non-degenerate level-2 start.

    The level-1 step q0 is split into q0' < q0 < q1' and x0 into x0' < x0 < x1';
    merged levels (q0' = q1' or x0' = x1') are stationary points too and must
    be avoided, so the split is deliberately wide.
    """
    chi, q, x = start
    q0, x0 = q[0], x[0]
    return 0.75 * chi, [0.95 * q0, q0 + 0.7 * (1.0 - q0)], [0.8 * x0, 1.6 * x0]


def energy(alpha, level, kappa=0.0, epsabs=1e-10, start=None, simplex_step=None,
           check_level_below=None, explore=None, jac_hessian=None, final_hessian=True):
    """Maximise E_level(alpha; chi, q, x) over the parameters.

    Returns a dict with ``energy``, ``params`` (``chi``, ``q``, ``x``),
    ``seconds``, ``mean_f0`` (E_z f_0(sqrt(q_0) z) = -dE/dalpha at the optimum)
    and ``diagnostics`` (``grad_norm``, ``hessian_max_eig``, ``quad_error``,
    function-evaluation counts and, at level 2, the non-degeneracy checks).

    ``start``: (chi, q, x) to start from; for level 2 a level-1 triple (one q,
    one x) is split into two levels automatically.  ``explore``: run
    Nelder-Mead before the stationarity root-find (default: always, except
    that a caller may skip it when ``start`` is a converged nearby solution).
    ``check_level_below``: at level 2, also maximise level 1 at the same alpha
    and require E_2 > E_1 (default True).
    """
    t0 = time.perf_counter()
    alpha = float(alpha)
    if level == 0:
        chi = _level0_chi(alpha, kappa, epsabs)
        if math.isinf(chi):
            return dict(energy=0.0, params=dict(chi=math.inf, q=[], x=[]), mean_f0=0.0,
                        seconds=time.perf_counter() - t0, level=0, alpha=alpha, kappa=kappa,
                        diagnostics=dict(grad_norm=0.0, hessian_max_eig=None, quad_error=0.0,
                                         note="SAT phase: energy 0"))
        E, m, err = functional(alpha, 0, chi, kappa=kappa, epsabs=epsabs)
        # d2E/dchi2 at the root of dE/dchi = (1 - alpha g(a)) / (2 chi^2), a = sqrt(2 chi)
        a = math.sqrt(2 * chi)
        hess = -alpha * a * _phi(kappa + a) / (2 * chi ** 2)
        return dict(energy=E, params=dict(chi=chi, q=[], x=[]), mean_f0=m,
                    seconds=time.perf_counter() - t0, level=0, alpha=alpha, kappa=kappa,
                    diagnostics=dict(grad_norm=0.0, hessian_max_eig=hess, quad_error=err,
                                     note=ACCURACY_NOTES[0]))
    if level not in (1, 2):
        raise ValueError("the SciPy baseline implements levels 0, 1, 2 only")

    if start is None:
        start = _default_start(level)
        if simplex_step is None:
            simplex_step = 0.3
    chi0, q0, x0 = start
    q0, x0 = [float(v) for v in q0], [float(v) for v in x0]
    start1 = (chi0, q0[:1], x0[:1])   # a level-1 start, for the comparison
    if len(q0) != level:
        if level == 2 and len(q0) == 1:
            start = _split((chi0, q0, x0))
            if simplex_step is None:
                simplex_step = 0.2
        else:
            raise ValueError("start must have len(q) == len(x) == level (or 1 at level 2)")
    else:
        start = (chi0, q0, x0)
    if simplex_step is None:
        simplex_step = 0.05
    if explore is None:
        explore = True
    p, g, H, H_fresh, info = _maximise(alpha, level, start, kappa, epsabs, simplex_step,
                                       explore=explore, jac_hessian=jac_hessian,
                                       final_hessian=final_hessian)
    chi, q, x = _unpack(p, level)
    E, m, err = functional(alpha, level, chi, q, x, kappa, epsabs)
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    diag = dict(grad_norm=float(np.linalg.norm(g)), hessian_max_eig=float(eig.max()),
                hessian_eigs=eig.tolist(), hessian_fresh=H_fresh, hessian=H.tolist(),
                quad_error=err, **info, note=ACCURACY_NOTES[level])
    if level == 2:
        gaps = dict(q1_minus_q0=q[1] - q[0], one_minus_q1=1.0 - q[1],
                    x1_minus_x0=x[1] - x[0], x0=x[0])
        diag["gaps"] = gaps
        diag["non_degenerate"] = bool(min(gaps.values()) > 1e-3 and eig.max() < 0)
        if check_level_below is None or check_level_below:
            e1 = energy(alpha, 1, kappa, epsabs, start=start1)
            diag["level1_energy"] = e1["energy"]
            diag["gain_over_level1"] = E - e1["energy"]
            diag["non_degenerate"] = diag["non_degenerate"] and E > e1["energy"]
    return dict(energy=E, params=dict(chi=chi, q=q, x=x), mean_f0=m,
                seconds=time.perf_counter() - t0, level=level, alpha=alpha, kappa=kappa,
                diagnostics=diag)


# Starting guesses for the threshold (kappa = 0 values; fine as starts elsewhere).
_ALPHA_GUESS = {0: 7.65, 1: 6.72, 2: 6.70}


def threshold(level, kappa=0.0, tol=1e-9, epsabs=1e-10, alpha0=None, start=None,
              method="newton", progress=None):
    """alpha_level with max E_level = 1.

    ``method="newton"`` (default): ``scipy.optimize.root_scalar`` Newton with
    the envelope-theorem derivative dE/dalpha = -E_z f_0 (no extra solve);
    ``"brentq"``: bracket the root, then ``scipy.optimize.brentq``.  Either
    way every energy evaluation is warm-started from the previous solution: the
    first maximisation runs Nelder-Mead + root, the later ones only the
    stationarity root-find, with the previous Hessian as its Jacobian.  The
    solution at the returned alpha gets a fresh FD Hessian for the check.

    At level 2 without ``start``, the level-1 threshold is solved first and its
    solution, split into two levels, is the start; the first alpha is alpha_1.

    Returns a dict with ``alpha``, ``energy``, ``params``, ``seconds``,
    ``evaluations`` ((alpha, E) pairs tried) and ``diagnostics``.
    """
    t0 = time.perf_counter()
    state = dict(start=start, last=None, H=None)
    trace = []
    extra = {}

    if level == 2 and state["start"] is None:
        r1 = threshold(1, kappa=kappa, tol=tol, epsabs=epsabs)
        state["start"] = (r1["params"]["chi"], r1["params"]["q"], r1["params"]["x"])
        state["start1"] = state["start"]
        extra.update(level1_alpha=r1["alpha"], level1_seconds=r1["seconds"])
        if alpha0 is None:
            alpha0 = r1["alpha"]
    if alpha0 is None:
        alpha0 = _ALPHA_GUESS[level]

    def solve(alpha, final=False):
        if level == 0:
            res = energy(alpha, 0, kappa, epsabs)
        else:
            first = state["H"] is None
            res = energy(alpha, level, kappa, epsabs, start=state["start"],
                         check_level_below=False, explore=first,
                         jac_hessian=state["H"], final_hessian=first or final)
            state["start"] = (res["params"]["chi"], res["params"]["q"], res["params"]["x"])
            if res["diagnostics"]["hessian_fresh"]:
                state["H"] = np.asarray(res["diagnostics"]["hessian"])
        state["last"] = res
        trace.append((alpha, res["energy"]))
        if progress:
            progress(f"  level {level}: alpha={alpha:.12f}  E={res['energy']:.13f}  "
                     f"({res['seconds']:.2f} s, {res['diagnostics'].get('nfev', '-')} E evals)")
        return res

    if method == "newton":
        def f(alpha):
            res = solve(alpha)
            return res["energy"] - 1.0, -res["mean_f0"]
        sol = optimize.root_scalar(f, x0=alpha0, fprime=True, method="newton",
                                   xtol=tol, rtol=0.0, maxiter=30)
        alpha = float(sol.root)
    elif method == "brentq":
        res = solve(alpha0)
        step = 0.02
        lo = hi = alpha0
        if res["energy"] > 1.0:
            while res["energy"] > 1.0:
                hi, lo = lo, lo - step
                res = solve(lo)
                step *= 2
        else:
            while res["energy"] < 1.0:
                lo, hi = hi, hi + step
                res = solve(hi)
                step *= 2
        alpha = float(optimize.brentq(lambda a: solve(a)["energy"] - 1.0, lo, hi,
                                      xtol=tol, rtol=4 * np.finfo(float).eps))
    else:
        raise ValueError(method)
    if level == 0:
        if state["last"]["alpha"] != alpha:
            solve(alpha)
    else:
        solve(alpha, final=True)   # the reported solution, with a fresh Hessian

    last = state["last"]
    diag = dict(last["diagnostics"])
    diag.pop("hessian", None)
    diag.update(extra)
    # first-order error of alpha implied by the quadrature error estimate
    diag["alpha_quad_error"] = diag["quad_error"] / abs(last["mean_f0"])
    if level == 2:
        # proper (non-degenerate) maximum: strictly above level 1 at alpha_2
        st1 = state.get("start1") or (last["params"]["chi"], last["params"]["q"][:1],
                                      last["params"]["x"][:1])
        e1 = energy(alpha, 1, kappa, epsabs, start=st1)
        diag["level1_energy_at_alpha"] = e1["energy"]
        diag["gain_over_level1"] = last["energy"] - e1["energy"]
        diag["non_degenerate"] = bool(diag["non_degenerate"] and diag["gain_over_level1"] > 0)
    return dict(alpha=alpha, energy=last["energy"], params=last["params"], level=level,
                kappa=kappa, seconds=time.perf_counter() - t0, evaluations=trace,
                diagnostics=diag)


def rs_closed_form_mean_f0(chi, kappa=0.0):
    """Self-check only: E_z f_0(z) at level 0 in closed form (erf)."""
    a = math.sqrt(2 * chi)
    def I2(u):
        # antiderivative of (u - kappa)^2 phi(u):
        # d/du [(k^2 + 1) Phi(u) - (u - 2k) phi(u)] = (u^2 - 2ku + k^2) phi(u)
        return (kappa * kappa + 1) * _Phi(u) - (u - 2 * kappa) * _phi(u)
    mid = I2(kappa + a) - I2(kappa)
    return -mid / (2 * chi) - _Phi(-(kappa + a))
