"""Implicit derivatives (envelope theorem) against central finite differences."""

import jax
import numpy as np
import pytest

import jaxcap

H = 1e-3


@pytest.mark.parametrize("level", [0, 1])   # level 2, and second derivatives: jax_api/test_derivatives_level_*.py
def test_dalpha_dkappa_matches_finite_differences(level):
    res = jaxcap.threshold(level, kappa=0.05)
    grad = float(jax.grad(lambda k: jaxcap.threshold(level, kappa=k, start=res).alpha)(0.05))
    plus = jaxcap.threshold(level, kappa=0.05 + H, start=res).alpha
    minus = jaxcap.threshold(level, kappa=0.05 - H, start=res).alpha
    fd = (plus - minus) / (2 * H)
    assert grad == pytest.approx(res.dalpha_dkappa, rel=1e-10)
    assert grad == pytest.approx(fd, rel=1e-5)


def test_energy_gradient_in_alpha_and_kappa():
    alpha, kappa = 7.0, 0.1
    res = jaxcap.energy(alpha, 1, kappa=kappa)
    da, dk = jax.grad(lambda a, k: jaxcap.energy(a, 1, kappa=k).energy, argnums=(0, 1))(alpha, kappa)
    fd_a = (jaxcap.energy(alpha + H, 1, kappa=kappa, start=res).energy
            - jaxcap.energy(alpha - H, 1, kappa=kappa, start=res).energy) / (2 * H)
    fd_k = (jaxcap.energy(alpha, 1, kappa=kappa + H, start=res).energy
            - jaxcap.energy(alpha, 1, kappa=kappa - H, start=res).energy) / (2 * H)
    assert float(da) == pytest.approx(fd_a, rel=1e-5)
    assert float(dk) == pytest.approx(fd_k, rel=1e-5)


def test_grad_of_threshold_from_scratch():
    """The form users write: no start, the whole chain runs inside the callback."""
    g = jax.grad(lambda k: jaxcap.threshold(0, kappa=k).alpha)(0.0)
    assert float(g) == pytest.approx(jaxcap.threshold(0).dalpha_dkappa, rel=1e-9)


def test_gradient_works_under_jit():
    g = jax.jit(jax.grad(lambda k: jaxcap.threshold(0, kappa=k).alpha))(0.2)
    assert float(g) == pytest.approx(jaxcap.threshold(0, kappa=0.2).dalpha_dkappa, rel=1e-10)

