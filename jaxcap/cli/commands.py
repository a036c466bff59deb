"""The single-solve commands: ``threshold``, ``energy``, ``table``, ``frsb``, ``sat``, ``dat``, ``rs``.

Each command is a pair: ``check(args)`` validates everything (values, output paths) before any
computation and raises :class:`~jaxcap.cli.errors.BadInput`; ``run(args)`` computes, prints,
writes, and returns the exit code.
"""
from __future__ import annotations

import sys
import time

from .. import MAX_SPACING, ConvergenceError, check_points, to_json
from . import options as opt
from . import plotting
from . import comparison
from .errors import EXIT_NOT_CONVERGED, EXIT_OK, EXIT_WRITE_FAILED, BadInput
from .output import dumps, emit, euler_line, levels_table, result_text, say


def register(sub) -> None:
    """Add the single-solve commands to the ``jaxcap`` subparsers."""
    p = sub.add_parser("threshold", help="the level-R threshold alpha_R where the ground-state energy reaches 1")
    p.add_argument("--level", type=opt.level, required=True)
    opt.add_engine_options(p)
    opt.add_potential_options(p, epsilon=True)
    p.set_defaults(run=threshold, check=no_outputs)

    p = sub.add_parser("energy", help="the level-R ground-state energy e_R(alpha)")
    p.add_argument("--alpha", type=opt.positive_float, required=True)
    p.add_argument("--level", type=opt.level, required=True)
    opt.add_engine_options(p)
    opt.add_potential_options(p)
    p.set_defaults(run=energy, check=no_outputs)

    p = sub.add_parser("table", help="the main job: the injectivity threshold level by level, with timings")
    p.add_argument("--max-level", type=opt.level, default=3)
    opt.add_engine_options(p)
    opt.add_potential_options(p, epsilon=True)
    p.add_argument("--plot", metavar="FILE", help="write alpha_r against r (needs matplotlib)")
    p.add_argument("--finite-n", type=opt.count, default=4,
                   help="n of the exact finite-size row at kappa 0 (default 4; 0 leaves it out)")
    p.add_argument("--finite-trials", type=opt.positive_int, default=40,
                   help="Gaussian layers of the finite-size row (default 40)")
    p.set_defaults(run=table, check=check_table)

    p = sub.add_parser("frsb", help="alpha_r level by level and the r -> infinity (full RSB) extrapolation")
    p.add_argument("--max-level", type=opt.level, default=10)
    opt.add_engine_options(p)
    p.add_argument("--plot", metavar="FILE", help="write alpha_r against r with the fit (needs matplotlib)")
    p.add_argument("--checkpoint", metavar="FILE", help="save finished levels here and resume from it")
    p.set_defaults(run=frsb, check=check_frsb)

    p = sub.add_parser("sat", help="the zero-energy line alpha_sat,R(kappa) (level 0: Gardner's capacity)")
    p.add_argument("--kappa", type=opt.finite_float, default=None, help="the field threshold (one kappa)")
    p.add_argument("--level", type=opt.level, default=None, help="lifting level R (default 0; not with --max-level)")
    p.add_argument("--max-level", type=opt.level, default=None, help="levels 0..M instead of one level")
    p.add_argument("--extrapolate", action="store_true",
                   help="the r -> infinity limit (with --max-level M >= 3, or along a curve with --level R >= 3)")
    p.add_argument("--kappa-from", type=opt.finite_float, default=None, help="a curve: levels 0..R at --points kappas")
    p.add_argument("--kappa-to", type=opt.finite_float, default=None)
    p.add_argument("--points", type=opt.points, default=None)
    p.add_argument("--plot", metavar="FILE", help="with a curve: RS, level-r and extrapolated lines (needs matplotlib)")
    opt.add_engine_options(p, kappa=False)
    opt.add_potential_options(p)
    p.set_defaults(run=sat, check=check_sat)

    p = sub.add_parser("dat", help="the RS-stability (de Almeida-Thouless) threshold on the energy-1 line")
    p.add_argument("--kappa", type=opt.finite_float, default=0.0)
    p.add_argument("--spacing", type=opt.spacing, default=None,
                   help=f"trapezoid spacing in z (default 0.01, at most {MAX_SPACING:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=dat, check=no_outputs)

    p = sub.add_parser("rs", help="the RS free energy, energy and AT replicon at inverse temperature beta")
    p.add_argument("--alpha", type=opt.positive_float, required=True)
    p.add_argument("--beta", type=opt.positive_float, required=True)
    p.add_argument("--kappa", type=opt.finite_float, default=0.0)
    p.add_argument("--spacing", type=opt.spacing, default=None,
                   help=f"trapezoid spacing in z (default 0.01, at most {MAX_SPACING:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=rs, check=no_outputs)


def no_outputs(args) -> None:
    """Nothing to check beyond the parser's types."""


def check_plot(args) -> None:
    opt.check_plot(args.plot)


def check_table(args) -> None:
    """The plot's path, and the finite-size row within its limits (:func:`jaxcap.check_finite_size`)."""
    from .. import check_finite_size
    opt.check_plot(args.plot)
    try:
        if args.finite_n > 0:
            check_finite_size(args.finite_n, args.finite_trials,
                              subjects=(f"--finite-n {args.finite_n}", f"--finite-trials {args.finite_trials}"))
    except ValueError as exc:
        raise BadInput(f"table: {exc}") from None


def check_frsb(args) -> None:
    if args.max_level < 3:
        raise BadInput("--max-level must be at least 3 (the fit needs levels 1, 2, 3)")
    opt.check_plot(args.plot)
    opt.check_output(args.checkpoint, "--checkpoint")


def check_sat(args) -> None:
    """One ``--kappa`` (one level, or ``--max-level``) or a curve (``--kappa-from/--kappa-to/--points``), of
    a potential whose zero-energy line is the count's (``docs/theory.md#potentials``)."""
    if not isinstance(args.potential, str):     # a built-in's name, or a file's Potential
        from .. import Potential
        if not Potential.vanishes_exactly_below_zero(args.potential):
            raise BadInput("sat: the zero-energy line of --potential is the count's only when V = 0 on u <= 0 and "
                           "V > 0 on u > 0 (docs/theory.md#potentials); this one is not")
    curve = (args.kappa_from, args.kappa_to, args.points)
    if args.level is not None and args.max_level is not None:
        raise BadInput("--level R and --max-level M exclude each other (one level, or levels 0..M)")
    args.level = 0 if args.level is None else args.level
    if any(v is not None for v in curve) or args.plot:
        if any(v is None for v in curve) or args.max_level is not None or args.kappa is not None:
            raise BadInput("a curve takes --kappa-from, --kappa-to, --points and --level (not --kappa, --max-level)")
        if args.kappa_to <= args.kappa_from:
            raise BadInput(f"--kappa-to ({args.kappa_to}) must exceed --kappa-from ({args.kappa_from})")
        if args.extrapolate and args.level < 3:
            raise BadInput("--extrapolate along a curve needs --level R >= 3")
        check_points(args.points, f"--points {args.points}")
        opt.check_plot(args.plot)
        return
    if args.kappa is None:
        raise BadInput("sat needs --kappa K (or a curve: --kappa-from, --kappa-to, --points)")
    if args.extrapolate and (args.max_level is None or args.max_level < 3):
        raise BadInput("--extrapolate needs --max-level M >= 3")


def write_plot(draw, path, *data) -> int:
    """Draw the figure at ``path`` after the results were printed: ``EXIT_WRITE_FAILED`` if that fails."""
    if not path:
        return EXIT_OK
    try:
        draw(path, *data)
    except (OSError, ValueError, RuntimeError) as exc:
        say(f"jaxcap: error: --plot {path} could not be written: {str(exc).splitlines()[0] if str(exc) else exc!r}")
        return EXIT_WRITE_FAILED
    return EXIT_OK


def threshold(args) -> int:
    import jaxcap
    res = jaxcap.threshold(args.level, kappa=args.kappa, **opt.engine_options(args), **opt.cost_options(args))
    emit(args, to_json(res), result_text(res))
    return EXIT_OK


def energy(args) -> int:
    import jaxcap
    res = jaxcap.energy(args.alpha, args.level, kappa=args.kappa, **opt.engine_options(args), **opt.cost_options(args))
    emit(args, to_json(res), result_text(res))
    return EXIT_OK


def _potential_json(potential) -> dict:
    """The JSON form of ``--potential`` (its pieces at ``kappa = 0``)."""
    from .. import Potential
    chosen = getattr(Potential, potential)(0.0) if isinstance(potential, str) else potential
    return chosen.as_dict()


def _failure(exc: ConvergenceError) -> dict:
    return {"converged": False, "error": str(exc), "diagnostics": exc.diagnostics}


def table(args) -> int:
    """Levels ``0 … --max-level``; the levels that converged are printed even when a later one fails."""
    import jaxcap
    from tqdm import tqdm
    rows, failure = [], None
    t0 = time.perf_counter()
    with tqdm(total=args.max_level + 1, desc="levels", file=sys.stderr, disable=None) as bar:
        try:
            for res in jaxcap.threshold_chain(args.max_level, kappa=args.kappa, **opt.engine_options(args),
                                              **opt.cost_options(args)):
                rows.append(res)
                bar.set_postfix(level=res.level, alpha=f"{res.alpha:.8f}")
                bar.update()
        except ConvergenceError as exc:
            failure = exc
    seconds = time.perf_counter() - t0
    payload = {"kappa": args.kappa, "levels": [to_json(r) for r in rows], "seconds": seconds}
    if failure is not None:
        payload["failed"] = {"level": len(rows), **_failure(failure)}
    if args.potential != "count" or args.epsilon != 1.0:
        # the rival predictions (Euler, dAT, finite size) are the count's injectivity threshold's
        payload.update(potential=_potential_json(args.potential), epsilon=args.epsilon)
        name = args.potential if isinstance(args.potential, str) else args.potential.name
        title = f"Level set e_r(alpha) = {args.epsilon:g} of the potential {name}, kappa = {args.kappa:g}"
        emit(args, payload, title + "\n" + levels_table(args.kappa, rows, seconds).split("\n", 1)[1])
        extra = {}
    else:
        euler = _euler_prediction(args.kappa)
        if euler is not None:
            payload["euler"] = euler
        rs_alpha = rows[0].alpha if rows and rows[0].level == 0 else None
        extra = comparison.compute(args.kappa, rows, args.finite_n, args.finite_trials)
        payload.update(extra)
        emit(args, payload, levels_table(args.kappa, rows, seconds) + euler_line(euler, rs_alpha)
             + "\n" + comparison.text(args.kappa, rows, euler, extra, args.max_level))
    code = write_plot(plotting.levels, args.plot, rows) if rows else EXIT_OK
    if failure is not None:
        say(f"jaxcap: not converged at level {len(rows)}: {failure}")
        say(dumps(_failure(failure)))
        return EXIT_NOT_CONVERGED
    for line in comparison.failures(extra):
        say(line)
    return EXIT_NOT_CONVERGED if comparison.failures(extra) else code


def _euler_prediction(kappa: float) -> dict | None:
    """At ``κ = 0``: ``α_Euler`` of the expected-Euler-characteristic heuristic (:func:`jaxcap.euler_threshold`),
    else ``None``."""
    if kappa != 0.0:
        return None
    from .. import euler_threshold
    res = euler_threshold()
    return {"alpha": res.alpha, "alpha_err": res.alpha_err,
            "method": "root of the limit rate of E chi(K) (jaxcap.euler_threshold, as jaxcap euler --threshold)"}


def frsb(args) -> int:
    """Levels ``0 … --max-level`` and the fit; the levels that converged are printed even when a later one fails."""
    from .. import frsb_sequence
    rows, failed_writes = [], []

    def progress(res, loaded):
        rows.append(res)
        say(f"level {res.level}: alpha = {res.alpha:.10f} "
            + ("(from the checkpoint)" if loaded else f"({res.diagnostics.seconds:.1f} s)"))

    def write_error(exc):
        if not failed_writes:
            say(f"jaxcap: error: --checkpoint {args.checkpoint} could not be written ({exc}); going on without it")
        failed_writes.append(exc)

    t0 = time.perf_counter()
    try:
        res = frsb_sequence(args.max_level, kappa=args.kappa, checkpoint=args.checkpoint, progress=progress,
                            on_write_error=write_error, **opt.engine_options(args))
    except ConvergenceError as exc:
        payload = {"kappa": args.kappa, "levels": [r.level for r in rows], "alphas": [r.alpha for r in rows],
                   "seconds": time.perf_counter() - t0, "results": [to_json(r) for r in rows],
                   "failed": {"level": len(rows), **_failure(exc)}}
        emit(args, payload, "\n".join(f"{r.level:>3} {r.alpha:.10f}" for r in rows))
        say(f"jaxcap: not converged at level {len(rows)}: {exc}")
        say(dumps(_failure(exc)))
        return EXIT_NOT_CONVERGED
    rows, fit, seconds, payload = res.levels, res.fit, res.seconds, to_json(res)
    text = [f"{r.level:>3} {r.alpha:.10f}" for r in rows]
    text.append(f"alpha_inf = {fit['alpha_inf']:.7f} +- {fit['alpha_inf_err']:.1e}  ({fit['model']}, "
                f"p = {fit['p']:.2f}), {seconds:.1f} s")
    if not fit["reliable"]:
        text.append(f"unreliable: {fit['reliability']}")
    emit(args, payload, "\n".join(text))
    code = write_plot(plotting.frsb, args.plot, payload["levels"], payload["alphas"], fit)
    return EXIT_WRITE_FAILED if failed_writes else code


def sat(args) -> int:
    """One level, levels ``0 … --max-level`` (and their extrapolation), or a curve over ``κ``."""
    from .. import sat as sat_level, sat_chain, sat_sequence
    if args.kappa_from is not None:
        return _sat_curve(args)
    # every potential sat accepts (check_sat) has the count's zero-energy line: the JSON echoes it
    echo = {} if args.potential == "count" else {"potential": _potential_json(args.potential)}
    if args.max_level is None:
        res = sat_level(args.kappa, args.level, **opt.engine_options(args))
        emit(args, to_json(res) | echo, sat_text(res))
        return EXIT_OK
    t0 = time.perf_counter()
    rows, failure, fit = [], None, {}
    try:                    # the levels that converged are printed even when a later one fails
        for res in sat_chain(args.max_level, args.kappa, **opt.engine_options(args)):
            rows.append(res)
    except ConvergenceError as exc:
        failure = exc
    if args.extrapolate and failure is None:      # as jaxcap.sat_sequence
        from .. import extrapolate
        fit = ({"alpha_inf": rows[0].alpha, "alpha_inf_err": 0.0, "model": "replica symmetric (kappa <= 0)"}
               if args.kappa <= 0.0 else extrapolate([r.level for r in rows], [r.alpha for r in rows]))
    payload = {"kappa": args.kappa, "levels": [r.level for r in rows], "alphas": [r.alpha for r in rows], **fit,
               "seconds": time.perf_counter() - t0, "results": [to_json(r) for r in rows], **echo}
    if failure is not None:
        payload["failed"] = {"level": len(rows), **_failure(failure)}
    text = [sat_text(r) for r in rows]
    if fit:
        text.append(f"alpha_sat,inf = {fit['alpha_inf']:.9f} +- {fit['alpha_inf_err']:.1e}  ({fit['model']})")
    emit(args, payload, "\n".join(text))
    if failure is not None:
        say(f"jaxcap: not converged at level {len(rows)}: {failure}")
        say(dumps(_failure(failure)))
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def _sat_curve(args) -> int:
    """Levels ``0 … --level`` at every ``κ`` (:func:`jaxcap.sat_curve`); not-converged ``κ`` listed, exit 3."""
    import numpy as np
    from .. import extrapolate, sat_curve
    t0 = time.perf_counter()
    kappas = np.linspace(args.kappa_from, args.kappa_to, args.points)
    points, failed = [], []
    for k, levels in zip(kappas, sat_curve(kappas, args.level, keep_going=True, **opt.engine_options(args))):
        if isinstance(levels, ConvergenceError):
            failed.append({"kappa": float(k), **_failure(levels)})
            continue
        point = {"kappa": float(k), "alphas": [r.alpha for r in levels],
                 "dalpha_dkappa": [r.dalpha_dkappa for r in levels], "results": [to_json(r) for r in levels]}
        if args.extrapolate:
            fit = ({"alpha_inf": levels[0].alpha, "alpha_inf_err": 0.0} if k <= 0.0 else
                   extrapolate([r.level for r in levels], [r.alpha for r in levels]))
            point.update(alpha_inf=fit["alpha_inf"], alpha_inf_err=fit["alpha_inf_err"])
        points.append(point)
    payload = {"level": args.level, "points": points, "not_converged": failed, "seconds": time.perf_counter() - t0}
    if args.potential != "count":
        payload["potential"] = _potential_json(args.potential)
    head = f"{'kappa':>9} " + " ".join(f"{'alpha_' + str(r):>16}" for r in range(args.level + 1))
    text = [head + (f" {'alpha_inf':>16} {'+-':>8}" if args.extrapolate else "")]
    for pt in points:
        line = f"{pt['kappa']:>9.5f} " + " ".join(f"{a:>16.10f}" for a in pt["alphas"])
        text.append(line + (f" {pt['alpha_inf']:>16.10f} {pt['alpha_inf_err']:>8.1e}" if args.extrapolate else ""))
    text += [f"{f['kappa']:>9.5f} not converged: {f['error']}" for f in failed]
    emit(args, payload, "\n".join(text))
    code = write_plot(plotting.sat_curve, args.plot, points, args.level) if points else EXIT_OK
    if failed:
        say(f"jaxcap: not converged at {len(failed)} of {len(kappas)} kappas")
        return EXIT_NOT_CONVERGED
    return code


def sat_text(res) -> str:
    """A zero-energy :class:`~jaxcap.Result` in three (four, with a note) lines."""
    d = res.diagnostics
    q = ", ".join(f"{v:.6f}" for v in res.params["q"]) or "-"
    y = ", ".join(f"{v:.4f}" for v in res.params["y"]) or "-"
    note = "".join(f"\n  {m}" for m in res.messages if m)
    return (f"level {res.level}, kappa {res.kappa:g}: alpha_sat = {res.alpha:.12f}, dalpha/dkappa = "
            f"{res.dalpha_dkappa:.8f}\n  q = {q}, y = {y}\n  grad_norm = {d.grad_norm:.1e}, hessian_max_eig = "
            f"{d.hessian_max_eig:.3e}, quad_error = {d.quad_error:.1e} ({d.engine}), {d.seconds:.1f} s{note}")


def _temperature_spacing(args) -> dict:
    return {} if args.spacing is None else {"spacing": args.spacing}


def dat(args) -> int:
    from .. import dat_threshold
    res = dat_threshold(args.kappa, **_temperature_spacing(args))
    d = res["diagnostics"]
    emit(args, to_json(res), f"dAT line at kappa {args.kappa:g}: alpha = {res['alpha']:.10f} "
                    f"(beta = {res['beta']:.8f}, q = {res['q']:.8f}, dalpha/dkappa = {res['dalpha_dkappa']:.6f})\n"
                    f"  quad_error = {d['quad_error']:.1e}, {d['seconds']:.1f} s")
    return EXIT_OK


def rs(args) -> int:
    from .. import rs_state
    res = rs_state(args.alpha, args.beta, args.kappa, **_temperature_spacing(args))
    emit(args, to_json(res), "\n".join(f"{k} = {v}" for k, v in res.items()))
    return EXIT_OK
