"""The package's layering: no import cycle, no private name imported across modules, and
argparse, printing to the terminal and plotting only in ``jaxcap.cli``."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jaxcap"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _relative_imports(name: str, path: Path, mods: dict):
    """``(target module, imported name)`` for every relative import of a module, local imports included."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                yield (full if full in mods else target), alias.name


def test_no_import_cycle():
    mods = _modules()
    graph = {m: {t for t, _ in _relative_imports(m, p, mods) if t in mods and t != m} for m, p in mods.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, cycles


def test_no_private_name_crosses_modules():
    mods = _modules()
    private = [(m, t, n) for m, p in mods.items() for t, n in _relative_imports(m, p, mods) if n.startswith("_")]
    assert not private, private


def test_command_line_concerns_live_in_the_cli_package():
    offenders = []
    for name, path in _modules().items():
        if name == "jaxcap.cli" or name.startswith("jaxcap.cli.") or name == "jaxcap.__main__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            imported = ([a.name for a in node.names] if isinstance(node, ast.Import)
                        else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(i.split(".")[0] in {"argparse", "matplotlib"} for i in imported):
                offenders.append(f"{name} imports {imported}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{name}:{node.lineno} prints")
    assert not offenders, offenders


def test_only_the_engines_ask_which_engine_they_hold():
    """Outside the engines' own modules an engine is used through the ``Engine`` protocol
    (``jaxcap._src.engine``): no ``isinstance`` on an engine class, no test of its name."""

    asking = re.compile(r"isinstance\([^)]*(GridEngine|TensorEngine)|\.name\s*[!=]=\s*[\"'](grid|tensor)[\"']"
                        r"|getattr\([^)]*[\"']name[\"']")
    own = {"jaxcap._src.grid", "jaxcap._src.tensor", "jaxcap._src.engine"}
    offenders = [f"{name}:{i}" for name, path in _modules().items() if name not in own
                 for i, line in enumerate(path.read_text().splitlines(), 1) if asking.search(line)]
    assert not offenders, offenders


def test_the_driver_stages_are_defined_once():
    """The starts, candidates, polish, verdict and level solve are defined in ``jaxcap._src.driver`` only."""
    stages = ("starts", "candidates", "polished", "verdict", "solve_level")
    pattern = re.compile(r"^def (_?(?:%s))\(" % "|".join(stages), re.M)
    defined = {name: pattern.findall(path.read_text()) for name, path in _modules().items()}
    assert set(defined.pop("jaxcap._src.driver")) == set(stages)
    # the measurement's verdict of one point (jaxcap._src.measurement.verdict) is what the driver's builds on
    elsewhere = {name: found for name, found in defined.items() if found and found != ["verdict"]}
    assert not elsewhere and [n for n, f in defined.items() if f] == ["jaxcap._src.measurement"], elsewhere
