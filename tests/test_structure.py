"""The ground state of a solution (``jaxcap.structure``, ``docs/theory.md#structure``): the fractions sum to 1,
``α P(positive)`` is the energy, the level-0 closed forms, an independent quadrature at level 1, the
engines agree, the Parisi step function is the parameters', the contacts decrease along the
zero-energy line, the κ-derivatives match finite differences."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

import jaxcap
from jaxcap._src.structure import REGIONS, parisi_step, structure
from jaxcap._src.structure_limits import StructureSequence, contacts_limit, parisi_curve, parisi_limit
from jaxcap._src.zero_energy import sat_chain

#: One grid of fields for every structure here (one compiled program per engine): spacing 0.01.
_H = np.linspace(-9.0, 9.0, 1801)


@pytest.fixture(scope="module")
def thresholds():
    """Levels 0 and 1 at the injectivity threshold (κ = 0)."""
    return list(jaxcap.threshold_chain(1, kappa=0.0))


@pytest.fixture(scope="module")
def line():
    """Levels 0–2 of the zero-energy line at κ = 0.5."""
    return list(sat_chain(2, 0.5))


@pytest.fixture(scope="module")
def structures(thresholds, line):
    solved = [("threshold", r) for r in thresholds] + [("sat", r) for r in line]
    return {(kind, r.level): structure(r, h=_H) for kind, r in solved}


def test_fractions_sum_to_one_and_alpha_positive_is_the_energy(structures):
    for key, s in structures.items():
        assert sum(s.fractions.values()) == pytest.approx(1.0, abs=1e-12), key
        assert min(s.fractions.values()) >= 0.0, key
        assert s.alpha_positive == pytest.approx(s.energy, abs=1e-9), key
        assert s.contacts_per_dimension == pytest.approx(s.alpha * s.fractions["contact"], rel=1e-14)
        assert s["contacts_per_dimension"] == s.contacts_per_dimension
    for r in (0, 1):
        assert structures["threshold", r].alpha_positive == pytest.approx(1.0, abs=1e-9)
        assert structures["sat", r].fractions["positive"] == 0.0


def test_energy_results_too():
    res = jaxcap.energy(7.0, 0, kappa=0.2)
    s = structure(res, h=_H)
    assert s.alpha_positive == pytest.approx(float(res.energy), abs=1e-9)
    assert sum(s.fractions.values()) == pytest.approx(1.0, abs=1e-14)


def test_level0_closed_forms(thresholds):
    s = structure(thresholds[0], h=_H)
    assert s.contacts_per_dimension == pytest.approx(thresholds[0].alpha / 2 - 1, abs=1e-9)
    chi = thresholds[0].params["chi"]
    assert s.fractions["contact"] == pytest.approx(norm.cdf(math.sqrt(2 * chi)) - 0.5, abs=1e-14)
    for kappa in (-0.5, 0.0, 0.5, 1.5):
        res = jaxcap.sat(kappa, 0)
        assert structure(res, h=_H).contacts_per_dimension == pytest.approx(res.alpha * norm.cdf(-kappa), rel=1e-13)
    assert structure(jaxcap.sat(0.0, 0), h=_H).contacts_per_dimension == pytest.approx(1.0, abs=1e-12)   # isostatic


def _last_step_probabilities(d, chi, s2, m, hinge):
    """The three region probabilities of the last step, written out again in NumPy/SciPy from
    ``docs/theory.md#leaf`` (no code shared with ``jaxcap._src.leaf``)."""
    s = math.sqrt(s2)
    if hinge:
        c = 1.0 + m * s2
        terms = [norm.cdf(-d / s), np.exp(-m * d**2 / (2 * c)) / math.sqrt(c) * norm.cdf(d / (s * math.sqrt(c))),
                 0.0 * d]
    else:
        a, big_a = math.sqrt(2 * chi), 1.0 / s2 + m / chi
        b = d / (s2 * math.sqrt(big_a))
        middle = (np.exp(-m * d**2 / (2 * (chi + m * s2))) / (s * math.sqrt(big_a))
                  * (norm.cdf(math.sqrt(big_a) * a - b) - norm.cdf(-b)))
        terms = [norm.cdf(-d / s), middle, math.exp(-m) * norm.cdf((d - a) / s)]
    terms = np.stack(terms)
    return terms / terms.sum(axis=0)


