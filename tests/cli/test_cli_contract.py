"""The command line's contract: every input ends in exit 0, 2 or 3, never a traceback; with ``--json``
stdout is strict JSON; outputs are checked before any work, and a write that still fails at the end
leaves the results printed and says so in the exit code.

The property-based test draws command lines from a grammar of valid, invalid and extreme values per
subcommand.  Long solves are never run: commands that are cheap at every value drawn (``sat``, level-0
``threshold``/``energy`` at moderate ``κ``, a tiny ``finite``) run for real, the others are parsed
and validated only (``main(argv, dry_run=True)``: values, output paths, matplotlib).
"""
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxcap.cli import main
from jaxcap.cli.errors import EXIT_WRITE_FAILED


def test_matplotlib_missing_is_bad_input_before_any_work(jaxcap_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import matplotlib -> ImportError
    for argv in (["table", "--max-level", 0], ["frsb", "--max-level", 3], ["finite", "--n", 2, "--alphas", 3,
                                                                            "--trials", 1]):
        run = jaxcap_cli(*argv, "--plot", tmp_path / "x.png")
        assert run.code == 2 and "matplotlib" in run.err and len(run.lines()) == 1, run
        assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("plot,needle", [("x.nosuchformat", "must end in one of"), ("missing/x.png", "does not exist"),
                                         (".", "is a directory")])
def test_unusable_plot_paths_are_refused_before_any_work(jaxcap_cli, tmp_path, plot, needle):
    run = jaxcap_cli("frsb", "--max-level", 3, "--plot", tmp_path / plot)
    assert run.code == 2 and "--plot" in run.err and needle in run.err and len(run.lines()) == 1, run


def test_a_write_failing_at_the_end_keeps_the_results(jaxcap_cli, tmp_path, monkeypatch):
    from jaxcap.cli import plotting

    def full_disk(path, *data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plotting, "kappa_curve", full_disk)
    run = jaxcap_cli("sweep", "--level", 0, "--kappa-from", 0, "--kappa-to", 0.1, "--points", 2, "--json",
                     "--plot", tmp_path / "x.png")
    assert run.code == EXIT_WRITE_FAILED, run
    assert len(run.json()["results"]) == 2                        # printed before the write
    assert "--plot" in run.lines()[-1] and "No space left" in run.lines()[-1]


def test_help_exits_0(jaxcap_cli):
    run = jaxcap_cli("--help")
    assert run.code == 0 and "exit codes:" in run.out and "130" in run.out


# ---------------------------------------------------------------------------------------------
# the grammar

VALID_FLOATS = ["0", "1", "-1", "0.5", "-.5", ".25", "+2", "1e-3", "-1e6", "1E2", "3.", "1_0", " 2 ", "1e300",
                "-1e300", "5e-324", "2.5e-1"]
BAD_FLOATS = ["nan", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "abc", "", "0x10", "1,5", "--", "-",
              "1e", "e3", "½", "1 2"]
VALID_INTS = ["0", "1", "2", "3", "8", "+3", "007", "1_000", "99999999999999999999999"]
BAD_INTS = ["-1", "-0.5", "1.5", "x", "", "1e3", "nan", "0x3", "--", "2.0"]
PATHS = ["{tmp}/out.png", "{tmp}/out.json", "{tmp}/missing/out.png", "{tmp}", "/dev/null", "{tmp}/o.nosuchformat",
         "/proc/x.png", ""]

floats = st.sampled_from(VALID_FLOATS + BAD_FLOATS) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
ints = st.sampled_from(VALID_INTS + BAD_INTS) | st.integers(-10, 10 ** 12).map(str)
paths = st.sampled_from(PATHS)
levels = st.just("0") | ints                      # level 0 often: cheap enough to run for real
small = st.sampled_from(["1", "2", "3"]) | ints
alphas = st.lists(st.sampled_from(["2", "4", "6.5", "-1", "0", "x", "nan", "1e300", ""]), min_size=1,
                  max_size=3).map(",".join)

OPTIONS = {   # subcommand -> {option: values} (None: a flag)
    "threshold": {"--level": levels, "--kappa": floats, "--engine": st.sampled_from(["grid", "tensor", "magic"]),
                  "--nodes": ints, "--spacing": floats, "--json": None},
    "energy": {"--alpha": floats, "--level": levels, "--kappa": floats, "--spacing": floats, "--json": None},
    "table": {"--max-level": ints, "--kappa": floats, "--plot": paths, "--json": None, "--finite-n": small,
              "--finite-trials": small},
    "frsb": {"--max-level": ints, "--kappa": floats, "--engine": st.sampled_from(["grid", "tensor"]),
             "--checkpoint": paths, "--plot": paths, "--json": None},
    "sat": {"--kappa": floats, "--json": None},
    "dat": {"--kappa": floats, "--spacing": floats, "--json": None},
    "rs": {"--alpha": floats, "--beta": floats, "--kappa": floats, "--spacing": floats, "--json": None},
    "sweep": {"--level": ints, "--kappa-from": floats, "--kappa-to": floats, "--points": ints, "--chunk": ints,
              "--coarse": ints, "--newton-iters": ints, "--cpu-devices": ints, "--checkpoint": paths, "--plot": paths,
              "--hessian": st.sampled_from(["autodiff", "difference", "x"]), "--json": None},
    "curve": {"--level": ints, "--kappa-from": floats, "--kappa-to": floats, "--points": ints, "--plot": paths,
              "--json": None},
    "finite": {"--n": small, "--alphas": alphas, "--trials": small, "--seed": ints, "--workers": ints,
               "--method": st.sampled_from(["auto", "enumerate", "milp", "x"]), "--plot": paths, "--json": None},
    "bench": {"--quick": None, "--out": paths, "--tasks": st.sampled_from(["threshold-L0", "nonsense", ""]),
              "--json": None},
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(OPTIONS) + ["nonsense", ""]))
    argv = [command] if command else []
    for option, values in OPTIONS.get(command, {}).items():
        if draw(st.booleans()):
            if values is None:
                argv.append(option)
            elif draw(st.booleans()):
                argv += [option, draw(values)]
            else:
                argv.append(f"{option}={draw(values)}")
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--bogus", "-x", "7", "--json"])))
    return argv


