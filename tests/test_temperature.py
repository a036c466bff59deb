"""Finite temperature: RS free entropy, energy, replicon and the dAT line (jaxcap._src.temperature)."""
import math

import pytest
from scipy import integrate
from scipy.special import ndtr

import jaxcap
from jaxcap._src.temperature import dat_threshold, rs_free_entropy, rs_state

from conftest import DAT_ALPHA


@pytest.fixture(scope="module")
def dat():
    return dat_threshold(0.0)


def _channel_means(q, alpha, beta, kappa=0.0):
    """``α E[g²]``, ``α E[e^{−β}Φ(−t)/Z]`` and ``α(1−q)² E[g'²]`` by scipy quad, from closed-form derivatives of Z."""
    v, damp = 1.0 - q, -math.expm1(-beta)

    def parts(z):
        t = (kappa - math.sqrt(q) * z) / math.sqrt(v)
        density = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        zval = math.exp(-beta) + damp * ndtr(t)
        d1 = -damp * density / math.sqrt(v) / zval           # ∂_ω ln Z
        d2 = -damp * t * density / v / zval - d1 * d1         # ∂²_ω ln Z
        return d1 * d1, math.exp(-beta) * ndtr(-t) / zval, d2 * d2

    centre = kappa / math.sqrt(q)
    gauss = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    mean = lambda k: integrate.quad(lambda z: gauss(z) * parts(z)[k], -12, 12, points=[centre],
                                    limit=400, epsabs=1e-14, epsrel=1e-13)[0]
    return alpha * mean(0), alpha * mean(1), alpha * v * v * mean(2)


def test_dat_reproduces_published_value(dat):
    assert abs(dat["alpha"] - DAT_ALPHA) <= 1e-4
    d = dat["diagnostics"]
    assert max(abs(d[k]) for k in ("residual_stationarity", "residual_energy", "residual_replicon")) < 1e-11
    assert d["quad_error"] < 1e-9
    assert 0 < dat["q"] < 1 and dat["beta"] > 0


def test_dat_point_solves_the_equations_by_independent_quadrature(dat):
    q, beta, alpha = dat["q"], dat["beta"], dat["alpha"]
    g2, energy, replicon = _channel_means(q, alpha, beta)
    assert abs(q / (1 - q) ** 2 - g2) < 1e-8      # ∂_q φ = 0  ⇔  q/(1−q)² = α E[g²]
    assert abs(energy - 1.0) < 1e-9
    assert abs(replicon - 1.0) < 1e-8


def test_dat_slope_matches_finite_differences(dat):
    h = 1e-3
    fd = (dat_threshold(h)["alpha"] - dat_threshold(-h)["alpha"]) / (2 * h)
    assert abs(dat["dalpha_dkappa"] - fd) <= 1e-5 * abs(fd)


def test_rs_state_agrees_with_dat_point(dat):
    s = rs_state(dat["alpha"], dat["beta"])
    assert abs(s["q"] - dat["q"]) < 1e-9
    assert abs(s["energy"] - 1.0) < 1e-9
    assert abs(s["replicon"] - 1.0) < 1e-8
    assert s["entropy"] <= 0.0  # log of a volume fraction of the sphere


def test_energy_is_the_beta_derivative_of_the_free_entropy():
    alpha, beta, h = 5.0, 2.0, 1e-4
    phi = {b: rs_state(alpha, b)["free_entropy"] for b in (beta - h, beta + h)}
    assert abs(-(phi[beta + h] - phi[beta - h]) / (2 * h) - rs_state(alpha, beta)["energy"]) < 1e-7


def test_high_and_low_temperature_limits():
    alpha = 5.0
    hot = rs_state(alpha, 1e-4)
    assert abs(hot["energy"] - alpha * ndtr(0.0)) < 1e-3 and hot["q"] < 1e-3
    ground = jaxcap.energy(alpha, 0).energy  # zero-temperature RS functional (level 0)
    energies = {b: rs_state(alpha, b)["energy"] for b in (10.0, 20.0, 40.0)}
    assert energies[10.0] > energies[20.0] > energies[40.0] > ground
    for b, e in energies.items():  # e(β) − e_0 = O(1/β)
        assert 1.0 < b * (e - ground) < 1.5


def test_free_entropy_is_stationary_in_q():
    s = rs_state(4.0, 3.0)
    eps = 1e-5
    phi = lambda q: float(rs_free_entropy(q, 4.0, 3.0))
    assert abs(phi(s["q"] + eps) + phi(s["q"] - eps) - 2 * phi(s["q"])) > 0  # a curved function …
    assert abs(phi(s["q"] + eps) - phi(s["q"] - eps)) / (2 * eps) < 1e-8    # … with zero slope at q*
