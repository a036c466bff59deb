"""``jaxcap finite``: exact P(injective) of Gaussian ReLU layers at small ``n`` (:func:`jaxcap.finite_experiment`)."""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from . import plotting
from .commands import write_plot
from .errors import EXIT_OK, BadInput
from .output import emit, finite_table


def _alphas(text: str) -> list[float]:
    """Comma-separated alphas, each finite and > 0."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected comma-separated alphas, e.g. 4,6,8")
    out = []
    for part in text.split(","):
        try:
            a = float(part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot parse alpha {part.strip()!r} in {text!r}") from None
        if not (a > 0 and a != float("inf")):
            raise argparse.ArgumentTypeError(f"alpha must be a finite number > 0, got {part.strip()!r}")
        out.append(a)
    return out


def register(sub) -> None:
    """Add ``finite`` to the ``jaxcap`` subparsers."""
    from .. import FINITE_METHODS
    p = sub.add_parser("finite", help="finite-size check: exact P(injective) of Gaussian W at small n",
                       description="Exact min_active and P(injective) for Gaussian W at small n.")
    p.add_argument("--n", type=opt.positive_int, required=True, help="input dimension n (small: exact methods)")
    p.add_argument("--alphas", type=_alphas, required=True, help="comma-separated alphas, m = round(alpha*n)")
    p.add_argument("--trials", type=opt.positive_int, required=True, help="Gaussian W per alpha")
    p.add_argument("--seed", type=opt.count, default=0, help="base seed (default 0)")
    p.add_argument("--workers", type=opt.positive_int, default=1, help="processes (default 1)")
    p.add_argument("--method", choices=FINITE_METHODS, default="auto", help="exact method (default auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--plot", default=None, metavar="FILE", help="write P(injective) vs alpha (needs matplotlib)")
    p.set_defaults(run=finite, check=check)


def check(args) -> None:
    """The experiment's sizes and workers within their limits (:func:`jaxcap.check_finite_experiment`), and the
    plot's path."""
    from .. import check_finite_experiment
    try:
        check_finite_experiment(args.n, args.alphas, args.trials, args.method, args.workers,
                                workers_subject=f"--workers {args.workers}")
    except ValueError as exc:
        raise BadInput(f"finite: {exc}") from None
    opt.check_plot(args.plot)


def finite(args) -> int:
    from tqdm import tqdm
    from .. import finite_experiment
    with tqdm(total=len(args.alphas) * args.trials, desc=f"finite n={args.n}", file=sys.stderr,
              disable=None) as bar:
        out = finite_experiment(args.n, args.alphas, args.trials, seed=args.seed, method=args.method,
                                workers=args.workers, progress=lambda done, total: bar.update(done - bar.n))
    emit(args, out, finite_table(out))
    return write_plot(plotting.finite, args.plot, out) or EXIT_OK
