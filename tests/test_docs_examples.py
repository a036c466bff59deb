"""Every example of README.md and docs/ runs, and shows what it prints.

The ```` ```python ```` blocks are collected and evaluated with Sybil
(https://sybil.readthedocs.io), one test per page, in page order, in this process (the pages
share compiled programs), with a fresh temporary working directory.

Conventions for the pages (HTML comments, invisible on the rendered page):

* Each ```` ```python ```` block runs in a fresh namespace. ``<!-- docs: continue -->`` on the
  line before a block runs it in the namespace of the page's previous Python block.
* ``expr  # text => VALUE`` on a top-level expression statement: ``expr`` evaluates to VALUE.
  The numbers of VALUE are compared, in order, with the numbers of the value (a tuple, list,
  dict, array or result field is read leaf by leaf, a dict in its own order); their count must
  match. Words and brackets in VALUE are not compared.
* A block that prints must be followed by an ```` ```output ```` block with what it prints.
  ``<!-- docs: illustrative -->`` before that block says the output is only an example (the
  page must say so in words too); it is then not compared.
* Shell blocks (```` ``` ````, ```` ```bash ````, ```` ```console ````, ```` ```sh ````): every
  ``jaxcap`` command line (also after ``python -m``, ``srun ...``, ``VAR=value``) that names
  concrete values is parsed and checked by ``jaxcap.cli.main(..., dry_run=True)``; a synopsis line
  (``[...]``, ``...``, ``|``, ``{``, ``<``, or an upper-case placeholder such as ``R`` or ``FILE``)
  must name only options of its subcommand. A concrete command is then run in this process at a
  small size (:data:`SMALL`: lower levels, two points, two trials, output files in a temporary
  directory). A ``$ jaxcap ...`` line is run as written instead, and the lines after it up to
  the next ``$`` line are its stdout, compared as an output block is.
  ``<!-- docs: output of jaxcap ... -->`` before a ```` ```json ```` or ```` ```output ```` block
  runs that command as written and compares its stdout with the block.
* ``<!-- docs: run by PATH -->`` before a shell block: its commands are long (or need several
  processes) and are run by the benchmark script or test PATH instead, whose text must name
  each command's subcommand and options; every ``benchmarks/*.py`` runs in
  ``tests/test_benchmark_scripts.py`` at its smallest size. ``python benchmarks/NAME.py`` lines
  need no marker: the script must exist and accept the options shown.
* Install, test-runner and launcher lines (``pip``, ``pytest``, ``mkdocs``, ``export``, ``cd``)
  are not examples and are not run.

Comparison "at the digits shown": a number shown with d decimals matches a computed one that
rounds to it (``|x - shown| <= 0.5e-d``); followed by ``...`` or ``…`` it is a truncation
(the computed digits start with the shown ones). Numbers shown with more than 12 significant
digits are compared at 12 (the last digits of an iterative float64 solve vary between machines),
numbers below 1e-11 in magnitude (gradient norms, quadrature errors: round-off) match any number
below 1e-11, and durations (a number followed by `` s`` or after ``"seconds":``) are not
compared. The text between the numbers must be the same, up to white space.
"""
from __future__ import annotations

import ast
import contextlib
import io
import math
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser

from jaxcap.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGE_IDS = [p.relative_to(ROOT).as_posix() for p in PAGES]

DIRECTIVE = re.compile(r"<!--\s*docs:\s*(.*?)\s*-->")
NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+−]?\d+)?(?![\w])")
TRUNCATED = re.compile(r"\s*(\.\.\.|…)")
ROUND_OFF = 1e-11
MAX_DIGITS = 12


# ---------------------------------------------------------------------------------------------
# Comparing numbers and texts at the digits shown

def _decimals(shown: str) -> int:
    """The decimal place of the last digit of ``shown`` (``"6.70"`` -> 2, ``"6.5e-15"`` -> 16)."""
    mantissa, _, exponent = shown.lower().replace("−", "-").partition("e")
    after = mantissa.partition(".")[2]
    return len(after) - (int(exponent) if exponent else 0)


def _significant(shown: str) -> int:
    digits = re.sub(r"[^0-9]", "", shown.lower().replace("−", "-").partition("e")[0]).lstrip("0")
    return max(len(digits), 1)