def _quadrature_fractions(res, hinge):
    """Level 1 by Gauss–Legendre quadrature (400 nodes on each side of κ, over 12 standard deviations) of
    the last step against ``h_0 ~ N(0, q_0)``: independent of the engines and of ``jaxcap._src.leaf``."""
    q0 = res.params["q"][0]
    m = res.params["y" if hinge else "x"][0]
    chi = 1.0 if hinge else res.params["chi"]
    kappa, width = float(res.kappa), 12.0 * math.sqrt(q0)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    h, w = [], []
    for lo, hi in ((-width, kappa), (kappa, width)):
        h.append(0.5 * (hi - lo) * nodes + 0.5 * (hi + lo))
        w.append(0.5 * (hi - lo) * weights)
    h, w = np.concatenate(h), np.concatenate(w)
    return list(_last_step_probabilities(h - kappa, chi, 1.0 - q0, m, hinge) @ (w * norm.pdf(h, 0.0, math.sqrt(q0))))


def test_level1_against_quadrature(thresholds, line, structures):
    for kind, res, hinge in (("threshold", thresholds[1], False), ("sat", line[1], True)):
        expected = _quadrature_fractions(res, hinge)
        got = [structures[kind, 1].fractions[k] for k in REGIONS]
        assert got == pytest.approx(expected, abs=1e-10), kind


def test_grid_and_tensor_engines_agree(thresholds, line, structures):
    for kind, res in (("threshold", thresholds[1]), ("sat", line[1])):
        grid, tensor = structures[kind, 1], structure(res, h=_H, engine="tensor")
        assert tensor.contacts_per_dimension == pytest.approx(structures[kind, 1].contacts_per_dimension, abs=1e-9)
        for k in REGIONS:
            assert tensor.fractions[k] == pytest.approx(grid.fractions[k], abs=1e-10)
        assert tensor.moments["mean_u"] == pytest.approx(grid.moments["mean_u"], abs=1e-9)
        assert tensor.density["h_density"] == pytest.approx(grid.density["h_density"], abs=1e-8)


def test_density_normalised_with_the_moments(structures):
    """On the grid of spacing 0.01 the density of ``h`` integrates to 1 with mean ``mean_h``; the continuous
    part of the law of ``u*`` plus its atom at ``κ`` integrates to 1 with mean ``mean_u`` (the density has
    kinks, and the law of ``u*`` jumps, at the region edges: the trapezoid rule's error there)."""
    for key in (("threshold", 0), ("threshold", 1), ("sat", 1), ("sat", 2)):
        s = structures[key]
        h, dens, dens_u = (np.asarray(s.density[k]) for k in ("h", "h_density", "u_density"))
        atom = s.density["contact_atom"]
        assert atom == s.fractions["contact"]
        assert np.trapezoid(dens, h) == pytest.approx(1.0, abs=2e-5), key
        assert np.trapezoid(h * dens, h) == pytest.approx(s.moments["mean_h"], abs=2e-5), key
        assert np.trapezoid(dens_u, h) + atom == pytest.approx(1.0, abs=5e-3), key
        assert np.trapezoid(h * dens_u, h) + atom * s.kappa == pytest.approx(s.moments["mean_u"], abs=5e-3), key


def _floats(values) -> list:
    """A parameter array as the list of floats the structure reports."""
    return [float(v) for v in np.atleast_1d(values)]


