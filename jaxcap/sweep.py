"""Many thresholds in one compiled, vmapped (and sharded) program (issue 8).

The threshold at ``κ`` is ``α_r(κ) = min_θ A(θ, κ)`` with ``A = (1 − S)/(−G)``
(:mod:`jaxcap.solver`); at the minimiser ``E_r(α_r, θ) = 1`` and ``∇_θ E_r = 0``,
because ``∇A = 0 ⇔ ∇S = A ∇G``.  A sweep over ``κ_1 … κ_n`` therefore needs no
Newton in ``α`` at all: per ``κ`` it minimises ``φ(u) = log A(θ(u), κ)`` in the
unconstrained coordinates ``u`` of :mod:`jaxcap.params`, all ``κ`` at once:

1. one ordinary :func:`jaxcap.threshold` at the middle ``κ`` gives a verified
   start ``u*`` (and the engine is fitted to it, its grid widened to cover
   every ``κ`` of the batch);
2. optionally a coarse pass: the same Newton iteration on ``m`` equispaced ``κ``
   of the range from ``u*``, then each component of ``u`` interpolated
   linearly in ``κ`` to every element (continuation without a Python loop);
3. optionally a few L-BFGS steps (optax, as in :func:`jaxcap.solver.ascend`);
4. at most ``newton_iters`` saddle-free damped Newton steps on ``φ``
   (``δu = −V |Λ|⁻¹ Vᵀ ∇φ`` with Armijo backtracking, ``lax.while_loop`` that
   stops when every element has ``‖∇φ‖ ≤ 1e−13``), keeping the iterate with
   the smallest ``‖∇φ‖``;
5. per element: ``α = e^φ``, the gradient norm and the largest Hessian
   eigenvalue of ``E_r(α, ·)`` in ``(χ, q, x)`` (``∇_θ E = −J⁻ᵀ ∇_u(−E)``,
   ``∇²_θ E = −J⁻ᵀ ∇²_u(−E) J⁻¹`` at a stationary point, ``J = ∂θ/∂u``) and
   ``dα/dκ = −α (∂G/∂κ)/G`` (envelope theorem, :mod:`jaxcap.sensitivity`).

Steps 2–5 are one ``jit`` of a ``vmap`` over ``κ``; the batch axis is sharded
over ``jax.devices()`` (``Mesh`` + ``NamedSharding(mesh, P('batch'))``), padded
to a multiple of the device count by repeating the last ``κ``.  An element is
``converged`` when ``‖∇_θ E‖ ≤ 1e−9``, the Hessian is negative definite, the
point is not degenerate (:func:`jaxcap.params.degeneracy`) and the engine
resolves it; the others are reported with their diagnostics, never dropped.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import sys
import time
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .functional import energy_functional, outer_mean
from .params import Params, degeneracy, from_unconstrained, to_unconstrained
from .solver import _lbfgs, log_threshold_ratio

__all__ = ["Plan", "plan", "solve_batch", "sweep", "register"]

GRAD_TOL = 1e-9


class Plan(NamedTuple):
    """What every chunk of a sweep shares: the level, the (static) engine and the start ``u*``."""

    level: int
    engine: object
    start: Params


# ---------------------------------------------------------------------------------------------
# the traced program

def _flat(params: Params):
    return jnp.concatenate([jnp.atleast_1d(params.chi), params.q, params.x])


def _newton_step(phi, u, floor_rel=1e-10, min_t=1e-4):
    """One saddle-free Newton step on ``phi`` with Armijo backtracking; returns ``(u_new, ‖∇φ(u)‖)``."""
    value, grad = jax.value_and_grad(phi)(u)
    hess = jax.hessian(phi)(u)
    lam, vec = jnp.linalg.eigh(0.5 * (hess + hess.T))
    floor = floor_rel * jnp.max(jnp.abs(lam)) + 1e-300
    step = -vec @ ((vec.T @ grad) / jnp.maximum(jnp.abs(lam), floor))
    step = jnp.where(jnp.all(jnp.isfinite(step)), step, jnp.zeros_like(step))
    slope = grad @ step
    slack = 1e-14 * (1.0 + jnp.abs(value))  # below the rounding of φ near the optimum

    def short(c):
        t, trial = c
        return (t > min_t) & ~(jnp.isfinite(trial) & (trial <= value + 1e-4 * t * slope + slack))

    t, trial = jax.lax.while_loop(short, lambda c: (0.5 * c[0], phi(u + 0.5 * c[0] * step)),
                                  (1.0, phi(u + step)))
    accept = jnp.isfinite(trial) & (trial <= value + slack)
    return jnp.where(accept, u + t * step, u), jnp.linalg.norm(grad)


def _newton(phi, u0, iterations, tol=1e-13):
    """At most ``iterations`` damped Newton steps, stopping once ``‖∇φ‖ ≤ tol``; returns the
    measured iterate with the smallest ``‖∇φ‖``.  Under ``vmap`` the loop runs until every
    element has stopped (finished elements keep their point: a step there is rejected or tiny)."""
    def cond(carry):
        it, _, _, best_g = carry
        return (it < iterations) & ~(best_g <= tol)

    def body(carry):
        it, u, best_u, best_g = carry
        u_new, g = _newton_step(phi, u)
        better = jnp.isfinite(g) & (g < best_g)
        return it + 1, jnp.where(best_g <= tol, u, u_new), jnp.where(better, u, best_u), jnp.where(better, g, best_g)

    init = (jnp.asarray(0, jnp.int32), u0, u0, jnp.asarray(jnp.inf, u0.dtype))
    _, u, best_u, best_g = jax.lax.while_loop(cond, body, init)
    g_last = jnp.linalg.norm(jax.grad(phi)(u))
    return jnp.where(jnp.isfinite(g_last) & (g_last < best_g), u, best_u)


def _diagnostics(u, kappa, engine):
    """``α``, ``dα/dκ`` and the stationarity of ``E_r(α, ·)`` in ``(χ, q, x)`` at ``u`` (module docstring, step 5)."""
    alpha = jnp.exp(log_threshold_ratio(u, 0.0, kappa, engine))
    neg_e = lambda v: -energy_functional(alpha, from_unconstrained(v), kappa, engine)
    grad_u, hess_u = jax.grad(neg_e)(u), jax.hessian(neg_e)(u)
    jac = jax.jacfwd(lambda v: _flat(from_unconstrained(v)))(u)
    jinv = jnp.linalg.inv(jac)
    g = -jinv.T @ grad_u
    h = -jinv.T @ hess_u @ jinv
    lam_max = jnp.max(jnp.linalg.eigvalsh(0.5 * (h + h.T)))
    params = from_unconstrained(u)
    big_g, dg = jax.value_and_grad(lambda k: outer_mean(params, k, engine))(kappa)
    return dict(alpha=alpha, dalpha_dkappa=-alpha * dg / big_g, grad_norm=jnp.linalg.norm(g),
                hessian_max_eig=lam_max, chi=params.chi, q=params.q, x=params.x)


def _interp_starts(kappas, coarse_k, coarse_u):
    """Each component of ``u`` interpolated linearly in ``κ`` from the coarse pass."""
    return jax.vmap(lambda col: jnp.interp(kappas, coarse_k, col), in_axes=1, out_axes=1)(coarse_u)


@functools.partial(jax.jit, static_argnames=("engine", "ascent_steps", "coarse"))
def _program(kappas, u0, bounds, newton_iters, *, engine, ascent_steps, coarse):
    """The whole batch: (coarse pass, interpolation,) L-BFGS, Newton, diagnostics; vmapped over ``κ``."""
    def solve_one(u_start, kappa):
        phi = lambda v: log_threshold_ratio(v, 0.0, kappa, engine)
        u = u_start
        if ascent_steps:
            u, *_ = _lbfgs(phi, u, ascent_steps, 1e-12)
        return _newton(phi, u, newton_iters)

    if coarse >= 2:
        coarse_k = jnp.linspace(bounds[0], bounds[1], coarse)
        coarse_u = jax.vmap(solve_one, in_axes=(None, 0))(u0, coarse_k)
        starts = _interp_starts(kappas, coarse_k, coarse_u)
    else:
        starts = jnp.broadcast_to(u0, (kappas.shape[0], u0.shape[0]))
    us = jax.vmap(solve_one)(starts, kappas)
    return jax.vmap(lambda u, k: _diagnostics(u, k, engine))(us, kappas)


# ---------------------------------------------------------------------------------------------
# host side

def _check_kappas(kappas) -> np.ndarray:
    k = np.asarray(kappas, dtype=float)
    if k.ndim != 1 or k.size == 0:
        raise ValueError(f"kappas must be a non-empty 1-D sequence, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError("kappas must be finite")
    return k


def _batch_engine(level: int, kappas: np.ndarray, engine, nodes, spacing):
    """The engine for the whole batch: for the grid, the union of the grids around ``min κ`` and ``max κ``.

    Level 0 is closed-form and ignores the engine: one canonical engine, one compiled program.
    """
    from .threshold import make_engine
    if level == 0:
        return make_engine(0, engine, nodes, spacing, 0.0)
    lo_eng = make_engine(level, engine, nodes, spacing, float(kappas.min()))
    hi_eng = make_engine(level, engine, nodes, spacing, float(kappas.max()))
    if hasattr(lo_eng, "lo"):
        return dataclasses.replace(lo_eng, lo=min(lo_eng.lo, hi_eng.lo), hi=max(lo_eng.hi, hi_eng.hi))
    return lo_eng


def plan(level: int, kappas, *, engine: str | None = None, nodes: int | None = None,
         spacing: float | None = None, start=None) -> Plan:
    """Solve the middle ``κ`` one at a time (from ``start`` when given) and fit the batch engine to it."""
    from .threshold import _as_params, _check_common, threshold
    k = _check_kappas(kappas)
    _check_common(level, float(k[0]))
    k0 = float(k[len(k) // 2])
    opts = dict(engine=engine, nodes=nodes, spacing=spacing)
    if start is None:
        ref = threshold(level, kappa=k0, **opts)
        params = _as_params(ref, level)
    else:
        params = _as_params(start, level)
    eng = _batch_engine(level, k, engine, nodes, spacing)
    if level:
        eng = eng.fitted(params)
    return Plan(level, eng, params)


def _mesh(devices) -> Mesh:
    return Mesh(np.asarray(list(devices)), ("batch",))


def _element(level, kappa, engine, out: dict, i: int) -> dict:
    """One element of the batch as a plain dict, with its ``converged`` verdict."""
    params = Params(np.float64(out["chi"][i]), np.asarray(out["q"][i]), np.asarray(out["x"][i]))
    gnorm, lam = float(out["grad_norm"][i]), float(out["hessian_max_eig"][i])
    alpha = float(out["alpha"][i])
    finite = all(np.isfinite(v) for v in (alpha, gnorm, lam, float(params.chi)))
    why = (degeneracy(params) or (engine.check(params) if level else None)) if finite else "non-finite"
    converged = bool(finite and why is None and gnorm <= GRAD_TOL and lam < 0.0)
    diag = {"grad_norm": gnorm, "hessian_max_eig": lam}
    if why:
        diag["reason"] = why
    return dict(kappa=float(kappa), alpha=alpha, dalpha_dkappa=float(out["dalpha_dkappa"][i]),
                converged=converged, params=params.as_dict(), diagnostics=diag)


def solve_batch(p: Plan, kappas, *, bounds=None, devices=None, size: int | None = None,
                newton_iters: int = 12, ascent_steps: int = 0, coarse: int = 0) -> list[dict]:
    """The thresholds at ``kappas`` from plan ``p``, in one compiled program sharded over ``devices``.

    ``size`` pads the batch (repeating the last ``κ``) so that chunks of one sweep
    share one compiled program; ``bounds`` is the ``κ`` range of the coarse pass
    (default: this batch's own range).
    """
    k = _check_kappas(kappas)
    devices = list(devices or jax.devices())
    n = max(len(k), size or 0)
    n = -(-n // len(devices)) * len(devices)
    padded = np.concatenate([k, np.full(n - len(k), k[-1])])
    sharding = NamedSharding(_mesh(devices), PartitionSpec("batch"))
    kap = jax.device_put(jnp.asarray(padded), sharding)
    lo, hi = (float(k.min()), float(k.max())) if bounds is None else map(float, bounds)
    out = _program(kap, to_unconstrained(p.start), jnp.asarray([lo, hi]), jnp.asarray(int(newton_iters)),
                   engine=p.engine, ascent_steps=int(ascent_steps), coarse=int(coarse))
    out = jax.tree_util.tree_map(np.asarray, out)
    return [_element(p.level, k[i], p.engine, out, i) for i in range(len(k))]


def sweep(level: int, kappas, *, engine: str | None = None, nodes: int | None = None,
          spacing: float | None = None, start=None, chunk: int | None = None, devices=None,
          newton_iters: int = 12, ascent_steps: int = 0, coarse: int = 0,
          progress: Callable[[int, int, list], None] | None = None) -> list[dict]:
    """Level-``level`` thresholds at every ``κ`` of ``kappas``, batched (module docstring).

    Returns one dict per ``κ``, in order: ``kappa``, ``alpha``, ``dalpha_dkappa``,
    ``converged``, ``params`` (``chi``, ``q``, ``x``) and ``diagnostics``
    (``grad_norm``, ``hessian_max_eig``, and ``reason`` when degenerate).
    ``chunk`` splits the batch into programs of that many ``κ`` (one compilation);
    ``progress(i, n_chunks, results)`` is called after each chunk.
    """
    k = _check_kappas(kappas)
    p = plan(level, k, engine=engine, nodes=nodes, spacing=spacing, start=start)
    size = int(chunk) if chunk else len(k)
    if size < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    chunks = [k[i:i + size] for i in range(0, len(k), size)]
    results = []
    for i, part in enumerate(chunks):
        res = solve_batch(p, part, bounds=(k.min(), k.max()), devices=devices, size=size,
                          newton_iters=newton_iters, ascent_steps=ascent_steps, coarse=coarse)
        results += res
        if progress:
            progress(i, len(chunks), res)
    return results


# ---------------------------------------------------------------------------------------------
# command line: ``jaxcap sweep``

EXIT_NOT_CONVERGED = 3


def _kappa_grid(args) -> np.ndarray:
    """The ``κ`` grid of the command line, or ``ValueError`` with a one-line reason."""
    for name in ("kappa_from", "kappa_to"):
        if not math.isfinite(getattr(args, name)):
            raise ValueError(f"--{name.replace('_', '-')} must be finite, got {getattr(args, name)!r}")
    if args.points < 2:
        raise ValueError(f"--points must be an integer >= 2, got {args.points}")
    if args.kappa_to <= args.kappa_from:
        raise ValueError(f"--kappa-to ({args.kappa_to}) must exceed --kappa-from ({args.kappa_from})")
    if args.chunk is not None and args.chunk < 1:
        raise ValueError(f"--chunk must be an integer >= 1, got {args.chunk}")
    if args.newton_iters < 0:
        raise ValueError(f"--newton-iters must be a non-negative integer, got {args.newton_iters}")
    if args.level < 0:
        raise ValueError(f"--level must be a non-negative integer, got {args.level}")
    return np.linspace(args.kappa_from, args.kappa_to, args.points)


def _checkpoint_key(args, kappas) -> dict:
    return {"level": args.level, "kappas": [float(k) for k in kappas], "chunk": args.chunk,
            "engine": args.engine, "nodes": args.nodes, "spacing": args.spacing}


def _load_checkpoint(path, key) -> tuple[dict | None, dict]:
    """``(start params, {chunk index: results})`` from ``path``; empty when there is no file."""
    if not path or not os.path.exists(path):
        return None, {}
    with open(path) as fh:
        data = json.load(fh)
    if data.get("key") != key:
        raise ValueError(f"checkpoint {path} belongs to a different sweep (level, kappas, chunk or engine differ)")
    return data.get("start"), {int(i): r for i, r in data.get("chunks", {}).items()}


def _save_checkpoint(path, key, start: dict, done: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump({"key": key, "start": start, "chunks": {str(i): r for i, r in sorted(done.items())}}, fh)
    os.replace(tmp, path)  # atomic: an interrupted write never corrupts the checkpoint


def run_sweep(args, solve: Callable | None = None, log=None) -> dict:
    """The ``sweep`` subcommand without printing: resumes from and writes ``args.checkpoint``.

    Returns ``{"level", "results", "seconds"}``.  ``solve`` is :func:`solve_batch`
    (a parameter so tests can count the chunks actually computed).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    solve = solve or functools.partial(solve_batch, newton_iters=args.newton_iters)
    t0 = time.perf_counter()
    kappas = _kappa_grid(args)
    key = _checkpoint_key(args, kappas)
    start, done = _load_checkpoint(args.checkpoint, key)
    p = plan(args.level, kappas, engine=args.engine, nodes=args.nodes, spacing=args.spacing, start=start)
    start = p.start.as_dict()
    size = args.chunk or len(kappas)
    chunks = [kappas[i:i + size] for i in range(0, len(kappas), size)]
    for i, part in enumerate(chunks):
        if i in done:
            log(f"sweep: chunk {i + 1}/{len(chunks)} from checkpoint")
            continue
        t = time.perf_counter()
        done[i] = solve(p, part, bounds=(kappas.min(), kappas.max()), size=size)
        bad = sum(not r["converged"] for r in done[i])
        log(f"sweep: chunk {i + 1}/{len(chunks)}: {len(part)} thresholds in {time.perf_counter() - t:.2f} s"
            + (f", {bad} not converged" if bad else ""))
        if args.checkpoint:
            _save_checkpoint(args.checkpoint, key, start, done)
    results = [r for i in range(len(chunks)) for r in done[i]]
    return {"level": args.level, "results": results, "seconds": time.perf_counter() - t0}


def _plot(path, results) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'jaxcap[plot]'") from None
    ks = np.array([r["kappa"] for r in results])
    al = np.array([r["alpha"] for r in results])
    ok = np.array([r["converged"] for r in results])
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot(ks, al, "-", lw=1)
    ax.plot(ks[ok], al[ok], "o", ms=3, label="converged")
    if (~ok).any():
        ax.plot(ks[~ok], al[~ok], "rx", ms=5, label="not converged")
    ax.set_xlabel("kappa")
    ax.set_ylabel("alpha")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cmd_sweep(args) -> int:
    """Print the sweep (JSON alone on stdout with ``--json``); return 3 when any element did not converge."""
    payload = run_sweep(args)
    from .result import _finite_or_none
    payload = _finite_or_none(payload)
    if args.plot:
        _plot(args.plot, payload["results"])
    if args.json:
        print(json.dumps(payload))
    else:
        lines = [f"level {args.level}: alpha(kappa), {len(payload['results'])} thresholds in {payload['seconds']:.2f} s",
                 f"{'kappa':>10} {'alpha':>16} {'dalpha/dkappa':>14} {'grad_norm':>9}  ok"]
        for r in payload["results"]:
            lines.append(f"{r['kappa']:>10.5f} {r['alpha'] if r['alpha'] is not None else float('nan'):>16.10f} "
                         f"{r['dalpha_dkappa'] if r['dalpha_dkappa'] is not None else float('nan'):>14.7f} "
                         f"{r['diagnostics']['grad_norm'] if r['diagnostics']['grad_norm'] is not None else float('nan'):>9.1e}"
                         f"  {'yes' if r['converged'] else 'NO'}")
        print("\n".join(lines))
    bad = [r["kappa"] for r in payload["results"] if not r["converged"]]
    if bad:
        print(f"jaxcap: not converged: {len(bad)} of {len(payload['results'])} thresholds "
              f"(kappa = {', '.join(f'{k:g}' for k in bad[:8])}{' ...' if len(bad) > 8 else ''})", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return 0


def register(subparsers) -> None:
    """Add ``jaxcap sweep`` to the CLI's subparsers (exit codes: 0, 2 via ``ValueError``, 3 returned)."""
    p = subparsers.add_parser("sweep", help="many thresholds alpha_R(kappa) in one batched, sharded program")
    p.add_argument("--level", type=int, required=True)
    p.add_argument("--kappa-from", type=float, required=True)
    p.add_argument("--kappa-to", type=float, required=True)
    p.add_argument("--points", type=int, required=True)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--plot", metavar="FILE", help="write alpha against kappa (needs matplotlib)")
    p.add_argument("--checkpoint", metavar="FILE", help="save finished chunks here; a rerun resumes from it")
    p.add_argument("--chunk", type=int, default=None, help="thresholds per compiled batch (default: all)")
    p.add_argument("--engine", choices=["grid", "tensor"], default=None)
    p.add_argument("--spacing", type=float, default=None, help="grid spacing (grid engine)")
    p.add_argument("--nodes", type=int, default=None, help="Gauss-Hermite nodes per level (tensor engine)")
    p.add_argument("--newton-iters", type=int, default=12, help="Newton steps per threshold (fixed budget)")
    p.set_defaults(func=_cmd_sweep)