def shown_interval(shown: str, truncated: bool = False) -> tuple[float, float]:
    """The closed interval of the values that ``shown`` stands for, at the digits shown."""
    s = float(shown.replace("−", "-"))
    if abs(s) < ROUND_OFF:
        return -ROUND_OFF, ROUND_OFF
    step = 10.0 ** (-_decimals(shown))
    extra = _significant(shown) - MAX_DIGITS
    if extra > 0:                                  # compare at MAX_DIGITS significant digits
        step *= 10.0 ** extra
        truncated = False
    slack = 1e-9 * step
    if truncated:                                  # the digits of |value| start with those of |shown|
        lo, hi = abs(s) - slack, abs(s) + step + slack
        return (lo, hi) if s >= 0 else (-hi, -lo)
    return s - 0.5 * step - slack, s + 0.5 * step + slack


def number_matches(shown: str, value: float, truncated: bool = False) -> bool:
    """Whether ``value`` is ``shown`` at the digits shown (rounded, or truncated before ``...``)."""
    lo, hi = shown_interval(shown, truncated)
    return math.isfinite(value) and lo <= value <= hi


def _tokens(text: str):
    """``text`` split into ``("num", shown, truncated, duration)`` and ``("text", words)``."""
    out, pos = [], 0
    for m in NUMBER.finditer(text):
        out.append(("text", text[pos:m.start()]))
        tail = text[m.end():]
        trunc = TRUNCATED.match(tail)
        duration = bool(re.match(r"\s*s\b", tail)) or bool(re.search(r'"seconds":\s*$', text[:m.start()]))
        out.append(("num", m.group(), bool(trunc), duration))
        pos = m.end() + (trunc.end() if trunc else 0)
    out.append(("text", text[pos:]))
    return out


def _words(text: str) -> str:
    return " ".join(text.split())


def compare_output(shown: str, actual: str) -> list[str]:
    """Differences between the ``shown`` output and the ``actual`` one (empty when they agree)."""
    want, got = _tokens(shown), _tokens(actual)
    if [k for k, *_ in want] != [k for k, *_ in got]:
        return [f"shown:\n{shown}\nprinted:\n{actual}"]
    problems = []
    for w, g in zip(want, got):
        if w[0] == "text":
            if _words(w[1]) != _words(g[1]):
                problems.append(f"text {_words(w[1])!r} printed as {_words(g[1])!r}")
        elif not w[3] and not number_matches(w[1], float(g[1].replace("−", "-")), w[2]):
            problems.append(f"{w[1]}{'...' if w[2] else ''} printed as {g[1]}")
    return problems and problems + [f"printed:\n{actual}"]


