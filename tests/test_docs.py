"""The documentation cannot drift from the code.

* Every ``docs/theory.md#anchor`` cited under ``jaxcap/`` exists as ``{#anchor}`` in docs/theory.md.
* docs/guide/cli.md has a ``## <name>`` section for every subcommand of ``jaxcap.cli.build_parser()``;
  every option of that subcommand appears in its section, and every ``--option`` a section names
  exists in the parser (in that subcommand for a subcommand's section, in some subcommand otherwise).
* Each option row of docs/guide/cli.md states the parser's default and no other, and carries the
  words of the option's help text.
* The numbers of a table in a section that cites ``benchmarks/results/X.json`` (and the prose
  numbers of four or more digits there) are numbers of X; every results file is cited.
* The public-API lists of docs/guide/python.md and docs/index.md, and the entries of docs/api.md,
  are ``jaxcap.__all__``.
(tests/test_docs_examples.py runs the examples themselves.)
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from jaxcap.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
CLI_PAGE = ROOT / "docs" / "guide" / "cli.md"

CITED = re.compile(r"docs/theory\.md#([A-Za-z0-9_-]+)")
ANCHOR = re.compile(r"\{#([A-Za-z0-9_-]+)\}")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _documented_options(sub: argparse.ArgumentParser) -> set[str]:
    """The option strings a user is told about: all but ``--help`` and options hidden with SUPPRESS."""
    return {opt for action in sub._actions
            if not isinstance(action, argparse._HelpAction) and action.help is not argparse.SUPPRESS
            for opt in action.option_strings}


def _all_options(sub: argparse.ArgumentParser) -> set[str]:
    return {opt for action in sub._actions for opt in action.option_strings}


def _sections(text: str) -> dict[str, str]:
    """``## heading`` -> the text up to the next ``## `` heading (code blocks included)."""
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_cited_theory_anchors_exist():
    anchors = set(ANCHOR.findall(THEORY.read_text()))
    cited = {}
    for path in sorted((ROOT / "jaxcap").rglob("*.py")):
        for anchor in CITED.findall(path.read_text()):
            cited.setdefault(anchor, path.relative_to(ROOT).as_posix())
    missing = {a: where for a, where in cited.items() if a not in anchors}
    assert not missing, f"docs/theory.md lacks the anchors cited in: {missing}"


def test_theory_has_the_shared_anchors():
    anchors = set(ANCHOR.findall(THEORY.read_text()))
    shared = {"question", "functional", "leaf", "threshold", "derivatives", "engines", "solver",
              "dictionary", "frsb", "zero-energy", "temperature", "finite-size"}
    assert shared <= anchors, sorted(shared - anchors)


def test_every_subcommand_and_option_is_documented():
    sections = _sections(CLI_PAGE.read_text())
    for name, sub in _subcommands().items():
        assert name in sections, f"docs/guide/cli.md has no '## {name}' section"
        named = set(OPTION.findall(sections[name]))
        missing = _documented_options(sub) - named
        assert not missing, f"'## {name}' does not mention {sorted(missing)}"


def test_every_documented_option_exists():
    subcommands = _subcommands()
    anywhere = set().union(*(_all_options(sub) for sub in subcommands.values()))
    for heading, body in _sections(CLI_PAGE.read_text()).items():
        known = _all_options(subcommands[heading]) if heading in subcommands else anywhere
        unknown = set(OPTION.findall(body)) - known
        assert not unknown, f"'## {heading}' names options the parser does not have: {sorted(unknown)}"


@pytest.mark.parametrize("text, expected", [
    ("`--kappa K` and --kappa-from, not x--y or ---z", {"--kappa", "--kappa-from"}),
    ("--max-level, (--json)", {"--max-level", "--json"}),
])
def test_option_pattern(text, expected):
    assert set(OPTION.findall(text)) == expected


