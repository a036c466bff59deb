"""Bad input: one line on stderr naming the option, exit code 2, nothing on stdout, no traceback."""
import pytest

BAD = [
    (("threshold", "--level", "-1"), "--level"),
    (("threshold", "--level", "1.5"), "--level"),
    (("threshold", "--level", "x"), "--level"),
    (("threshold",), "--level"),
    (("threshold", "--level", "1", "--kappa", "nan"), "--kappa"),
    (("threshold", "--level", "1", "--kappa", "inf"), "--kappa"),
    (("threshold", "--level", "1", "--kappa", "-inf"), "--kappa"),
    (("threshold", "--level", "1", "--nodes", "4"), "--nodes"),
    (("threshold", "--level", "1", "--engine", "magic"), "--engine"),
    (("energy", "--alpha", "0", "--level", "1"), "--alpha"),
    (("energy", "--alpha", "-3", "--level", "1"), "--alpha"),
    (("energy", "--alpha", "nan", "--level", "1"), "--alpha"),
    (("energy", "--level", "1"), "--alpha"),
    (("rs", "--alpha", "5", "--beta", "0"), "--beta"),
    (("rs", "--beta", "2"), "--alpha"),
    (("dat", "--spacing", "-0.1"), "--spacing"),
    (("dat", "--kappa", "nan"), "--kappa"),
    (("frsb", "--max-level", "2"), "--max-level"),
    (("curve", "--level", "0", "--kappa-from", "1", "--kappa-to", "0", "--points", "3"), "--kappa-to"),
    (("sweep", "--level", "0", "--kappa-from", "0", "--kappa-to", "1", "--points", "1"), "--points"),
    (("nonsense",), "nonsense"),
]


@pytest.mark.parametrize("argv,needle", BAD, ids=lambda a: " ".join(a) if isinstance(a, tuple) else a)
def test_bad_input_exit_2(jaxcap_cli, argv, needle):
    run = jaxcap_cli(*argv)
    assert run.code == 2, run
    assert len(run.lines()) == 1 and run.lines()[0].startswith("jaxcap: error:"), run
    assert needle in run.lines()[0], run
    assert "Traceback" not in run.err and run.out == ""


@pytest.mark.parametrize("argv", [
    ("threshold", "--level", "0", "--kappa", "-1e6"),
    ("threshold", "--level", "0", "--kappa=-3"),
    ("threshold", "--level", "0", "--kappa", "-.5"),
    ("threshold", "--level", "0", "--kappa", "-5E-1"),
    ("sweep", "--level", "0", "--kappa-from", "-1e-1", "--kappa-to", "-0.05", "--points", "3"),
    ("sat", "--kappa", "-2.5e0"),
])
def test_negative_numbers_in_any_notation_are_values(jaxcap_cli, argv):
    run = jaxcap_cli(*argv, dry_run=True)
    assert run.code == 0, run
