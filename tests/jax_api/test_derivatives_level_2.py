"""Level-2 threshold derivatives (unbatched grad and hessian), against central finite differences."""
import jax
import pytest

from fd import alpha_of, check_derivatives


@pytest.mark.parametrize("kappa", [-0.5, 0.5])
def test_first_and_second_derivatives_level_2(kappa):
    first = jax.grad(alpha_of(2))(kappa)
    second = jax.hessian(alpha_of(2))(kappa)
    check_derivatives(2, [kappa], [first], [second])
