"""Toward full RSB: the sequence ``α_r`` and its ``r → ∞`` extrapolation (``docs/theory.md#frsb``).

The level-``r`` thresholds decrease with ``r`` and converge to the FRSB value.
:func:`frsb_sequence` computes them level by level (each warm-started from the
ones before), saving every finished level to a checkpoint file so that an
interrupted run resumes where it stopped, and extrapolates them with
:func:`jaxcap._src.extrapolation.extrapolate` (from level 10 on the asymptotic series
``α_∞ + c_4 r^{−4} + c_5 r^{−5} + c_6 r^{−6}``; the models and their error bars are
described there).
"""
from __future__ import annotations

import time

from . import checkpoint as ckpt
from .extrapolation import extrapolate
from .result import FRSBResult, Result
from .threshold import threshold_chain

__all__ = ["frsb_sequence", "checkpoint_key"]


def checkpoint_key(kappa: float, engine=None, nodes=None, spacing=None) -> dict:
    """Everything that affects the thresholds a ``frsb`` checkpoint holds."""
    return {"kappa": float(kappa), "engine": engine, "nodes": nodes, "spacing": spacing}


def frsb_sequence(max_level: int, *, kappa: float = 0.0, checkpoint: str | None = None,
                  progress=None, on_write_error=None, **options) -> FRSBResult:
    """Thresholds ``α_0 … α_max_level`` and the extrapolation; resumable from ``checkpoint``.

    Returns a :class:`~jaxcap._src.result.FRSBResult`: ``levels`` (one :class:`~jaxcap._src.result.Result`
    per level), ``fit`` (:func:`extrapolate`), ``alpha_inf``, ``alpha_inf_err`` and ``seconds``.

    ``checkpoint`` (a path) receives every finished level (:mod:`jaxcap._src.checkpoint`); a rerun
    with the same ``kappa`` and ``options`` (``engine``, ``nodes``, ``spacing``) resumes after
    the last one, a file from other options is refused (``CheckpointError``, a ``ValueError``).
    ``progress(result, loaded)`` is called for each level, those loaded from the checkpoint
    (``loaded=True``) first; ``on_write_error(exc)``, when given, is
    called for a checkpoint write that failed (``OSError``) and the run goes on, else it raises.
    """
    t0 = time.perf_counter()
    done: list[Result] = []
    key = checkpoint_key(kappa, **options)
    if checkpoint:
        ckpt.check_writable(checkpoint, "checkpoint")
        done = [r for r in ckpt.read_levels(checkpoint, key) if r.level <= max_level]
    for res in done:
        if progress:
            progress(res, True)
    for res in threshold_chain(max_level, kappa=kappa, resume=done[-2:], **options):
        done.append(res)
        if checkpoint:
            try:
                ckpt.write_levels(checkpoint, key, done)
            except OSError as exc:
                if on_write_error is None:
                    raise
                on_write_error(exc)
        if progress:
            progress(res, False)
    fit = extrapolate([r.level for r in done], [r.alpha for r in done], series=True)
    return FRSBResult(kappa=kappa, levels=tuple(done), fit=fit, seconds=time.perf_counter() - t0)
