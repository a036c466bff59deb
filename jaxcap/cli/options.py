"""Parsing and validation: the argument parser, the value types, and the checks of output paths.

Every value is checked where it is parsed (a one-line reason naming the option, exit 2),
and every output (``--plot``, ``--checkpoint``, ``--out``) before any computation.
Negative numbers are values in every notation (``--kappa -1e6``, ``--kappa=-3``, ``-.5``).
"""
from __future__ import annotations

import argparse
import math
import re

from .. import MAX_SPACING, check_writable
from .errors import BadInput

#: What argparse must read as a (negative) number, not as an option: every float literal.
_NUMBER = re.compile(r"^-(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises :class:`BadInput` (one line) instead of printing usage and exiting."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NUMBER

    def error(self, message):
        raise BadInput(message)


def finite_float(text: str) -> float:
    """A finite float."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """A finite float ``> 0``."""
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return v


def spacing(text: str) -> float:
    """A quadrature spacing: a finite float in ``(0,`` :data:`~jaxcap.MAX_SPACING` ``]`` (one limit for
    every ``--spacing``; finer spacings are bounded by the grid-point limit of the engines, checked where
    :func:`jaxcap.make_engine` builds one)."""
    v = finite_float(text)
    if not 0.0 < v <= MAX_SPACING:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_SPACING:g}], got {text!r}")
    return v


def int_at_least(minimum: int):
    """An argparse type: an integer ``>= minimum`` (decimal digits, an optional sign), else a one-line reason."""
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            v = None
        if v is None or v < minimum:
            want = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return v
    parse.__name__ = f"integer >= {minimum}"
    return parse


level = int_at_least(0)
nodes = int_at_least(8)
points = int_at_least(2)
positive_int = int_at_least(1)
count = int_at_least(0)


def add_engine_options(p, *, kappa: bool = True) -> None:
    """``--kappa``, ``--engine``, ``--nodes``, ``--spacing`` and ``--json``."""
    if kappa:
        p.add_argument("--kappa", type=finite_float, default=0.0,
                       help="threshold kappa of V(u) = 1[u > kappa] (0: injectivity)")
    p.add_argument("--engine", choices=["tensor", "grid"], default=None,
                   help="evaluation engine (default: grid; level 0 has a closed form)")
    p.add_argument("--nodes", type=nodes, default=None,
                   help="Gauss-Hermite nodes per level (tensor engine; at least 8; default: 256 up to level 2, 96 beyond)")
    p.add_argument("--spacing", type=spacing, default=None,
                   help=f"largest grid spacing in h (grid engine, at most {MAX_SPACING:g}; default: set per level "
                        f"from the parameters, at most {MAX_SPACING:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def engine_options(args) -> dict:
    """The engine keywords of the library's solves."""
    return {"engine": args.engine, "nodes": args.nodes, "spacing": args.spacing}


def check_output(path, option: str) -> None:
    """:class:`BadInput` naming ``option`` unless a file can be written at ``path``."""
    if path is None:
        return
    try:
        check_writable(path, option)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def check_plot(path) -> None:
    """``--plot``: matplotlib importable, a format it writes, and a writable path (before any work)."""
    if path is None:
        return
    check_output(path, "--plot")
    from .plotting import check_format
    check_format(path)


#: The built-in potentials of ``--potential`` (``jaxcap.Potential``).
POTENTIALS = ("count", "linear", "quadratic")


def potential(text: str):
    """``--potential``: a built-in's name (kept as the name) or a JSON file of pieces, read and checked here
    (a :class:`jaxcap.Potential`)."""
    if text in POTENTIALS:
        return text
    if not text.endswith(".json"):
        raise argparse.ArgumentTypeError(f"expected {', '.join(POTENTIALS)} or a FILE.json, got {text!r}")
    from .. import Potential
    try:
        return Potential.load(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_potential_options(p, *, epsilon: bool = False) -> None:
    """``--potential`` (and ``--epsilon``: the level set ``e_r = ε`` of a threshold)."""
    p.add_argument("--potential", type=potential, default="count", metavar="count|linear|quadratic|FILE.json",
                   help="the cost V(u - kappa) of each field: count, linear, quadratic or a JSON file of pieces "
                        "(default count)")
    if epsilon:
        p.add_argument("--epsilon", type=positive_float, default=1.0,
                       help="the level set e_R(alpha) = epsilon to solve for, epsilon > 0 (default 1)")


def cost_options(args) -> dict:
    """The ``potential`` (and ``epsilon``) keywords of the library's solves."""
    return {"potential": args.potential} | ({"epsilon": args.epsilon} if hasattr(args, "epsilon") else {})
