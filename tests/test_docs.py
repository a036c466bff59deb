"""The documentation cannot drift from the code.

* Every ``docs/theory.md#anchor`` cited under ``jaxcap/`` exists as ``{#anchor}`` in docs/theory.md.
* docs/guide/cli.md has a ``## <name>`` section for every subcommand of ``jaxcap.cli.build_parser()``;
  every option of that subcommand appears in its section, and every ``--option`` a section names
  exists in the parser (in that subcommand for a subcommand's section, in some subcommand otherwise).
"""
from __future__ import annotations

import argparse
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


def test_every_public_name_is_in_the_api_page():
    import jaxcap

    page = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in jaxcap.__all__ if f"jaxcap.{name}" not in page]
    assert not missing, f"docs/api.md does not list {missing}"


def test_no_new_public_name_shadows_a_module():
    """``jaxcap.threshold`` and ``jaxcap.sweep`` are functions that share their modules' names; no other
    public name may hide a module of the package."""
    import jaxcap

    modules = {p.stem for p in (ROOT / "jaxcap").glob("*.py")} | {p.name for p in (ROOT / "jaxcap").iterdir()
                                                                  if (p / "__init__.py").exists()}
    assert set(jaxcap.__all__) & modules <= {"threshold", "sweep"}
