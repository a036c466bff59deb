"""``jaxcap sweep`` (many thresholds in one batched, sharded program) and ``jaxcap curve`` (the same
sweep with the single-solve command's options: a thin view of it, with the same JSON keys).

The sweep resumes from and writes ``--checkpoint`` chunk by chunk (:func:`jaxcap.sweep_chunks`).
With several processes (``--distributed``) every one solves its shards of every chunk,
process 0's view of the checkpoint decides which chunks remain, and only process 0 prints,
plots and writes the checkpoint.
"""
from __future__ import annotations

import contextlib
import os
import sys

from . import options as opt
from . import plotting
from .commands import write_plot
from .errors import EXIT_NOT_CONVERGED, EXIT_OK, EXIT_WRITE_FAILED, BadInput
from .output import emit, say, strict, sweep_table

#: Defaults of the sweep-only options (``curve`` uses them as they are).
HESSIAN, NEWTON_ITERS = "autodiff", 12


def register(sub) -> None:
    """Add ``sweep`` and ``curve`` to the ``jaxcap`` subparsers."""
    from .. import AUTO_COARSE, AUTO_COARSE_FROM, SWEEP_HESSIANS
    p = sub.add_parser("sweep", help="many thresholds alpha_R(kappa) in one batched, sharded program")
    _grid_options(p)
    p.add_argument("--checkpoint", metavar="FILE", help="save finished chunks here; a rerun resumes from it")
    p.add_argument("--chunk", type=opt.positive_int, default=None, help="thresholds per compiled batch (default: all)")
    p.add_argument("--newton-iters", type=opt.positive_int, default=NEWTON_ITERS,
                   help="most Newton steps per threshold")
    p.add_argument("--hessian", choices=sorted(SWEEP_HESSIANS), default=HESSIAN,
                   help="Newton's Hessians: autodiff (runs faster) or difference (compiles faster: one-off sweeps)")
    p.add_argument("--coarse", type=opt.count, default=None,
                   help=f"Chebyshev points of the coarse pass (0: off; default {AUTO_COARSE}, from "
                        f"{AUTO_COARSE_FROM} thresholds per chunk on)")
    p.add_argument("--cpu-devices", type=opt.positive_int, default=None,
                   help="XLA devices on a CPU backend, the batch sharded over them (default: one per core)")
    g = p.add_argument_group("several processes (jax.distributed)")
    g.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize(); every process solves its shards, process 0 writes")
    g.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                   help="address of process 0 (default: $JAX_COORDINATOR_ADDRESS or cluster detection)")
    g.add_argument("--num-processes", type=opt.positive_int, default=None,
                   help="default: $JAX_NUM_PROCESSES or cluster detection")
    g.add_argument("--process-id", type=opt.count, default=None, help="default: $JAX_PROCESS_ID or cluster detection")
    p.set_defaults(run=sweep, check=check)

    p = sub.add_parser("curve", help="alpha_R(kappa) and d alpha_R / d kappa along a kappa range (a sweep)")
    _grid_options(p)
    p.set_defaults(run=sweep, check=check, checkpoint=None, chunk=None, newton_iters=NEWTON_ITERS, hessian=HESSIAN,
                   coarse=None, cpu_devices=None, distributed=False, coordinator=None, num_processes=None,
                   process_id=None)


def _grid_options(p) -> None:
    p.add_argument("--level", type=opt.level, required=True)
    p.add_argument("--kappa-from", type=opt.finite_float, required=True)
    p.add_argument("--kappa-to", type=opt.finite_float, required=True)
    p.add_argument("--points", type=opt.points, required=True)
    opt.add_engine_options(p, kappa=False)
    p.add_argument("--plot", metavar="FILE", help="write alpha against kappa with tangents, the non-converged points marked (needs matplotlib)")


def check(args) -> None:
    """The ``κ`` grid and the outputs, before any work."""
    from .. import check_cpu_devices, check_points
    if args.kappa_to <= args.kappa_from:
        raise BadInput(f"--kappa-to ({args.kappa_to}) must exceed --kappa-from ({args.kappa_from})")
    check_points(args.points, f"--points {args.points}")
    if getattr(args, "cpu_devices", None):
        check_cpu_devices(args.cpu_devices, f"--cpu-devices {args.cpu_devices}")
    opt.check_plot(args.plot)
    opt.check_output(args.checkpoint, "--checkpoint")


