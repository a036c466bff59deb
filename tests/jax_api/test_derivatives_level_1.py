"""Level-1 threshold derivatives, first and second order, against central finite differences."""
from fd import check_batched


def test_vmapped_first_and_second_derivatives_level_1():
    check_batched(1)
