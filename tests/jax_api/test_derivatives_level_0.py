"""Level-0 threshold derivatives: vmap(grad), vmap(hessian) and every other way JAX differentiates,
against central finite differences; a start given, no start, under jit."""
import jax
import pytest

import jaxcap
from fd import H, alpha_of, check_batched, check_derivatives, slope_of


def test_vmapped_first_and_second_derivatives_level_0():
    check_batched(0)


def test_every_way_to_differentiate_agrees_level_0():
    """``grad(grad)``, ``jacrev(jacfwd)`` (reverse over forward; ``hessian`` is forward over reverse) and
    the derivative of the slope field give the same numbers as ``grad`` and ``hessian`` (all traced
    into one jitted program; ``grad`` outside ``jit``: test_grad_of_threshold_from_scratch)."""
    k = 0.25
    f = alpha_of(0)
    every = jax.jit(lambda v: (jax.grad(f)(v), jax.hessian(f)(v), jax.grad(jax.grad(f))(v),
                               jax.jacrev(jax.jacfwd(f))(v), jax.grad(slope_of(0))(v)))
    g1, g2, grad_grad, rev_fwd, of_slope = every(k)
    assert float(grad_grad) == pytest.approx(float(g2), rel=1e-10)
    assert float(rev_fwd) == pytest.approx(float(g2), rel=1e-10)
    # the slope is itself differentiable: its derivative is the second derivative
    assert float(of_slope) == pytest.approx(float(g2), rel=1e-8)
    check_derivatives(0, [k], [g1], [g2])


def test_dalpha_dkappa_from_a_start_matches_finite_differences():
    res = jaxcap.threshold(0, kappa=0.05)
    grad = float(jax.grad(lambda k: jaxcap.threshold(0, kappa=k, start=res).alpha)(0.05))
    plus = jaxcap.threshold(0, kappa=0.05 + H, start=res).alpha
    minus = jaxcap.threshold(0, kappa=0.05 - H, start=res).alpha
    assert grad == pytest.approx(res.dalpha_dkappa, rel=1e-10)
    assert grad == pytest.approx((plus - minus) / (2 * H), rel=1e-5)


def test_grad_of_threshold_from_scratch():
    """The form users write: no start, the whole chain runs inside the callback."""
    g = jax.grad(lambda k: jaxcap.threshold(0, kappa=k).alpha)(0.0)
    assert float(g) == pytest.approx(jaxcap.threshold(0).dalpha_dkappa, rel=1e-9)


def test_gradient_works_under_jit():
    g = jax.jit(jax.grad(lambda k: jaxcap.threshold(0, kappa=k).alpha))(0.2)
    assert float(g) == pytest.approx(jaxcap.threshold(0, kappa=0.2).dalpha_dkappa, rel=1e-10)
