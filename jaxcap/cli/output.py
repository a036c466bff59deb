"""What the command line prints: strict JSON (``--json``) or text on stdout, messages on stderr.

With ``--json`` stdout holds exactly one JSON object, written with ``allow_nan=False``:
a non-finite number becomes ``null`` and its place is listed, with the reason, under
``"non_finite"`` (``{"results[2].alpha": "nan", ...}``).  Progress and logs go to stderr.
"""
from __future__ import annotations

import json
import sys

from .. import json_safe


def strict(payload: dict) -> dict:
    """``payload`` as strict JSON data: non-finite numbers ``None``, their places under ``"non_finite"``
    (:func:`jaxcap.json_safe`)."""
    return json_safe(payload)


def dumps(payload: dict) -> str:
    """One line of strict JSON."""
    return json.dumps(strict(payload), allow_nan=False, default=str)


def emit(args, payload: dict, text: str) -> None:
    """Print ``payload`` as JSON (``--json``) or ``text`` on stdout (``OSError`` when there is no stdout)."""
    if sys.stdout is None:
        raise OSError("stdout is closed: the results cannot be printed")
    print(dumps(payload) if getattr(args, "json", False) else text, flush=True)


def say(message: str) -> None:
    """One line on stderr."""
    print(message, file=sys.stderr, flush=True)


def number(value, spec: str) -> str:
    """``value`` formatted with ``spec``; ``nan`` for ``None``."""
    return format(float("nan") if value is None else value, spec)


def result_text(res) -> str:
    """A threshold or energy :class:`~jaxcap.Result` in three lines."""
    d = res.diagnostics
    slope = (f", dalpha/dkappa = {res.dalpha_dkappa:.8f}" if res.dalpha_dkappa is not None else
             f", de/dalpha = {res.denergy_dalpha:.8f}, de/dkappa = {res.denergy_dkappa:.8f}")
    return "\n".join([
        f"level {res.level}, kappa {res.kappa:g}: alpha = {res.alpha:.10f}, energy = {res.energy:.12f}{slope}",
        f"  chi = {res.params['chi']:.8f}, q = {list(map(float, res.params['q']))}, "
        f"x = {list(map(float, res.params['x']))}",
        f"  grad_norm = {d.grad_norm:.1e}, hessian_max_eig = {d.hessian_max_eig:.3e}, "
        f"quad_error = {d.quad_error:.1e} ({d.engine}), {d.seconds:.1f} s",
    ])


def levels_table(kappa: float, rows, seconds: float) -> str:
    """The ``table`` command's text: one line per level."""
    lines = [f"Injectivity threshold of x -> ReLU(Wx), kappa = {kappa:g}",
             f"{'level':>5} {'alpha_r':>12} {'chi':>9} {'q':>28} {'x':>28} {'quad err':>9} {'seconds':>8}"]
    for r in rows:
        q = ", ".join(f"{v:.4f}" for v in r.params["q"]) or "-"
        x = ", ".join(f"{v:.3f}" for v in r.params["x"]) or "-"
        lines.append(f"{r.level:>5} {r.alpha:>12.8f} {r.params['chi']:>9.5f} {q:>28} {x:>28} "
                     f"{r.diagnostics.quad_error:>9.1e} {r.diagnostics.seconds:>8.1f}")
    lines.append(f"total {seconds:.1f} s")
    return "\n".join(lines)


def sweep_table(payload: dict) -> str:
    """A sweep (``sweep``, ``curve``) as a readable table."""
    lines = [f"level {payload['level']}: alpha(kappa), {len(payload['results'])} thresholds in "
             f"{payload['seconds']:.2f} s",
             f"{'kappa':>10} {'alpha':>16} {'dalpha/dkappa':>14} {'grad_norm':>9}  ok"]
    for r in payload["results"]:
        lines.append(f"{r['kappa']:>10.5f} {number(r['alpha'], '>16.10f')} {number(r['dalpha_dkappa'], '>14.7f')} "
                     f"{number(r['diagnostics']['grad_norm'], '>9.1e')}  {'yes' if r['converged'] else 'NO'}")
    return "\n".join(lines)


def finite_table(out: dict) -> str:
    """The ``finite`` command's text."""
    lines = [f"n = {out['n']}, trials = {out['trials']}, seed = {out['seed']} "
             f"(P(injective) with 95% Wilson interval; injective iff min_active >= n)",
             f"{'alpha':>8} {'m':>5} {'P(inj)':>8} {'95% CI':>17} {'mean min_active/n':>18}"]
    for r in out["results"]:
        lines.append(f"{r['alpha']:8.4g} {r['m']:5d} {r['p_injective']:8.3f} "
                     f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] {r['mean_min_active_over_n']:18.4f}")
    lines.append(f"({out['seconds']:.1f} s)")
    return "\n".join(lines)


def _fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def bench_summary(e: dict) -> str:
    """One benchmark task in a line (progress on stderr)."""
    if e.get("error"):
        return f"FAILED: {e['error']}"
    s = f"cold {_fmt(e['seconds_cold'])} s, warm {_fmt(e['seconds_warm'])} s"
    if e["kind"] == "grad":
        s += f" ({_fmt(e.get('evals_per_second'), '.4g')} evals/s)"
    if e.get("baseline_seconds") is not None:
        s += (f", baseline {_fmt(e['baseline_seconds'])} s, speedup cold {_fmt(e['speedup_cold'])}x "
              f"warm {_fmt(e['speedup_warm'])}x")
    if e.get("accuracy") is not None:
        s += f", accuracy {e['accuracy']:.1e} ({e['accuracy_kind']})"
    return s