def kappa_grid(args):
    import numpy as np
    return np.linspace(args.kappa_from, args.kappa_to, args.points)


def sweep_options(args) -> dict:
    """The keywords of :func:`jaxcap.sweep_chunks` the options give (the grid: :func:`kappa_grid`)."""
    return {"checkpoint": args.checkpoint, "chunk": args.chunk, "coarse": args.coarse,
            "newton_iters": args.newton_iters, "hessian": args.hessian, **opt.engine_options(args)}


def _progress(i: int, count: int, rows: list, seconds: float | None) -> None:
    """One line on stderr per chunk, from process 0."""
    import jax
    if jax.process_index() != 0:
        return
    if seconds is None:
        say(f"sweep: chunk {i + 1}/{count} from checkpoint")
        return
    bad = sum(not r["converged"] for r in rows)
    say(f"sweep: chunk {i + 1}/{count}: {len(rows)} thresholds in {seconds:.2f} s"
        + (f" on {jax.process_count()} processes" if jax.process_count() > 1 else "")
        + (f", {bad} not converged" if bad else ""))


def _initialize_distributed(args) -> None:
    """``jax.distributed.initialize`` from ``--coordinator/--num-processes/--process-id``, else from
    ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``, else JAX's own cluster
    detection (Slurm, Open MPI, …)."""
    import jax

    def setting(flag, env):
        value = flag if flag is not None else os.environ.get(env)
        try:
            return None if value is None else int(value)
        except ValueError:
            raise BadInput(f"{env} must be an integer, got {value!r}") from None

    jax.distributed.initialize(coordinator_address=args.coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS"),
                               num_processes=setting(args.num_processes, "JAX_NUM_PROCESSES"),
                               process_id=setting(args.process_id, "JAX_PROCESS_ID"))


@contextlib.contextmanager
def _stdout_to_stderr():
    """File descriptor 1 pointed at 2 for the duration (output of C++ libraries included)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _use_every_core(n: int | None) -> None:
    """One XLA CPU device per core (``jax_num_cpu_devices``, default: the cores this process may use),
    so that the sharded batch runs on all of them on a CPU backend.  Left alone when
    ``XLA_FLAGS`` forces a device count, and impossible once JAX has started (inside a
    Python session that already computed something the devices stay as they are)."""
    import jax
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    n = n or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        jax.config.update("jax_num_cpu_devices", int(n))
    except RuntimeError:
        pass


def sweep(args) -> int:
    """Print the sweep (JSON alone on stdout with ``--json``); exit 3 when any element did not converge.

    With ``--distributed`` only process 0 prints, plots and writes the checkpoint.
    """
    import jax
    from .. import sweep_chunks
    failed_writes = []

    def write_error(exc):
        if not failed_writes:
            say(f"jaxcap: error: --checkpoint {args.checkpoint} could not be written ({exc}); going on without it")
        failed_writes.append(exc)

    _use_every_core(args.cpu_devices)
    # Gloo (the CPU collectives) announces each connection on stdout: keep it off the JSON
    with _stdout_to_stderr() if args.distributed else contextlib.nullcontext():
        if args.distributed:
            _initialize_distributed(args)
        payload = strict(sweep_chunks(args.level, kappa_grid(args), **sweep_options(args), progress=_progress,
                                      on_write_error=write_error))
    if jax.process_index() != 0:
        return EXIT_OK
    bad = [r["kappa"] for r in payload["results"] if not r["converged"]]
    emit(args, payload, sweep_table(payload))
    code = write_plot(plotting.kappa_curve, args.plot, payload["results"], args.level)
    if bad:
        say(f"jaxcap: not converged: {len(bad)} of {len(payload['results'])} thresholds "
            f"(kappa = {', '.join(f'{k:g}' for k in bad[:8])}{' ...' if len(bad) > 8 else ''})")
        return EXIT_NOT_CONVERGED
    return EXIT_WRITE_FAILED if failed_writes else code
