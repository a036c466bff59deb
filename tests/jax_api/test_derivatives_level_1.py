"""Level-1 derivatives, first and second order, against central finite differences: thresholds
(vmapped) and the energy in alpha and kappa (from a start)."""
import jax
import pytest

import jaxcap
from fd import H, check_batched


def test_vmapped_first_and_second_derivatives_level_1():
    check_batched(1)


def test_energy_gradient_in_alpha_and_kappa():
    alpha, kappa = 7.0, 0.1
    res = jaxcap.energy(alpha, 1, kappa=kappa)
    da, dk = jax.jit(jax.grad(lambda a, k: jaxcap.energy(a, 1, kappa=k).energy, argnums=(0, 1)))(alpha, kappa)
    fd_a = (jaxcap.energy(alpha + H, 1, kappa=kappa, start=res).energy
            - jaxcap.energy(alpha - H, 1, kappa=kappa, start=res).energy) / (2 * H)
    fd_k = (jaxcap.energy(alpha, 1, kappa=kappa + H, start=res).energy
            - jaxcap.energy(alpha, 1, kappa=kappa - H, start=res).energy) / (2 * H)
    assert float(da) == pytest.approx(fd_a, rel=1e-5)
    assert float(dk) == pytest.approx(fd_k, rel=1e-5)
