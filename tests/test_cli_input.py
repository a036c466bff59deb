"""Bad input: one line on stderr, exit code 2, no traceback (DESIGN §5)."""
import pytest

BAD = [
    ("threshold", "--level", "-1"),
    ("threshold", "--level", "1.5"),
    ("threshold", "--level", "x"),
    ("threshold",),
    ("threshold", "--level", "1", "--kappa", "nan"),
    ("threshold", "--level", "1", "--kappa", "inf"),
    ("threshold", "--level", "1", "--nodes", "4"),
    ("threshold", "--level", "1", "--engine", "magic"),
    ("energy", "--alpha", "0", "--level", "1"),
    ("energy", "--alpha", "-3", "--level", "1"),
    ("energy", "--alpha", "nan", "--level", "1"),
    ("energy", "--level", "1"),
    ("rs", "--alpha", "5", "--beta", "0"),
    ("rs", "--beta", "2"),
    ("dat", "--spacing", "-0.1"),
    ("dat", "--kappa", "nan"),
    ("nonsense",),
]


@pytest.mark.parametrize("args", BAD, ids=lambda a: " ".join(a))
def test_bad_input_exit_2(cli, args):
    out = cli(*args)
    assert out.returncode == 2, out
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("jaxcap: error:"), out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
