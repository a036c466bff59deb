"""``jaxcap structure``: the ground state of a level-``R`` solution, or of levels ``0 … K`` with the
``r → ∞`` limit of the contacts (:func:`jaxcap.structure`, :func:`jaxcap.structure_sequence`)."""
from __future__ import annotations

from . import options as opt
from . import plotting
from .commands import write_plot
from .errors import EXIT_OK, BadInput
from .output import emit, say


def register(sub) -> None:
    """Add ``structure`` to the ``jaxcap`` subparsers."""
    p = sub.add_parser("structure", help="the ground state: fractions of rows negative / at contact / positive, "
                                         "contacts per dimension, the Parisi function, the law of the fields")
    p.add_argument("--level", type=opt.level, default=None, help="one lifting level R")
    p.add_argument("--max-level", type=opt.level, default=None, help="levels 0..K instead of one level")
    p.add_argument("--sat", action="store_true", help="on the zero-energy line alpha_sat(kappa) instead of the "
                                                       "threshold (energy 1)")
    p.add_argument("--extrapolate", action="store_true",
                   help="the r -> infinity limit of the contacts per dimension (with --max-level K >= 3)")
    p.add_argument("--plot", metavar="FILE", help="q(x) by level, the law of u* with its contact atom, and c_r "
                                                  "against r (needs matplotlib)")
    opt.add_engine_options(p)
    p.set_defaults(run=run, check=check)


def check(args) -> None:
    """Exactly one of ``--level`` and ``--max-level``; ``--extrapolate`` with ``--max-level K >= 3``."""
    if (args.level is None) == (args.max_level is None):
        raise BadInput("structure needs exactly one of --level R and --max-level K")
    if args.extrapolate and (args.max_level is None or args.max_level < 3):
        raise BadInput("--extrapolate needs --max-level K >= 3 (the fit needs levels 1, 2, 3)")
    opt.check_plot(args.plot)


def _text(s) -> str:
    on = "zero-energy line" if s.kind == "sat" else s.kind
    f = s.fractions
    return "\n".join([
        f"level {s.level}, kappa {s.kappa:g} ({on}): alpha = {s.alpha:.10f}",
        f"  fractions of the rows: negative {f['negative']:.9f}, contact {f['contact']:.9f}, "
        f"positive {f['positive']:.9f}",
        f"  contacts per dimension c = {s.contacts_per_dimension:.9f}, alpha * P(positive) = {s.alpha_positive:.9f}",
        f"  Parisi function: q = {[round(v, 9) for v in s.parisi['q']]} on {s.variable} <= "
        f"{[round(v, 6) for v in s.parisi['x']]}, then 1",
        f"  mean h = {s.moments['mean_h']:.9f}, mean u* = {s.moments['mean_u']:.9f}",
    ])


def run(args) -> int:
    from .. import structure
    engine = opt.engine_options(args)
    if args.level is not None:
        if args.sat:
            from .. import sat
            res = sat(args.kappa, args.level, **engine)
        else:
            import jaxcap
            res = jaxcap.threshold(args.level, kappa=args.kappa, **engine)
        s = structure(res, **engine)
        emit(args, s.to_json(), _text(s))
        return write_plot(plotting.structure, args.plot, [s], {}, {})
    from .. import structure_sequence

    def progress(res, st):
        say(f"level {st.level}: alpha = {st.alpha:.10f}, c = {st.contacts_per_dimension:.9f} "
            f"({res.diagnostics.seconds:.1f} s)")

    seq = structure_sequence(args.max_level, args.kappa, sat=args.sat, progress=progress, **engine)
    top = seq.structures[-1]
    payload = top.to_json(densities=False)
    payload["per_level"] = [s.to_json(densities=False) for s in seq.structures]
    payload["levels"] = seq.levels
    payload["contacts_per_dimension_by_level"] = seq.contacts
    text = [_text(s) for s in seq.structures]
    fit = seq.fit if args.extrapolate else {}
    if fit:
        payload.update(contacts_per_dimension_inf=fit["contacts_per_dimension_inf"],
                       contacts_per_dimension_inf_err=fit["contacts_per_dimension_inf_err"], fit=fit)
        text.append(f"c_inf = {fit['contacts_per_dimension_inf']:.6f} +- {fit['contacts_per_dimension_inf_err']:.1e}"
                    f"  ({fit['model']})")
        if not fit.get("reliable", True):
            text.append(f"unreliable: {fit['reliability']}")
        if seq.parisi:
            payload["parisi_inf"] = seq.parisi
    emit(args, payload, "\n".join(text))
    return write_plot(plotting.structure, args.plot, list(seq.structures), fit, seq.parisi if fit else {})