def _leaves(value) -> list[float]:
    """The numbers of a value, in order: a dict in its own order, an array element by element."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _leaves(v)]
    if isinstance(value, (bool, np.bool_)):
        return [float(value)]
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"cannot read numbers from {type(value).__name__}") from None
    return [float(x) for x in arr.ravel()]


def compare_value(shown: str, value) -> list[str]:
    numbers = [(m.group(), bool(TRUNCATED.match(shown[m.end():]))) for m in NUMBER.finditer(shown)]
    leaves = _leaves(value)
    if len(numbers) != len(leaves):
        return [f"{len(numbers)} numbers shown ({shown.strip()}), {len(leaves)} computed: {leaves}"]
    return [f"{s}{'...' if t else ''} computed as {x!r}" for (s, t), x in zip(numbers, leaves)
            if not number_matches(s, x, t)]


# ---------------------------------------------------------------------------------------------
# The Python blocks

def _directive_before(text: str, start: int) -> str | None:
    """The ``<!-- docs: ... -->`` directive on the last non-blank line before offset ``start``."""
    before = text[:start].rstrip().rsplit("\n", 1)[-1]
    m = DIRECTIVE.fullmatch(before.strip())
    return m.group(1) if m else None


def _value_comments(source: str) -> dict[int, str]:
    """Line number -> VALUE, for the lines whose comment holds ``=> VALUE``."""
    found = {}
    for i, line in enumerate(source.splitlines(), 1):
        code, hash_, comment = line.partition("#")
        if hash_ and "=>" in comment:
            found[i] = comment.split("=>", 1)[1]
    return found


def _run_python(source: str, namespace: dict, where: str) -> str:
    """Execute ``source`` statement by statement in ``namespace``; check its ``=> VALUE`` comments;
    return what it printed."""
    tree = ast.parse(source, where)
    comments = _value_comments(source)
    buffer = io.StringIO()
    problems = []
    with contextlib.redirect_stdout(buffer):
        for stmt in tree.body:
            shown = comments.get(stmt.end_lineno)
            if shown is not None and isinstance(stmt, ast.Expr):
                value = eval(compile(ast.Expression(stmt.value), where, "eval"), namespace)
                problems += [f"line {stmt.end_lineno}: {p}" for p in compare_value(shown, value)]
            else:
                assert shown is None, f"{where}, line {stmt.end_lineno}: '=> VALUE' on a statement that is not an expression"
                exec(compile(ast.Module([stmt], []), where, "exec"), namespace)
    assert not problems, f"{where}:\n" + "\n".join(problems)
    return buffer.getvalue()


def _next_block_is_output(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    m = DIRECTIVE.match(rest)
    if m:
        rest = rest[m.end():].lstrip()
    return rest.startswith("```output")


def _line_of(document, start: int) -> int:
    return document.text.count("\n", 0, start) + 1


def evaluate_python(example):
    document, region = example.document, example.region
    state = document.namespace.setdefault("_docs", {"namespace": None, "printed": None, "end": None})
    where = f"{Path(document.path).relative_to(ROOT)}:{_line_of(document, region.start)}"
    if _directive_before(document.text, region.start) == "continue":
        assert state["namespace"] is not None, f"{where}: 'continue' but no Python block before it"
        namespace = state["namespace"]
    else:
        namespace = {"__name__": "__main__"}
    printed = _run_python(str(example.parsed), namespace, where)
    state.update(namespace=namespace, printed=printed, end=region.end)
    if printed and not _next_block_is_output(document.text, region.end):
        raise AssertionError(f"{where} prints, but no ```output block follows it:\n{printed}")


def evaluate_output(example):
    document, region = example.document, example.region
    state = document.namespace.get("_docs", {})
    where = f"{Path(document.path).relative_to(ROOT)}:{_line_of(document, region.start)}"
    directive = _directive_before(document.text, region.start)
    if directive and directive.startswith("output of "):
        return                                  # a command's output: test_shell_examples runs it
    gap = document.text[state.get("end") or 0:region.start] if state.get("end") else None
    assert gap is not None and not DIRECTIVE.sub("", gap).strip(), f"{where}: an ```output block not after a Python block"
    if directive == "illustrative":
        return
    problems = compare_output(str(example.parsed), state["printed"])
    assert not problems, f"{where}: the output differs from the page:\n" + "\n".join(problems)


SYBIL = Sybil(parsers=[CodeBlockParser("python", evaluator=evaluate_python),
                       CodeBlockParser("output", evaluator=evaluate_output)])


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAXCAP_CACHE_DIR", "off")
    return tmp_path


def _pages_with(pattern: str) -> list[str]:
    return [i for p, i in zip(PAGES, PAGE_IDS) if re.search(pattern, p.read_text(), re.M)]


@pytest.mark.examples
@pytest.mark.parametrize("page", _pages_with(r"^```(python|output)\s*$"))
def test_python_examples(page, in_tmp):
    document = SYBIL.parse(ROOT / page)
    examples = list(document)
    assert examples
    for example in examples:
        example.evaluate()


# ---------------------------------------------------------------------------------------------
# The shell blocks

FENCE_LINE = re.compile(r"^(`{3,})[ \t]*([\w-]*)[^\n]*$", re.M)
SHELL_LANGUAGES = ("", "bash", "console", "sh", "shell")


def fenced_blocks(text: str):
    """``(language, offset of the opening fence, body)`` of every fenced block, in order."""
    opening = None
    for m in FENCE_LINE.finditer(text):
        if opening is None:
            opening = m
        elif len(m.group(1)) >= len(opening.group(1)) and not m.group(2):
            yield opening.group(2), opening.start(), text[opening.end() + 1:m.start()]
            opening = None

NOT_EXAMPLES = {"pip", "pytest", "mkdocs", "export", "cd", "wait", "cat", "python3 -m pip", "python -m pip",
                "python3 -m pytest", "python -m pytest"}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_,.]*$|^\$")
SYNOPSIS = re.compile(r"[\[\]|{<…]|\.\.\.")
SMALL_OUTPUTS = ("--plot", "--checkpoint", "--out")


def _small(sub: str, argv: list[str], tmp: Path) -> list[str]:
    """``argv`` (after ``jaxcap SUB``) at a small size: levels at most 1, two points, two trials, n at
    most 3, one alpha, one worker, no chunking, output files in ``tmp``."""
    out, i = [], 0
    values = {"--level": lambda v: str(min(int(v), 1)), "--points": lambda v: "2", "--trials": lambda v: "2",
              "--n": lambda v: str(min(int(v), 3)), "--alphas": lambda v: v.split(",")[0],
              "--workers": lambda v: "1", "--max-level": lambda v: str(min(int(v), 3 if sub == "frsb" else 1))}
    while i < len(argv):
        a = argv[i]
        if a in ("--chunk", "--cpu-devices"):
            i += 2
            continue
        if a in values and i + 1 < len(argv):
            out += [a, values[a](argv[i + 1])]
            i += 2
            continue
        if a in SMALL_OUTPUTS and i + 1 < len(argv):
            out += [a, str(tmp / Path(argv[i + 1]).name)]
            i += 2
            continue
        out.append(a)
        i += 1
    if sub == "sat" and "--extrapolate" in out and "--max-level" in out:
        out[out.index("--max-level") + 1] = "3"
    if sub == "table" and "--max-level" not in out:
        out += ["--max-level", "1"]
    if sub == "bench":
        out += [] if "--quick" in out else ["--quick"]
        out += ["--tasks", "threshold-L0", "--no-baseline"]
    return out


def _commands(line: str) -> list[list[str]]:
    """The commands of one shell line (split at ``&&``, ``;``, ``|``), each as its words, with the
    environment assignments, redirections, ``&`` and launchers (``srun ... jaxcap``) dropped."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    commands, current = [], []
    for w in words + [";"]:
        if w in ("&&", ";", "&", "||"):
            if current:
                commands.append(current)
            current = []
        elif w.startswith(">") or (current and current[-1] in (">", ">>", "2>")):
            continue
        elif not current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):
            continue
        else:
            current.append(w)
    found = []
    for c in commands:
        c = [w for w in c if w not in (">", ">>", "2>")]
        if "jaxcap" in c and c[0] != "jaxcap" and not (len(c) > 2 and c[1:3] == ["-m", "jaxcap"]):
            c = c[c.index("jaxcap"):]                                   # srun ... jaxcap ...
        if len(c) > 2 and c[0].startswith("python") and c[1:3] == ["-m", "jaxcap"]:
            c = ["jaxcap", *c[3:]]
        found.append(c)
    return found