def test_parisi_step_function_matches_params(thresholds, line, structures):
    s = structures["threshold", 1]
    assert s.parisi == {"x": _floats(thresholds[1].params["x"]), "q": _floats(thresholds[1].params["q"])}
    x0, q0 = s.parisi["x"][0], s.parisi["q"][0]
    assert list(s.parisi_at([0.5 * x0, x0, 1.5 * x0])) == [q0, q0, 1.0]
    t = structures["sat", 2]
    assert t.variable == "y" and t.parisi == {"x": _floats(line[2].params["y"]), "q": _floats(line[2].params["q"])}
    (y0, y1), (p0, p1) = t.parisi["x"], t.parisi["q"]
    assert list(parisi_step(t.parisi["x"], t.parisi["q"], [0.1 * y0, 0.5 * (y0 + y1), 2 * y1])) == [p0, p1, 1.0]
    assert structures["sat", 0].parisi == {"x": [], "q": []}
    assert list(parisi_curve(t, [0.0, y1, 3 * y1])) == [p0, 1.0, 1.0]


def test_contacts_decrease_along_the_zero_energy_line(structures):
    c = [structures["sat", r].contacts_per_dimension for r in (0, 1, 2)]
    assert c[0] > c[1] > c[2] > 1.0


def test_the_sequence_is_a_pytree_with_its_fits_static(line, structures):
    import jax
    levels = [structures["sat", r] for r in (0, 1, 2)]
    seq = StructureSequence(kappa=0.5, sat=True, results=tuple(line), structures=tuple(levels),
                            fit={}, parisi=parisi_limit(levels))
    assert not any(isinstance(v, str) for v in jax.tree.leaves(seq))
    same = jax.tree.map(lambda v: v, seq)
    assert seq.parisi["levels"] == [2, 1] and same.parisi == seq.parisi and same.fit == {} and same.sat
    assert same.levels == [0, 1, 2]
    assert same.contacts == seq.contacts and same.to_json() == seq.to_json()


def test_contacts_limit_reuses_the_extrapolation():
    levels = np.arange(1, 9)
    c = 1.0 + 0.3 * (levels + 0.5) ** -3.0
    fit = contacts_limit(levels, c)
    assert fit["contacts_per_dimension_inf"] == pytest.approx(1.0, abs=1e-6) and fit["direction"] == "decreasing"
    fit = contacts_limit(levels, 2.0 - c)
    assert fit["contacts_per_dimension_inf"] == pytest.approx(1.0, abs=1e-6) and fit["direction"] == "increasing"
    with pytest.raises(ValueError):
        contacts_limit([0, 1, 2], [3.0, 2.0, 1.5])


def test_kappa_derivatives_match_finite_differences():
    step = 1e-4
    for solve in (lambda k, **kw: jaxcap.threshold(0, kappa=k, **kw), lambda k, **kw: jaxcap.sat(k, 0)):
        centre = structure(solve(0.3), h=_H, derivatives=True)
        ahead, behind = structure(solve(0.3 + step), h=_H), structure(solve(0.3 - step), h=_H)
        fd = (ahead.contacts_per_dimension - behind.contacts_per_dimension) / (2 * step)
        assert centre.dcontacts_dkappa == pytest.approx(fd, abs=1e-6)
        for k in REGIONS:
            assert centre.dfractions_dkappa[k] == pytest.approx((ahead.fractions[k] - behind.fractions[k]) / (2 * step),
                                                                abs=1e-6)


@pytest.mark.slow
def test_kappa_derivative_at_level_1(thresholds):
    """Along the level-1 thresholds: the implicit-function-theorem derivative against central differences
    of warm-started solves."""
    res, step = thresholds[1], 1e-4
    centre = structure(res, h=_H, derivatives=True)
    ahead, behind = (structure(jaxcap.threshold(1, kappa=s, start=res), h=_H) for s in (step, -step))
    fd = (ahead.contacts_per_dimension - behind.contacts_per_dimension) / (2 * step)
    assert centre.dcontacts_dkappa == pytest.approx(fd, abs=1e-7)


def test_refuses_what_it_cannot_describe(thresholds):
    with pytest.raises(ValueError):
        structure(jaxcap.sweep([0.0, 0.1], 0))
    with pytest.raises(ValueError):
        structure("not a result")
    with pytest.raises(TypeError):
        structure(thresholds[1], colour="red")