def bench_table(payload: dict) -> str:
    """The side-by-side table (threshold and sweep tasks) and the throughput table, in Markdown."""
    rows = ["| task | jaxcap cold (s) | jaxcap warm (s) [min–max] | SciPy baseline (s) | speedup cold | "
            "speedup warm | α jaxcap | α baseline | difference / accuracy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in payload["tasks"]:
        if e["kind"] == "grad":
            continue
        if e.get("error"):
            rows.append(f"| {e['name']} | failed: {e['error']} |||||||||")
            continue
        spread = e["warm_spread"] or [None, None]
        warm = f"{_fmt(e['seconds_warm'])} [{_fmt(spread[0])}–{_fmt(spread[1])}]"
        sx = lambda v: "-" if v is None else f"{v:.3g}×"
        if e["kind"] in ("threshold", "frsb"):
            a, b = _fmt(e.get("alpha"), ".9f"), _fmt(e.get("baseline_alpha"), ".9f")
            diff = (f"{e['alpha_difference']:+.1e}" if e.get("alpha_difference") is not None
                    else f"{e['accuracy_kind']} {_fmt(e.get('accuracy'), '.1e')}")
        else:
            a = f"{len(e['kappas'])} values"
            b = f"{len(e.get('baseline_alphas') or [])} values" if e.get("baseline_alphas") else "-"
            diff = (f"max {e['accuracy']:.1e}" if (e.get("accuracy_kind") or "").startswith("max")
                    else f"quad_error {_fmt(e.get('quad_error'), '.1e')}")
        rows.append(f"| {e['name']} | {_fmt(e['seconds_cold'])} | {warm} | {_fmt(e.get('baseline_seconds'))} | "
                    f"{sx(e.get('speedup_cold'))} | {sx(e.get('speedup_warm'))} | {a} | {b} | {diff} |")
    grads = [e for e in payload["tasks"] if e["kind"] == "grad" and not e.get("error")]
    if grads:
        rows += ["", "| value_and_grad of E_r | level | cold: compile + 1st eval (s) | warm (ms / eval) [min–max] "
                 "| evals / s |", "|---|---:|---:|---:|---:|"]
        for e in grads:
            eng = (f"grid (spacing {e['grid_spacing']:g}, {e['nodes']} points)" if e["engine"] == "grid"
                   else f"tensor, {e['nodes']} nodes ({e['leaf_evaluations']:.3g} leaf evals)")
            sp = e["warm_spread"]
            rows.append(f"| {eng} | {e['level']} | {_fmt(e['seconds_cold'])} | {e['seconds_warm'] * 1e3:.3g} "
                        f"[{sp[0] * 1e3:.3g}–{sp[1] * 1e3:.3g}] | {e['evals_per_second']:.4g} |")
    return "\n".join(rows)


def euler_text(payload: dict) -> str:
    """``jaxcap euler --n N --m M``: the exact ``E χ(K)`` (abridged when long) and its size."""
    frac = payload["expected_euler"]
    shown = frac if len(frac) <= 120 else f"{frac[:50]}...{frac[-50:]} ({len(frac)} characters; --json has it all)"
    return "\n".join([f"E chi(K) at n = {payload['n']}, m = {payload['m']} (alpha = m/n = {payload['alpha']:.6g}):",
                      f"  exactly {shown}",
                      f"  = {payload['value']:.12g}, log|E chi| = {number(payload['log_abs_value'], '.6f')}, "
                      f"(1/n) log|E chi| = {number(payload['rate'], '.6f')}"])


def euler_threshold_text(payload: dict) -> str:
    """``jaxcap euler --threshold``: ``α_Euler`` and the finite-size crossings approaching it."""
    lines = [f"alpha_Euler = {payload['alpha']:.15f} +- {payload['alpha_err']:.1e}  "
             f"(root of the limit rate; {payload['alpha_digits']})",
             f"  saddle rho = {payload['rho']:.12f}, d rate/d alpha = {payload['slope']:.10f}"]
    if payload["crossings"]:
        lines.append(f"{'n':>7} {'alpha_n (exact)':>17} {'saddle-point':>14} {'alpha_n - alpha_Euler':>22}")
        lines += [f"{c['n']:>7} {c['alpha_n']:>17.10f} {c['predicted']:>14.10f} {c['gap']:>22.3e}"
                  for c in payload["crossings"]]
    return "\n".join(lines)


def euler_line(euler: dict | None, rs_alpha: float | None) -> str:
    """The ``table`` command's line for the Euler-characteristic prediction (``""`` when there is none)."""
    if euler is None:
        return ""
    versus = (f": refuted, it lies above the rigorous RS upper bound alpha_0 = {rs_alpha:.7f}" if rs_alpha is not None
              and rs_alpha < euler["alpha"] else "")
    return f"\nEuler-characteristic heuristic: alpha_Euler = {euler['alpha']:.10f}{versus}"