def test_the_repository_is_self_contained():
    """Nothing cites a document outside the repository, and no text speaks of how it was developed."""
    outside = re.compile("DESIGN" + r"(\.md| ?§)")
    process = re.compile(r"this session|\(issue [0-9]|\bissue [0-9]+\b|at commit|\btoday\b|this machine", re.I)
    offenders = []
    for top in ("README.md", "docs", "jaxcap", "benchmarks", "tests"):
        paths = [ROOT / top] if (ROOT / top).is_file() else sorted((ROOT / top).rglob("*"))
        for path in paths:
            if path.suffix not in {".md", ".py", ".yml", ".txt"} or path == Path(__file__):
                continue
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if outside.search(line) or process.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# ---------------------------------------------------------------------------------------------
# Numbers in tables come from the results files their section cites

RESULTS = ROOT / "benchmarks" / "results"
CITED_RESULT = re.compile(r"benchmarks/results/([\w.-]+\.json)")
LATEX_POWER = re.compile(r"([0-9.]+)\s*\\times\s*10\^\{?([-−]?[0-9]+)\}?")


def _leaves(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _leaves(v)
    elif isinstance(x, list):
        for v in x:
            yield from _leaves(v)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield float(x)


def _result_numbers(name: str) -> list[float]:
    """Every number of a results file, in seconds and in milliseconds, and, for a file of levels
    and thresholds (``jaxcap frsb --json``), the extrapolations of its levels 0..K for K = 6 (the
    default of ``jaxcap frsb``) and every multiple of 10."""
    from jaxcap._src.extrapolation import extrapolate
    payload = json.loads((RESULTS / name).read_text())
    numbers = list(_leaves(payload))
    if isinstance(payload, dict) and {"levels", "alphas"} <= set(payload):
        for top in [k for k in range(6, len(payload["levels"])) if k == 6 or k % 10 == 0]:
            numbers += _leaves({k: v for k, v in extrapolate(payload["levels"][:top + 1], payload["alphas"][:top + 1]).items()
                                if not isinstance(v, str)})
    return numbers + [1e3 * x for x in numbers]


def _sections_of(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.M)
    return [("(top)", parts[0])] + [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", [p for p in DOC_PAGES if CITED_RESULT.search(p.read_text())],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_table_numbers_come_from_the_results_they_cite(page):
    """In a section that cites ``benchmarks/results/X.json``, every decimal number of a table is a
    number of X (at the digits shown), and so is every number of the section's prose that is
    written with four or more significant digits."""
    import numpy as np
    from test_docs_examples import NUMBER, shown_interval
    problems = []
    for heading, body in _sections_of(page.read_text()):
        files = sorted(set(CITED_RESULT.findall(body)))
        if not files:
            continue
        missing = [f for f in files if not (RESULTS / f).is_file()]
        assert not missing, f"{page.name} '{heading}' cites missing {missing}"
        pool = np.array([x for f in files for x in _result_numbers(f)])
        pool = np.concatenate([pool, -pool])
        for line in body.splitlines():
            table = line.startswith("|")
            if table and set(line) <= set("|-: "):
                continue
            line = LATEX_POWER.sub(lambda m: f"{m.group(1)}e{m.group(2).replace('−', '-')}", line)
            for m in NUMBER.finditer(line):
                shown = m.group().replace("−", "-")
                digits = len(re.sub(r"[^0-9]", "", shown.lower().partition("e")[0]).lstrip("0"))
                if "." not in shown and "e" not in shown.lower():
                    continue
                if not table and digits < 4:
                    continue
                lo, hi = shown_interval(shown)
                if not np.any((pool >= lo) & (pool <= hi)):
                    problems.append(f"'{heading}': {shown} in {line.strip()[:100]!r}")
    assert not problems, f"{page.relative_to(ROOT)}: numbers not in the results files cited:\n" + "\n".join(problems)


def test_every_results_file_is_cited():
    cited = set().union(*(CITED_RESULT.findall(p.read_text()) for p in DOC_PAGES))
    present = {p.name for p in RESULTS.glob("*.json")}
    assert present <= cited, f"results files no page cites: {sorted(present - cited)}"


# ---------------------------------------------------------------------------------------------
# The option tables of docs/guide/cli.md agree with the parser, defaults included

DEFAULT = re.compile(r"\bdefault:?\s+(?:is\s+)?([^;,:)]+?)(?=[;,:)]|\s*$|\s+\(|\.\s)")
ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$", re.M)


def _plain(text: str) -> str:
    """Markdown and TeX reduced to lower-case words: ``$\\alpha \\ge 0$`` -> ``alpha ge 0``."""
    text = re.sub(r"\\([a-zA-Z]+)", r" \1 ", text).replace("`", " ").replace("$", " ")
    return " ".join(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower()))


def _default_text(text: str | None) -> str | None:
    m = DEFAULT.search((text or "").replace("`", ""))
    return m.group(1).strip() if m else None


def _parser_default(action: argparse.Action) -> str | None:
    """The default a user is told about: the parser's value, or the one its help states."""
    if not (action.default is None or action.default is False or action.default is argparse.SUPPRESS):
        return str(action.default)
    return _default_text(action.help)


def _same_default(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return _plain(a) == _plain(b)


def _option_rows(section: str) -> list[tuple[list[str], str]]:
    rows = []
    for first, meaning in ROW.findall(section):
        options = OPTION.findall(first)
        if options:
            rows.append((options, meaning))
    return rows


def _actions(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in sub._actions for o in a.option_strings}


def test_cli_page_defaults_and_help_agree_with_the_parser():
    """Each option's row on the CLI page states the parser's default (argparse's, or the one its
    help states), and no other; its words include every word of the option's help text. A row
    reading "as for `threshold`" takes threshold's row, and the parser's options must then have
    threshold's help and default."""
    subs = _subcommands()
    sections = _sections(CLI_PAGE.read_text())
    problems = []
    for name, sub in subs.items():
        actions = _actions(sub)
        for options, meaning in _option_rows(sections.get(name, "")):
            as_for = re.search(r"as for `(\w+)`", meaning)
            for option in options:
                action = actions.get(option)
                if action is None or action.help is argparse.SUPPRESS:
                    continue
                if as_for:
                    other = _actions(subs[as_for.group(1)]).get(option)
                    if other is None or (other.help, other.default) != (action.help, action.default):
                        problems.append(f"{name} {option}: not as for {as_for.group(1)} in the parser")
                    continue
                documented, parsed = _default_text(meaning), _parser_default(action)
                if (documented is None) != (parsed is None) or (parsed and not _same_default(documented, parsed)):
                    problems.append(f"{name} {option}: the page says default {documented!r}, the parser {parsed!r}")
                if action.help and len(options) == 1:
                    missing = set(_plain(action.help).split()) - set(_plain(meaning).split())
                    if missing:
                        problems.append(f"{name} {option}: the row lacks the help's words {sorted(missing)}"
                                        f" (help: {action.help!r})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("text, default", [
    ("most Newton steps per threshold (default 12)", "12"),
    ("evaluation engine; default `grid` ([engines](x))", "grid"),
    ("a short suite", None),
    ("levels $0 \\dots R$ (default 3)", "3"),
])
def test_default_pattern(text, default):
    assert _default_text(text) == default


# ---------------------------------------------------------------------------------------------
# The public API lists

def _api_list(text: str) -> set[str]:
    """The backticked names of the paragraph that starts "The public API" and the list after it."""
    m = re.search(r"^The public API.*?(?=\n\s*\n(?![*-] ))", text, flags=re.M | re.S)
    assert m, "no paragraph starting 'The public API'"
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", m.group(0))) - {"jaxcap"}


@pytest.mark.parametrize("page", ["docs/guide/python.md", "docs/index.md"])
def test_public_api_list_is_jaxcap_all(page):
    import jaxcap
    assert _api_list((ROOT / page).read_text()) == set(jaxcap.__all__)


def test_api_reference_documents_jaxcap_all():
    import jaxcap
    text = (ROOT / "docs" / "api.md").read_text()
    names = set()
    for target, options in re.findall(r"^::: (\S+)\n((?:[ \t]+.*\n)*)", text, flags=re.M):
        heading = re.search(r"heading: jaxcap\.(\w+)", options)
        names.add(heading.group(1) if heading else target.rsplit(".", 1)[-1])
    assert names == set(jaxcap.__all__)


def _keys(x) -> set[str]:
    if isinstance(x, dict):
        return set(x) | set().union(*(_keys(v) for v in x.values()))
    if isinstance(x, list):
        return set().union(*(_keys(v) for v in x)) if x else set()
    return set()


def test_benchmarks_page_says_what_each_results_file_records():
    """The table "results file | records besides the figures" of docs/benchmarks.md names every
    results file, and every key it says a file records is in that file."""
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    table = re.search(r"^\| results file \| records.*?\n((?:\|.*\n)+)", text, flags=re.M)
    assert table, "docs/benchmarks.md has no 'results file | records' table"
    listed, problems = set(), []
    for first, second in ROW.findall(table.group(1)):
        if set(first) <= set("-: "):
            continue
        files = [f for f in re.findall(r"`([\w.-]+\.json)`", first)]
        claimed = set(re.findall(r"`(\w+)`", second))
        for name in files:
            listed.add(name)
            missing = claimed - _keys(json.loads((RESULTS / name).read_text()))
            if missing:
                problems.append(f"{name} does not record {sorted(missing)}")
    present = {p.name for p in RESULTS.glob("*.json")}
    assert listed == present, f"listed {sorted(listed)}, present {sorted(present)}"
    assert not problems, "\n".join(problems)

ROLE = re.compile(r":(?:func|mod|class|meth|data|attr|exc):`([^`]+)`")


def _resolves(target: str, module) -> bool:
    """Whether the Sphinx cross-reference ``target`` (``~`` and ``!`` prefixes, ``()`` suffix allowed)
    names something that exists: absolute from ``jaxcap`` (a module, or an attribute path from the
    package or from a submodule), or relative to the citing ``module``."""
    import builtins
    import dataclasses
    import functools
    import importlib
    import inspect
    import jaxcap

    name = target.lstrip("~!").removesuffix("()")
    if " " in name or "<" in name:          # an explicit title: `text <target>`
        name = name.split("<", 1)[1].rstrip(">").strip().lstrip("~")

    def walk(obj, parts):
        for part in parts:
            fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
            if hasattr(obj, part) or part in fields or part in getattr(obj, "__annotations__", {}):
                obj = getattr(obj, part, None)
                if obj is None:
                    return True            # a field without a class-level default: it exists
            else:
                return False
        return True

    parts = name.split(".")
    if parts[0] == "jaxcap":
        if walk(jaxcap, parts[1:]):
            return True
        for cut in range(len(parts), 1, -1):
            try:
                mod = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            if not walk(mod, parts[cut:]):
                return False
            # a function or class named through a module must be defined there, not imported into it
            obj = functools.reduce(getattr, parts[cut:cut + 1], mod)
            return not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__ == mod.__name__
        return False
    if walk(module, parts) or walk(builtins, parts):
        return True
    # a bare method or attribute name: of some class of the module
    return len(parts) == 1 and any(walk(cls, parts) for _, cls in inspect.getmembers(module, inspect.isclass))


def test_docstring_cross_references_resolve():
    """Every ``:func:``, ``:mod:``, ``:class:``, ``:meth:``, ``:data:``, ``:attr:`` target in the package's
    source names something that exists."""
    import importlib

    broken = []
    for path in sorted((ROOT / "jaxcap").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] == "__main__":          # runs the command line when imported
            continue
        module = importlib.import_module(".".join(parts))
        for target in ROLE.findall(path.read_text()):
            if not _resolves(target, module):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "\n".join(broken)


def test_no_public_name_shadows_a_module():
    """The implementation lives in ``jaxcap._src``: no public name of ``jaxcap`` is also one of its
    submodules (``import jaxcap.X`` and ``jaxcap.X`` never disagree)."""
    import jaxcap

    package = ROOT / "jaxcap"
    modules = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    assert not set(jaxcap.__all__) & modules