def _moderate(text: str, lo: float, hi: float) -> bool:
    try:
        return lo <= float(text) <= hi
    except ValueError:
        return False


def _cheap(argv) -> bool:
    """Command lines that finish in well under a second at every value the grammar draws."""
    values = dict(zip(argv, argv[1:]))
    flat = {k: v for a in argv if "=" in a for k, v in [a.split("=", 1)]}
    values.update(flat)
    if not argv:
        return False
    if argv[0] == "sat":
        return True
    if argv[0] in ("threshold", "energy"):
        return (values.get("--level") in ("0", "+0", "000") and _moderate(values.get("--kappa", "0"), -3, 3)
                and _moderate(values.get("--alpha", "8"), 2.5, 50))
    if argv[0] == "finite":
        return (values.get("--n") in ("1", "2", "3") and values.get("--trials") in ("1", "2", "3")
                and values.get("--workers", "1") == "1" and "--plot" not in values)
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(argv=command_lines())
def test_every_command_line_keeps_the_contract(argv, capfd, tmp_path_factory):
    tmp = tmp_path_factory.getbasetemp() / "fuzz"
    tmp.mkdir(exist_ok=True)
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    cheap = _cheap(argv)
    capfd.readouterr()
    code = main(argv, dry_run=not cheap)
    out, err = capfd.readouterr()
    assert code in (0, 2, 3), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        lines = [l for l in err.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("jaxcap: error: "), (argv, err)
        assert out == "", (argv, out)
    if cheap and "--json" in argv and code in (0, 3):
        json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON of {argv}"))
        assert out.count("\n") == 1, (argv, out)
