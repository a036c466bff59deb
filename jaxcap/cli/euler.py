"""``jaxcap euler``: the expected Euler characteristic of the non-injectivity set, exactly, and its
threshold ``α_Euler`` (:func:`jaxcap.euler_characteristic`, :func:`jaxcap.euler_threshold`,
``docs/theory.md#euler``)."""
from __future__ import annotations

import argparse
import contextlib
import sys

from . import options as opt
from . import plotting
from .commands import write_plot
from .errors import EXIT_OK, BadInput
from .output import emit, euler_text, euler_threshold_text

#: The sizes whose finite-size crossings ``--threshold`` shows by default.
DEFAULT_SIZES = (100, 200, 400, 800)
#: The sizes drawn by ``--threshold --plot`` (each a curve of exact finite-size rates).
PLOT_SIZES = (25, 50, 100, 200, 400)


def _sizes(text: str) -> list[int]:
    """Comma-separated sizes ``n ≥ 20`` (empty: none)."""
    if not text.strip():
        return []
    out = []
    for part in text.split(","):
        try:
            n = int(part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot parse size {part.strip()!r} in {text!r}") from None
        if n < 20:
            raise argparse.ArgumentTypeError(f"each size must be an integer >= 20, got {part.strip()!r}")
        out.append(n)
    return out


def register(sub) -> None:
    """Add ``euler`` to the ``jaxcap`` subparsers."""
    p = sub.add_parser("euler", help="the integral-geometry prediction: E chi(K) exactly, and its threshold",
                       description="The expected Euler characteristic of the non-injectivity set K, exactly "
                                   "(--n N --m M), or its threshold alpha_Euler (--threshold).")
    p.add_argument("--n", type=opt.positive_int, default=None, help="input dimension n (with --m)")
    p.add_argument("--m", type=opt.count, default=None, help="rows m (with --n)")
    p.add_argument("--threshold", action="store_true", help="alpha_Euler, where the rate of E chi(K) changes sign")
    p.add_argument("--sizes", type=_sizes, default=None,
                   help=f"with --threshold: the n of the finite-size crossings shown "
                        f"(default {','.join(map(str, DEFAULT_SIZES))}; each >= 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="with --threshold: the rate against alpha at several n and its limit (needs matplotlib)")
    p.set_defaults(run=euler, check=check)


def check(args) -> None:
    """Either ``--n`` and ``--m`` (within the limits of :func:`jaxcap.check_euler_size`) or ``--threshold``."""
    from .. import check_euler_size
    if args.threshold:
        if args.n is not None or args.m is not None:
            raise BadInput("euler: --threshold takes no --n or --m")
        sizes = DEFAULT_SIZES if args.sizes is None else args.sizes
        try:
            for n in sizes:
                check_euler_size(n, 9 * n)
        except ValueError as exc:
            raise BadInput(f"euler: --sizes: {exc}") from None
        opt.check_plot(args.plot)
        return
    if args.n is None or args.m is None:
        raise BadInput("euler needs --n N and --m M (or --threshold)")
    if args.plot is not None or args.sizes is not None:
        raise BadInput("euler: --plot and --sizes go with --threshold")
    try:
        check_euler_size(args.n, args.m)
    except ValueError as exc:
        raise BadInput(f"euler: {exc}") from None


@contextlib.contextmanager
def _long_integers():
    """Decimal strings of integers of any length (the exact fractions), for the duration."""
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:
        yield
        return
    previous = get()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


def _float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def euler(args) -> int:
    from tqdm import tqdm
    from .. import euler_characteristic, euler_log_abs
    if args.threshold:
        return _threshold(args)
    with tqdm(total=args.n, desc=f"E chi n={args.n} m={args.m}", file=sys.stderr, disable=None, leave=False) as bar:
        value = euler_characteristic(args.n, args.m, progress=lambda done, total: bar.update(done - bar.n))
    log_abs = euler_log_abs(value)
    with _long_integers():
        fraction = f"{value.numerator}/{value.denominator}"
    payload = {"n": args.n, "m": args.m, "alpha": args.m / args.n, "expected_euler": fraction,
               "value": _float(value), "log_abs_value": log_abs, "rate": log_abs / args.n}
    emit(args, payload, euler_text(payload))
    return EXIT_OK


def _threshold(args) -> int:
    from tqdm import tqdm
    from .. import euler_threshold
    sizes = DEFAULT_SIZES if args.sizes is None else args.sizes
    with tqdm(total=len(sizes), desc="finite-size crossings", file=sys.stderr, disable=None) as bar:
        res = euler_threshold(sizes, progress=lambda done, total: bar.update(done - bar.n))
    payload = {k: res[k] for k in res}
    emit(args, payload, euler_threshold_text(payload))
    if not args.plot:
        return EXIT_OK
    return write_plot(plotting.euler_rates, args.plot, _rate_curves(), res.alpha)


def _rate_curves() -> dict:
    """The exact rates ``(1/n) log |E χ|`` on a grid of ``α`` at :data:`PLOT_SIZES`, and the limit."""
    import numpy as np
    from .. import euler_finite_rate, euler_rate
    alphas = np.linspace(3.0, 12.0, 91)
    curves = {}
    for n in PLOT_SIZES:
        ms = sorted({int(round(a * n)) for a in alphas})
        curves[n] = ([m / n for m in ms], [euler_finite_rate(n, m) for m in ms])
    fine = np.linspace(3.0, 12.0, 400)
    return {"finite": curves, "limit": (fine.tolist(), [euler_rate(a) for a in fine])}