def _joined_lines(body: str) -> list[str]:
    return re.sub(r"\\\n\s*", " ", body).splitlines()


def _is_synopsis(cmd: list[str], line: str) -> bool:
    return bool(SYNOPSIS.search(line.split("#", 1)[0])) or any(PLACEHOLDER.match(w) for w in cmd[2:])


class ShellExample:
    """One command of a shell block of a page."""

    def __init__(self, page, line, cmd, text, directive, shown):
        self.page, self.line, self.cmd, self.text, self.directive, self.shown = page, line, cmd, text, directive, shown

    def __repr__(self):
        return f"{self.page}:{self.line}"


def shell_examples() -> list[ShellExample]:
    found = []
    for page, pid in zip(PAGES, PAGE_IDS):
        text = page.read_text()
        for lang, start, body in fenced_blocks(text):
            directive = _directive_before(text, start)
            first = text.count("\n", 0, start) + 2
            if lang in ("json", "output"):
                if directive and directive.startswith("output of "):
                    cmd = _commands(directive[len("output of "):])[0]
                    found.append(ShellExample(pid, first - 1, cmd, " ".join(cmd), "as shown", body))
                continue
            if lang not in SHELL_LANGUAGES:
                continue
            lines = _joined_lines(body)
            prompted = any(line.startswith("$ ") for line in lines)
            for i, line in enumerate(lines):
                if prompted and not line.startswith("$ "):
                    continue
                if line.startswith("$ "):
                    upto = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("$ ")), len(lines))
                    for cmd in _commands(line[2:]):
                        found.append(ShellExample(pid, first + i, cmd, line[2:], "as shown", "\n".join(lines[i + 1:upto])))
                elif not line.startswith(" ") or line.strip().startswith("jaxcap"):
                    for cmd in _commands(line):
                        found.append(ShellExample(pid, first + i, cmd, line, directive, None))
    return found


SHELL = shell_examples()
JAXCAP = [e for e in SHELL if len(e.cmd) > 1 and e.cmd[0] == "jaxcap"]


def _subcommands():
    import argparse
    parser = build_parser()
    return {name: sub for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            for name, sub in a.choices.items()}


