"""The command line's exit codes and the exceptions that map to them (the one place they are defined).

======  =====================================================================================
code    meaning
======  =====================================================================================
0       success
2       bad input: one line on stderr naming the option or file (nothing computed)
3       not converged, or not resolvable by the engine: diagnostics on stderr (and as JSON on
        stdout with ``--json``); results that did converge are printed first
4       the results were computed and printed, but writing an output file (``--plot``,
        ``--checkpoint``, ``bench --out``) failed at the end, or stdout itself could not be
        written (closed, a broken pipe): one line on stderr names it
70      an unexpected internal error (a bug): one line on stderr, no traceback
130     interrupted (Ctrl-C / SIGINT): one line on stderr; finished checkpoint entries are kept
143     terminated (SIGTERM, as a batch scheduler or ``kill`` sends): as 130
======  =====================================================================================
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 3
EXIT_WRITE_FAILED = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class BadInput(ValueError):
    """Invalid command-line input: reported in one line, exit code 2."""


class Terminated(BaseException):
    """SIGTERM received: raised in the main thread like ``KeyboardInterrupt`` (so that no ``except
    Exception`` swallows it), reported in one line, exit code 143."""
