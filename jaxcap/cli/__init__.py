"""The ``jaxcap`` command line: the only place with argparse, printing and plotting.

``jaxcap.cli.main(argv)`` runs a command and returns its exit code; ``entry()`` is the
``jaxcap`` program (``main`` on ``sys.argv``, then the exit); ``build_parser()`` is the parser itself.  stdout carries results only (one strict JSON object with ``--json``);
progress and messages go to stderr.  Exit codes (:mod:`jaxcap.cli.errors`): 0 success,
2 bad input (one line naming the option or file), 3 not converged (diagnostics), 4 an
output file could not be written after the results were printed, 70 an internal error,
130 interrupted, 143 terminated.

Modules: :mod:`~jaxcap.cli.options` (parser, value types, output checks),
:mod:`~jaxcap.cli.output` (strict JSON and text), :mod:`~jaxcap.cli.plotting` (every figure),
:mod:`~jaxcap.cli.commands` (single solves), :mod:`~jaxcap.cli.sweep` (``sweep``, ``curve``),
:mod:`~jaxcap.cli.finite`, :mod:`~jaxcap.cli.bench`, :mod:`~jaxcap.cli.app` (:func:`main`).
"""
from .app import build_parser, entry, main

__all__ = ["build_parser", "entry", "main"]