def test_shell_examples_are_known_commands():
    """Every command of a shell block is a jaxcap command, a benchmark script with options it
    accepts, or an install/test line."""
    subs = _subcommands()
    problems = []
    for e in SHELL:
        if not e.cmd:
            continue
        head = e.cmd[0]
        if head == "jaxcap":
            if len(e.cmd) < 2 or e.cmd[1] not in subs and e.cmd[1] not in ("<subcommand>",):
                problems.append(f"{e}: unknown subcommand in {e.text!r}")
        elif head.startswith("python") and len(e.cmd) > 1 and e.cmd[1].startswith("benchmarks/"):
            script = ROOT / e.cmd[1]
            if not script.is_file():
                problems.append(f"{e}: {e.cmd[1]} does not exist")
            else:
                options = set(re.findall(r"add_argument\(\s*\"(--[a-z0-9-]+)\"", script.read_text()))
                options |= {"--quick", "--json", "--out"} if "main([\"bench\"" in script.read_text() else set()
                unknown = {w.split("=")[0] for w in e.cmd[2:] if w.startswith("--")} - options
                if unknown and not _is_synopsis(e.cmd, e.text):
                    problems.append(f"{e}: {e.cmd[1]} has no {sorted(unknown)}")
        elif head in NOT_EXAMPLES or " ".join(e.cmd[:3]) in NOT_EXAMPLES or head in ("srun",):
            continue
        else:
            problems.append(f"{e}: {e.text!r} is neither a jaxcap command nor a benchmark script")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("example", [e for e in JAXCAP if e.cmd[1] != "<subcommand>"], ids=repr)
def test_jaxcap_command_lines_parse(example):
    """Synopses name only options of their subcommand; concrete commands pass the CLI's own checks."""
    subs = _subcommands()
    sub = subs[example.cmd[1]]
    if _is_synopsis(example.cmd, example.text) or _run_by(example):
        known = {o for a in sub._actions for o in a.option_strings}
        named = {w.split("=")[0] for w in re.findall(r"--[a-z][a-z0-9-]*", example.text[example.text.index("jaxcap"):])}
        assert named <= known, f"{example}: {sorted(named - known)} are not options of 'jaxcap {example.cmd[1]}'"
        assert example.directive is None or example.directive.startswith("run by "), example
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert main(example.cmd[1:], dry_run=True) == 0, f"{example}: {example.text!r} is refused"


def _run_by(example) -> Path | None:
    d = example.directive
    return ROOT / d[len("run by "):].strip() if d and d.startswith("run by ") else None


@pytest.mark.parametrize("example", [e for e in JAXCAP if _run_by(e)], ids=repr)
def test_long_commands_are_run_by_their_script(example):
    path = _run_by(example)
    assert path.is_file(), f"{example}: {path} does not exist"
    text = path.read_text()
    named = [example.cmd[1]] + [w for w in example.cmd[2:] if w.startswith("--")]
    missing = [w for w in named if w not in text]
    assert not missing, f"{example}: {path.relative_to(ROOT)} never names {missing}"


RUNNABLE = [e for e in JAXCAP if e.cmd[1] != "<subcommand>" and not _is_synopsis(e.cmd, e.text) and not _run_by(e)]


@pytest.mark.examples
@pytest.mark.parametrize("example", RUNNABLE, ids=repr)
def test_shell_examples_run(example, in_tmp, capfd):
    argv = example.cmd[1:] if example.directive == "as shown" else _small(example.cmd[1], example.cmd[2:], in_tmp)
    capfd.readouterr()
    code = main([example.cmd[1], *argv] if example.directive != "as shown" else argv)
    out, err = capfd.readouterr()
    assert code == 0, f"{example}: jaxcap {' '.join(argv)} exited {code}\n{err[-2000:]}"
    if example.shown is not None:
        problems = compare_output(example.shown, out)
        assert not problems, f"{example}: the output differs from the page:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The comparison itself

@pytest.mark.parametrize("shown, value, truncated, ok", [
    ("6.70039194944", 6.700391949444, True, True),
    ("6.70039194944", 6.700391949452, True, False),
    ("7.7734", 7.77338157, False, True),
    ("7.7734", 7.7735, False, False),
    ("0.632", 0.631492, False, False),
    ("0.631", 0.631492, False, True),
    ("6.5e-15", 2.0e-14, False, True),               # round-off
    ("1.0e-10", 3.0e-11, False, False),
    ("6.715696837671227", 6.715696837671229, False, True),   # compared at 12 digits
    ("2.0", 2.06, False, False),
    ("2.0", 2.04, False, True),
])
def test_number_matches(shown, value, truncated, ok):
    assert number_matches(shown, value, truncated) is ok


def test_compare_output():
    assert not compare_output("level 2: alpha = 6.7004, 5.5 s", "level 2: alpha = 6.70039, 9.1 s")
    assert compare_output("level 2: alpha = 6.7004", "level 2: alpha = 6.7009")
    assert compare_output("level 2: alpha = 6.7004", "level 3: alpha = 6.7004")
    assert compare_value("6.34099034..., array([0.7774...])", (6.340990341, np.array([0.77745]))) == []
    assert compare_value("1, 2", (1.0,))
