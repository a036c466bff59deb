"""Level-0 threshold derivatives: vmap(grad), vmap(hessian) and every other way JAX differentiates,
against central finite differences."""
import jax
import pytest

from fd import alpha_of, check_batched, check_derivatives, slope_of


def test_vmapped_first_and_second_derivatives_level_0():
    check_batched(0)


def test_every_way_to_differentiate_agrees_level_0():
    """``grad(grad)``, ``jacfwd(jacrev)``, ``jacrev(jacfwd)``, ``jacfwd`` and the derivative of the
    slope field give the same numbers as ``grad`` and ``hessian`` (each compiles its own programs:
    level 0 keeps that cheap)."""
    k = 0.25
    f = alpha_of(0)
    g1, g2 = jax.grad(f)(k), jax.hessian(f)(k)
    assert float(jax.grad(jax.grad(f))(k)) == pytest.approx(float(g2), rel=1e-10)
    assert float(jax.jacfwd(jax.jacrev(f))(k)) == pytest.approx(float(g2), rel=1e-10)
    assert float(jax.jacrev(jax.jacfwd(f))(k)) == pytest.approx(float(g2), rel=1e-10)
    assert float(jax.jacfwd(f)(k)) == pytest.approx(float(g1), rel=1e-12)
    # the slope is itself differentiable: its derivative is the second derivative
    assert float(jax.grad(slope_of(0))(k)) == pytest.approx(float(g2), rel=1e-8)
    check_derivatives(0, [k], [g1], [g2])
