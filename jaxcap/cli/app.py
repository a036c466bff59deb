"""The ``jaxcap`` parser and :func:`main`: parse, check, compute, and map every outcome to an exit code."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

from . import bench, commands, euler, finite, sweep
from . import structure as structure_command
from .errors import (EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NOT_CONVERGED, EXIT_OK,
                     EXIT_TERMINATED, EXIT_WRITE_FAILED, BadInput, Terminated)
from .options import Parser
from .output import dumps, say

EPILOG = f"""exit codes:
  {EXIT_OK}    success
  {EXIT_BAD_INPUT}    bad input: one line on stderr naming the option or file (nothing computed)
  {EXIT_NOT_CONVERGED}    not converged or not resolvable: diagnostics on stderr (and stdout with --json);
       results that did converge are printed first
  {EXIT_WRITE_FAILED}    results printed, but an output file (--plot, --checkpoint, --out) could not be written
  {EXIT_INTERNAL}   internal error (a bug): one line on stderr
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C): one line on stderr; checkpoints keep every finished entry
  {EXIT_TERMINATED}  terminated (SIGTERM): as {EXIT_INTERRUPTED}
with --json, stdout holds one strict JSON object (a non-finite number is null, its place listed
under "non_finite"); progress and messages go to stderr."""


def build_parser() -> Parser:
    """The ``jaxcap`` argument parser (every subcommand); errors raise :class:`BadInput`."""
    parser = Parser(prog="jaxcap", description="Injectivity thresholds of random ReLU layers (fl RDT / r-step RSB).",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    commands.register(sub)
    sweep.register(sub)
    finite.register(sub)
    bench.register(sub)
    euler.register(sub)
    structure_command.register(sub)
    return parser


def _enable_compilation_cache() -> None:
    """Reuse compiled XLA programs across runs (a per-user cache directory; ``JAXCAP_CACHE_DIR=off`` disables it)."""
    import jax
    path = os.environ.get("JAXCAP_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxcap", "xla"))
    if path.lower() in ("", "0", "off", "none"):
        return
    try:
        os.makedirs(path, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    except OSError:
        pass


def _line(exc: BaseException) -> str:
    """The first line of an exception's message (the type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _terminate(signum, frame):
    raise Terminated


@contextlib.contextmanager
def _interruptible():
    """For the duration: Ctrl-C / SIGINT raises ``KeyboardInterrupt`` (exit 130), even where it was
    inherited as ignored (a background job of a non-interactive shell), and SIGTERM raises
    :class:`~jaxcap.cli.errors.Terminated` (exit 143), so that either ends the run between two steps
    with one line and every finished checkpoint entry kept; the handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv=None, *, dry_run: bool = False) -> int:
    """Run ``jaxcap ARGV`` and return its exit code (:mod:`jaxcap.cli.errors`).

    ``dry_run=True`` parses and checks everything (values, output paths, matplotlib)
    and returns without computing: 0 or 2.
    """
    with _interruptible():
        return _main(argv, dry_run)


def _main(argv, dry_run: bool) -> int:
    from .. import ConvergenceError
    args = None
    try:
        args = build_parser().parse_args(argv)
        args.check(args)
        if dry_run:
            return EXIT_OK
        _enable_compilation_cache()
        return args.run(args)
    except (BadInput, ValueError, TypeError) as exc:
        say(f"jaxcap: error: {_line(exc)}")
        return EXIT_BAD_INPUT
    except ConvergenceError as exc:
        diag = {"converged": False, "error": str(exc), "diagnostics": exc.diagnostics}
        say(f"jaxcap: not converged: {_line(exc)}")
        say(dumps(diag))
        if getattr(args, "json", False):
            print(dumps(diag), flush=True)
        return EXIT_NOT_CONVERGED
    except SystemExit as exc:   # --help: argparse printed it and exits
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (KeyboardInterrupt, Terminated) as exc:
        kept = " (the checkpoint keeps every finished entry: rerun to resume)" if getattr(args, "checkpoint", None) else ""
        terminated = isinstance(exc, Terminated)
        say(f"jaxcap: {'terminated' if terminated else 'interrupted'}{kept}")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): nothing more can be printed there
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return EXIT_WRITE_FAILED
    except OSError as exc:
        # an output that failed outside the checked paths (stdout closed, a full disk)
        with contextlib.suppress(OSError):
            say(f"jaxcap: error: output failed: {_line(exc)}")
        return EXIT_WRITE_FAILED
    except (MemoryError, ArithmeticError) as exc:
        # what the resource guards and the solver's checks did not foresee: not resolvable here
        why = "out of memory" if isinstance(exc, MemoryError) else f"numerical breakdown ({type(exc).__name__})"
        return _not_resolvable(args, f"{why}: {_line(exc)}")
    except Exception as exc:  # noqa: BLE001  the last resort: one line, never a traceback
        if "RESOURCE_EXHAUSTED" in str(exc):    # XLA could not allocate
            return _not_resolvable(args, f"out of memory: {_line(exc)}")
        say(f"jaxcap: internal error: {type(exc).__name__}: {_line(exc)}")
        return EXIT_INTERNAL


def _not_resolvable(args, message: str) -> int:
    """Exit 3 for a computation that could not be carried out at these parameters."""
    say(f"jaxcap: not resolvable: {message}")
    if getattr(args, "json", False):
        print(dumps({"converged": False, "error": message, "diagnostics": {}}), flush=True)
    return EXIT_NOT_CONVERGED
