"""The package's layering: no import cycle, no private name imported across modules,
argparse, printing to the terminal and plotting only in ``jaxcap.cli``, and ``jaxcap.cli`` on the
public API only."""
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


def _imports(name: str, path: Path):
    """``(module, imported name or None, line, relative)`` for every import of a module, relative ones
    resolved and local imports inside functions included (``import a.b`` gives ``("a.b", None, ...)``)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno, False
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                yield target, alias.name, node.lineno, bool(node.level)


def _relative_imports(name: str, path: Path, mods: dict):
    """``(target module, imported name)`` for every relative import of a module, local imports included."""
    for target, imported, _, relative in _imports(name, path):
        if relative:
            full = f"{target}.{imported}"
            yield (full if full in mods else target), imported


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



#: What the command line may import of jaxcap besides the package itself and its own modules.
CLI_PUBLIC_MODULES = {"jaxcap.references", "jaxcap.scipy_baseline"}


def test_the_command_line_uses_the_public_api_only():
    """``jaxcap.cli`` imports of jaxcap only the public names (``jaxcap.__all__``), the public modules
    ``jaxcap.references`` and ``jaxcap.scipy_baseline``, and its own modules: what the command line
    computes, a Python user can compute the same way."""
    import jaxcap

    mods = _modules()
    offenders = []
    for name, path in mods.items():
        if not (name == "jaxcap.cli" or name.startswith("jaxcap.cli.")):
            continue
        for target, imported, line, _ in _imports(name, path):
            where = f"{name}:{line}"
            if target.split(".")[0] != "jaxcap":
                continue                                   # the standard library, third-party packages
            if target == "jaxcap":
                if imported is None or imported in jaxcap.__all__:
                    continue
                if f"jaxcap.{imported}" in CLI_PUBLIC_MODULES or f"jaxcap.{imported}" == "jaxcap.cli":
                    continue
                offenders.append(f"{where} imports {imported} from jaxcap, not in jaxcap.__all__")
            elif not (target == "jaxcap.cli" or target.startswith("jaxcap.cli.") or target in CLI_PUBLIC_MODULES):
                offenders.append(f"{where} imports {target}" + (f".{imported}" if imported else ""))
    assert not offenders, "\n".join(offenders)


def test_the_command_line_names_no_private_module():
    """The command line's docstrings, help and printed methods cite the public names (``jaxcap.x``)."""
    offenders = [f"{name}:{i}" for name, path in _modules().items() if name.startswith("jaxcap.cli")
                 for i, line in enumerate(path.read_text().splitlines(), 1) if "_src" in line]
    assert not offenders, offenders
