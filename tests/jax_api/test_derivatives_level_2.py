"""Level-2 threshold derivatives (unbatched grad and hessian, jitted), against central finite differences."""
import pytest

from fd import check_derivatives, first_and_second

derivatives = first_and_second(2)


@pytest.mark.parametrize("kappa", [0.0, 0.5])  # 0 first: the traced engine's own middle solve
def test_first_and_second_derivatives_level_2(kappa):
    first, second = derivatives(kappa)
    check_derivatives(2, [kappa], [first], [second])
