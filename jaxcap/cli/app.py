"""The ``jaxcap`` parser and :func:`main`: parse, check, compute, and map every outcome to an exit code."""
from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import math
import os
import signal
import sys
import threading
import time

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


#: Seconds after a signal was raised during which another one is recorded but not raised, so that
#: a second Ctrl-C does not cut short the report of the first.
REPEAT_SECONDS = 0.5


@contextlib.contextmanager
def _interruptible():
    """For the duration: Ctrl-C / SIGINT raises ``KeyboardInterrupt`` (exit 130), even where it was
    inherited as ignored (a background job of a non-interactive shell), and SIGTERM raises
    :class:`~jaxcap.cli.errors.Terminated` (exit 143), so that either ends the run with one line and
    every finished checkpoint entry kept; the handlers are restored after.  Yields the list of the
    signals received: a library that catches the exception and raises its own in its place (JAX
    comparing static arguments does) still ends the run as the signal asks."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    raised = [-math.inf]        # when the last signal was raised: a second one at once is only recorded

    def stop(signum, frame):
        received.append(signum)
        if time.monotonic() - raised[0] > REPEAT_SECONDS:      # not while the first is being reported
            raised[0] = time.monotonic()
            raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    running = threading.Event()

    def again(signum):
        if running.is_set():
            raised[0] = -math.inf
            signal.raise_signal(signum)

    def unraisable(info):
        # raised where Python can only report it (a weakref callback, a finaliser): no traceback,
        # and the signal is sent again a moment later, to be raised in the run's own code
        if received and isinstance(info.exc_value, (KeyboardInterrupt, Terminated)):
            threading.Timer(0.02, again, (received[-1],)).start()
        else:
            hook(info)

    previous = {}
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.default_int_handler):
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, stop)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, stop)
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    running.set()
    try:
        yield received
    finally:
        running.clear()
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv=None, *, dry_run: bool = False) -> int:
    """Run ``jaxcap ARGV`` and return its exit code (:mod:`jaxcap.cli.errors`).

    ``dry_run=True`` parses and checks everything (values, output paths, matplotlib)
    and returns without computing: 0 or 2.
    """
    with _interruptible() as received:
        args = None
        try:
            args = build_parser().parse_args(argv)
            args.check(args)
            if dry_run:
                return EXIT_OK
            _enable_compilation_cache()
            return args.run(args)
        except BaseException as exc:  # noqa: BLE001  every outcome is an exit code, never a traceback
            return _outcome(exc, args, received)


def entry() -> None:
    """The ``jaxcap`` command (the console script and ``python -m jaxcap``): :func:`main` on
    ``sys.argv``, then exit with its code, without Python's teardown (``os._exit`` once the output
    is flushed).  The teardown of a process that has loaded JAX and XLA frees every module and
    every compiled program one by one; it took longer than a warm level-1 solve
    (``docs/benchmarks.md#startup-teardown``), and nothing of a finished run depends on it: every
    file was written and closed, every checkpoint entry atomically, by then.

    * A run that finished runs the exit handlers first (``atexit``: JAX's clean-up, a
      ``jax.distributed`` shutdown, logging), as a normal exit does.
    * A run that a signal stopped leaves at once: with XLA's threads possibly still busy in a
      program the signal cut short, the exit handlers and the teardown can crash the process (exit
      139 instead of 130 or 143).
    * Once the run is over, a signal no longer interrupts the exit (it would print a traceback from
      JAX's exit handler): the process ends with the run's code.

    Before the run, the objects already loaded (Python's, JAX's and jaxcap's modules, which live as
    long as the process) are moved out of the cyclic collector's way (``gc.freeze``): tracing
    allocates fast enough to start many collections, and each would walk them all again (a
    quarter of a second of a cold level-1 run, ``docs/benchmarks.md#startup-teardown``)."""
    gc.freeze()
    code = main()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):      # the run is over: its exit is not cut short
            signal.signal(signum, signal.SIG_IGN)
    _flush()
    if code not in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        atexit._run_exitfuncs()     # what a normal exit runs: every handler, last registered first
        _flush()
    os._exit(code)


def _flush() -> None:
    """Flush stdout and stderr; one that cannot be flushed (a closed pipe) is left as it is."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _stopped(args, signum: int) -> int:
    kept = " (the checkpoint keeps every finished entry: rerun to resume)" if getattr(args, "checkpoint", None) else ""
    terminated = signum == signal.SIGTERM
    say(f"jaxcap: {'terminated' if terminated else 'interrupted'}{kept}")
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _outcome(exc: BaseException, args, received: list) -> int:
    """The exit code of a run that raised ``exc`` (:mod:`jaxcap.cli.errors`), with its one line on stderr."""
    from .. import ConvergenceError
    if received or isinstance(exc, (KeyboardInterrupt, Terminated)):
        return _stopped(args, received[-1] if received else
                        signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    if isinstance(exc, SystemExit):     # --help: argparse printed it and exits
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if isinstance(exc, (BadInput, ValueError, TypeError)):
        say(f"jaxcap: error: {_line(exc)}")
        return EXIT_BAD_INPUT
    if isinstance(exc, ConvergenceError):
        diag = {"converged": False, "error": str(exc), "diagnostics": exc.diagnostics}
        say(f"jaxcap: not converged: {_line(exc)}")
        say(dumps(diag))
        if getattr(args, "json", False):
            print(dumps(diag), flush=True)
        return EXIT_NOT_CONVERGED
    if isinstance(exc, BrokenPipeError):
        # stdout closed early (e.g. piped into head): nothing more can be printed there
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return EXIT_WRITE_FAILED
    if isinstance(exc, OSError):
        # an output that failed outside the checked paths (stdout closed, a full disk)
        with contextlib.suppress(OSError):
            say(f"jaxcap: error: output failed: {_line(exc)}")
        return EXIT_WRITE_FAILED
    if isinstance(exc, (MemoryError, ArithmeticError)):
        # what the resource guards and the solver's checks did not foresee: not resolvable here
        why = "out of memory" if isinstance(exc, MemoryError) else f"numerical breakdown ({type(exc).__name__})"
        return _not_resolvable(args, f"{why}: {_line(exc)}")
    if not isinstance(exc, Exception):
        raise exc                       # GeneratorExit and the like: not a run's outcome
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
