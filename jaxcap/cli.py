"""Command line: ``jaxcap threshold|energy|table …`` (DESIGN §5).

stdout carries results only (one JSON object with ``--json``); progress and
logs go to stderr.  Exit codes: 0 success, 2 bad input (one line on stderr),
3 a solve that did not converge (its diagnostics on stderr, and as JSON on
stdout with ``--json``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 3


class BadInput(Exception):
    """Invalid command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise BadInput(message)


def _finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    v = _finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return v


def _int_at_least(what: str, minimum: int):
    """An argparse type: an integer ``>= minimum``, else a one-line reason."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < minimum:
            raise argparse.ArgumentTypeError(
                f"{what} must be {'a non-negative integer' if minimum == 0 else f'an integer >= {minimum}'}, got {text!r}")
        return v
    return parse


_level = _int_at_least("level", 0)
_nodes = _int_at_least("nodes", 8)
_points = _int_at_least("points", 2)


def _engine_options(p):
    p.add_argument("--kappa", type=_finite_float, default=0.0, help="threshold kappa of V(u) = 1[u > kappa] (0: injectivity)")
    p.add_argument("--engine", choices=["tensor", "grid"], default=None, help="evaluation engine (default: chosen by level)")
    p.add_argument("--nodes", type=_nodes, default=None, help="Gauss-Hermite nodes per level (tensor engine)")
    p.add_argument("--spacing", type=_positive_float, default=None, help="largest grid spacing in h (grid engine; default: set per level from the parameters, at most 0.04)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jaxcap", description="Injectivity thresholds of random ReLU layers (fl RDT / r-step RSB).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("threshold", help="the level-R threshold alpha_R where the ground-state energy reaches 1")
    p.add_argument("--level", type=_level, required=True)
    _engine_options(p)
    p.set_defaults(func=_cmd_threshold)

    p = sub.add_parser("energy", help="the level-R ground-state energy e_R(alpha)")
    p.add_argument("--alpha", type=_positive_float, required=True)
    p.add_argument("--level", type=_level, required=True)
    _engine_options(p)
    p.set_defaults(func=_cmd_energy)

    p = sub.add_parser("table", help="the main job: the injectivity threshold level by level, with timings")
    p.add_argument("--max-level", type=_level, default=3)
    _engine_options(p)
    p.add_argument("--plot", metavar="FILE", help="write alpha_r against r (needs matplotlib)")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("curve", help="alpha_R(kappa) and d alpha_R / d kappa along a kappa range (continuation)")
    p.add_argument("--level", type=_level, required=True)
    p.add_argument("--kappa-from", type=_finite_float, required=True)
    p.add_argument("--kappa-to", type=_finite_float, required=True)
    p.add_argument("--points", type=_points, required=True)
    p.add_argument("--engine", choices=["tensor", "grid"], default=None)
    p.add_argument("--nodes", type=_nodes, default=None)
    p.add_argument("--spacing", type=_positive_float, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--plot", metavar="FILE", help="write alpha against kappa with tangents (needs matplotlib)")
    p.set_defaults(func=_cmd_curve)

    p = sub.add_parser("sat", help="the zero-energy boundary (Gardner capacity for kappa <= 0)")
    p.add_argument("--kappa", type=_finite_float, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_sat)

    p = sub.add_parser("dat", help="the RS-stability (de Almeida-Thouless) threshold on the energy-1 line")
    p.add_argument("--kappa", type=_finite_float, default=0.0)
    p.add_argument("--spacing", type=_positive_float, default=None, help="trapezoid spacing in z (default 0.01)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_dat)

    p = sub.add_parser("rs", help="the RS free energy, energy and AT replicon at inverse temperature beta")
    p.add_argument("--alpha", type=_positive_float, required=True)
    p.add_argument("--beta", type=_positive_float, required=True)
    p.add_argument("--kappa", type=_finite_float, default=0.0)
    p.add_argument("--spacing", type=_positive_float, default=None, help="trapezoid spacing in z (default 0.01)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_rs)

    p = sub.add_parser("frsb", help="alpha_r level by level and the r -> infinity (full RSB) extrapolation")
    p.add_argument("--max-level", type=_level, default=6)
    _engine_options(p)
    p.add_argument("--plot", metavar="FILE", help="write alpha_r against r with the fit (needs matplotlib)")
    p.add_argument("--checkpoint", metavar="FILE", help="save finished levels here and resume from it")
    p.set_defaults(func=_cmd_frsb)

    from . import bench, finite
    from .sweep import register as register_sweep  # jaxcap.sweep is also the function sweep()
    finite.register(sub)
    register_sweep(sub)
    bench.register(sub)
    return parser


def _options(args) -> dict:
    return {"engine": args.engine, "nodes": args.nodes, "spacing": args.spacing}


def _cmd_threshold(args) -> int:
    import jaxcap
    res = jaxcap.threshold(args.level, kappa=args.kappa, **_options(args))
    _emit(args, res.to_dict(), _format_result(res))
    return 0


def _cmd_energy(args) -> int:
    import jaxcap
    res = jaxcap.energy(args.alpha, args.level, kappa=args.kappa, **_options(args))
    _emit(args, res.to_dict(), _format_result(res))
    return 0


def _cmd_table(args) -> int:
    import jaxcap
    from tqdm import tqdm
    rows = []
    t0 = time.perf_counter()
    with tqdm(total=args.max_level + 1, desc="levels", file=sys.stderr, disable=None) as bar:
        for res in jaxcap.threshold_chain(args.max_level, kappa=args.kappa, **_options(args)):
            rows.append(res)
            bar.set_postfix(level=res.level, alpha=f"{res.alpha:.8f}")
            bar.update()
    payload = {"kappa": args.kappa, "levels": [r.to_dict() for r in rows], "seconds": time.perf_counter() - t0}
    if args.plot:
        _plot(args.plot, "lifting level r", "alpha_r", [r.level for r in rows], [r.alpha for r in rows])
    lines = [f"Injectivity threshold of x -> ReLU(Wx), kappa = {args.kappa:g}",
             f"{'level':>5} {'alpha_r':>12} {'chi':>9} {'q':>28} {'x':>28} {'quad err':>9} {'seconds':>8}"]
    for r in rows:
        q = ", ".join(f"{v:.4f}" for v in r.params["q"]) or "-"
        x = ", ".join(f"{v:.3f}" for v in r.params["x"]) or "-"
        lines.append(f"{r.level:>5} {r.alpha:>12.8f} {r.params['chi']:>9.5f} {q:>28} {x:>28} "
                     f"{r.diagnostics.quad_error:>9.1e} {r.diagnostics.seconds:>8.1f}")
    lines.append(f"total {payload['seconds']:.1f} s")
    _emit(args, payload, "\n".join(lines))
    return 0


def _cmd_curve(args) -> int:
    import numpy as np
    import jaxcap
    from tqdm import tqdm
    from .result import ConvergenceError
    if args.kappa_to <= args.kappa_from:
        raise BadInput(f"--kappa-to ({args.kappa_to}) must exceed --kappa-from ({args.kappa_from})")
    t0 = time.perf_counter()
    points, previous = [], None
    for k in tqdm(np.linspace(args.kappa_from, args.kappa_to, args.points), desc="kappa", file=sys.stderr, disable=None):
        try:
            res = jaxcap.threshold(args.level, kappa=float(k), start=previous, **_options(args))
        except ConvergenceError:
            res = jaxcap.threshold(args.level, kappa=float(k), **_options(args))  # cold restart
        previous = res
        points.append(res)
    payload = {"level": args.level, "points": [r.to_dict() for r in points], "seconds": time.perf_counter() - t0}
    text = [f"level {args.level}: alpha(kappa)", f"{'kappa':>10} {'alpha':>14} {'dalpha/dkappa':>14}"]
    text += [f"{r.kappa:>10.5f} {r.alpha:>14.9f} {r.dalpha_dkappa:>14.7f}" for r in points]
    if args.plot:
        _plot(args.plot, "kappa", f"alpha_{args.level}", [r.kappa for r in points], [r.alpha for r in points],
              slopes=[r.dalpha_dkappa for r in points])
    _emit(args, payload, "\n".join(text))
    return 0


def _cmd_frsb(args) -> int:
    from .frsb import frsb_sequence
    if args.max_level < 3:
        raise BadInput("--max-level must be at least 3 (the fit needs levels 1, 2, 3)")

    def progress(res):
        print(f"level {res.level}: alpha = {res.alpha:.10f} ({res.diagnostics.seconds:.1f} s)", file=sys.stderr)

    rows, fit, seconds = frsb_sequence(args.max_level, kappa=args.kappa, checkpoint=args.checkpoint,
                                       progress=progress, **_options(args))
    payload = {"kappa": args.kappa, "levels": [r.level for r in rows], "alphas": [r.alpha for r in rows],
               **fit, "seconds": seconds, "results": [r.to_dict() for r in rows]}
    text = [f"{r.level:>3} {r.alpha:.10f}" for r in rows]
    text.append(f"alpha_inf = {fit['alpha_inf']:.7f} +- {fit['alpha_inf_err']:.1e}  ({fit['model']}, "
                f"p = {fit['p']:.2f}), {seconds:.1f} s")
    if args.plot:
        _plot_frsb(args.plot, payload["levels"], payload["alphas"], fit)
    _emit(args, payload, "\n".join(text))
    return 0


def _cmd_sat(args) -> int:
    from .capacity import sat_threshold
    res = sat_threshold(args.kappa)
    _emit(args, res, f"zero-energy boundary at kappa {args.kappa:g}: alpha = {res['alpha']:.12f}")
    return 0


def _temperature_spacing(args) -> dict:
    return {} if args.spacing is None else {"spacing": args.spacing}


def _cmd_dat(args) -> int:
    from .temperature import dat_threshold
    res = dat_threshold(args.kappa, **_temperature_spacing(args))
    d = res["diagnostics"]
    _emit(args, res, f"dAT line at kappa {args.kappa:g}: alpha = {res['alpha']:.10f} "
                     f"(beta = {res['beta']:.8f}, q = {res['q']:.8f}, dalpha/dkappa = {res['dalpha_dkappa']:.6f})\n"
                     f"  quad_error = {d['quad_error']:.1e}, {d['seconds']:.1f} s")
    return 0


def _cmd_rs(args) -> int:
    from .temperature import rs_state
    res = rs_state(args.alpha, args.beta, args.kappa, **_temperature_spacing(args))
    _emit(args, res, "\n".join(f"{k} = {v}" for k, v in res.items()))
    return 0


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BadInput("--plot needs matplotlib: pip install 'jaxcap[plot]'") from None
    return plt


def _plot_frsb(path, levels, alphas, fit) -> None:
    """``α_r`` against ``r ≥ 1`` with the fitted law and ``α_∞ ± err`` (left), and ``α_r − α_∞``
    against ``r`` on log–log axes (right), where the fit's quality shows."""
    import numpy as np
    plt = _pyplot()
    r, a = np.asarray(levels, float), np.asarray(alphas, float)
    keep = r >= 1
    shift = fit.get("s", 0.0)
    fine = np.linspace(min(fit["fit_levels"]), r.max(), 200)
    law = fit["alpha_inf"] + fit["C"] * (fine + shift) ** (-fit["p"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    left.plot(r[keep], a[keep], "o", ms=3, label="alpha_r (verified maxima)")
    left.plot(fine, law, "-", lw=0.8, label=fit["model"].split(",")[0])
    left.axhspan(fit["alpha_inf"] - fit["alpha_inf_err"], fit["alpha_inf"] + fit["alpha_inf_err"], color="C2",
                 alpha=0.3, label=f"alpha_inf = {fit['alpha_inf']:.7f} ± {fit['alpha_inf_err']:.1e}")
    left.set_xlabel("lifting level r")
    left.set_ylabel("alpha_r")
    left.legend(fontsize=7)
    above = a[keep] - fit["alpha_inf"]
    right.loglog(r[keep][above > 0], above[above > 0], "o", ms=3)
    right.loglog(fine, law - fit["alpha_inf"], "-", lw=0.8)
    right.set_xlabel("lifting level r")
    right.set_ylabel("alpha_r - alpha_inf")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot(path, xlabel, ylabel, xs, ys, slopes=None) -> None:
    """A small figure of ``ys`` against ``xs`` (with tangent segments when ``slopes`` are given)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot(xs, ys, "o-", ms=3)
    if slopes is not None:
        half = 0.25 * (max(xs) - min(xs)) / max(len(xs) - 1, 1)
        for x, y, s in zip(xs, ys, slopes):
            ax.plot([x - half, x + half], [y - s * half, y + s * half], "r-", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _format_result(res) -> str:
    d = res.diagnostics
    slope = (f", dalpha/dkappa = {res.dalpha_dkappa:.8f}" if res.dalpha_dkappa is not None else
             f", de/dalpha = {res.denergy_dalpha:.8f}, de/dkappa = {res.denergy_dkappa:.8f}")
    return "\n".join([
        f"level {res.level}, kappa {res.kappa:g}: alpha = {res.alpha:.10f}, energy = {res.energy:.12f}{slope}",
        f"  chi = {res.params['chi']:.8f}, q = {res.params['q']}, x = {res.params['x']}",
        f"  grad_norm = {d.grad_norm:.1e}, hessian_max_eig = {d.hessian_max_eig:.3e}, "
        f"quad_error = {d.quad_error:.1e} ({d.engine}), {d.seconds:.1f} s",
    ])


def _emit(args, payload: dict, text: str) -> None:
    print(json.dumps(payload) if args.json else text)


def _enable_compilation_cache() -> None:
    """Reuse compiled XLA programs across runs (a per-user cache directory)."""
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


def main(argv=None) -> int:
    from .result import ConvergenceError
    try:
        args = build_parser().parse_args(argv)
    except BadInput as exc:
        print(f"jaxcap: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _enable_compilation_cache()
    try:
        return args.func(args)
    except (BadInput, ValueError) as exc:
        print(f"jaxcap: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConvergenceError as exc:
        diag = {"converged": False, "error": str(exc), "diagnostics": exc.diagnostics}
        print(f"jaxcap: not converged: {exc}", file=sys.stderr)
        print(json.dumps(diag, default=str), file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps(diag, default=str))
        return EXIT_NOT_CONVERGED


if __name__ == "__main__":
    sys.exit(main())
