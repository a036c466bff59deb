"""``jaxcap bench``: jaxcap against the SciPy baseline (:func:`jaxcap.bench_suite`, :mod:`jaxcap.scipy_baseline`)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import options as opt
from . import plotting
from .errors import EXIT_NOT_CONVERGED, EXIT_OK, EXIT_WRITE_FAILED, BadInput
from .output import bench_summary, bench_table, emit, say, strict


def register(sub) -> None:
    """Add ``bench`` to the ``jaxcap`` subparsers."""
    p = sub.add_parser(
        "bench", help="benchmarks: cold/warm timings and speedups against the SciPy baseline",
        description="Time jaxcap cold (fresh process, JIT compile included) and warm, side by side with "
                    "the conventional SciPy baseline; write the results as JSON.")
    p.add_argument("--quick", action="store_true",
                   help="a short suite (< 3 min on 2 idle cores): no level 3, no level-2 baseline, a 4-point sweep")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the JSON here, and a cost-against-level PNG next to it (FILE-grad-cost.png)")
    p.add_argument("--tasks", default=None, help=argparse.SUPPRESS)       # comma-separated names or prefixes
    p.add_argument("--no-baseline", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=bench, check=check)


def _png(out: Path) -> Path:
    return out.with_name(out.stem + "-grad-cost.png")


def check(args) -> None:
    from .. import bench_tasks
    try:
        bench_tasks(args.quick, args.tasks)
    except ValueError as exc:
        raise BadInput(f"--tasks: {exc}") from None
    if args.out is not None:
        opt.check_output(args.out, "--out")
        opt.check_output(_png(Path(args.out)), "--out")


def bench(args) -> int:
    """Run the suite: progress on stderr, the JSON (``--json``) or a Markdown table on stdout."""
    from .. import bench_suite
    payload = bench_suite(quick=args.quick, names=args.tasks, progress=say, baseline=not args.no_baseline,
                          finished=lambda i, n, e, s: say(f"[{i}/{n}] {e['name']}: {bench_summary(e)}  ({s:.0f} s)"))
    code = EXIT_OK
    out = None if args.out is None else Path(args.out)
    if out is not None:
        try:
            if plotting.bench_costs(_png(out), payload):
                payload["plot"] = _png(out).name
        except (OSError, ValueError, RuntimeError, BadInput) as exc:
            say(f"jaxcap: error: {_png(out)} could not be written ({exc})")
            code = EXIT_WRITE_FAILED
    say(f"bench: {payload['total_seconds']:.0f} s in all")
    emit(args, payload, bench_table(payload))
    if out is not None:
        try:
            out.write_text(json.dumps(strict(payload), indent=1, allow_nan=False) + "\n")
            say(f"bench: wrote {out}")
        except OSError as exc:
            say(f"jaxcap: error: --out {out} could not be written ({exc})")
            code = EXIT_WRITE_FAILED
    failed = [e for e in payload["tasks"] if e.get("error")]
    if failed:
        say("jaxcap: not converged: " + "; ".join(f"{e['name']}: {e['error']}" for e in failed))
        return EXIT_NOT_CONVERGED
    return code
