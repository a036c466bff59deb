"""The one enumeration of how a solve ended, and the rule for reporting it (``docs/guide/jax.md#status``).

Every solve, concrete, batched or traced, ends with one :class:`Status` per element: the
``status`` leaf of its :class:`~jaxcap._src.result.Result` (an integer, or an integer array for a
batch; under JAX transformations a traced ``int32``).  ``Status.CONVERGED`` (0) means the
returned point passed the verdict of :mod:`jaxcap._src.measurement`; every other code has a fixed
one-line message (:attr:`Status.message`), to which a host solve adds its particulars
(``Result.reason``).

The rule (``throw=``): a concrete solve with ``throw=True`` (the default) raises
:class:`~jaxcap._src.result.ConvergenceError` when it did not converge; with ``throw=False`` it returns
a :class:`~jaxcap._src.result.Result` with NaN values, a non-zero ``status`` and the reason.  A
batched or traced solve never raises for an element (nothing can be raised from inside a
compiled program): its failed elements carry their status.  Invalid arguments raise
``TypeError``/``ValueError`` whatever ``throw`` says (:mod:`jaxcap._src.validation`).
"""
from __future__ import annotations

import enum

import numpy as np

__all__ = ["Status", "MESSAGES", "message"]


class Status(enum.IntEnum):
    """How a solve ended (an ``int``: it is the ``status`` leaf of a result, compared as a number)."""

    CONVERGED = 0
    NON_FINITE = 1
    DEGENERATE = 2
    UNRESOLVED = 3
    NOT_MAXIMUM = 4
    NO_SOLUTION = 5
    INVALID_INPUT = 6
    OUT_OF_RANGE = 7

    @property
    def message(self) -> str | None:
        """The code's one-line meaning (``None`` for :attr:`CONVERGED`)."""
        return MESSAGES[self]


#: What each code means.
MESSAGES = {
    Status.CONVERGED: None,
    Status.NON_FINITE: "non-finite",
    Status.DEGENERATE: "degenerate (merged levels)",
    Status.UNRESOLVED: "not resolved by the engine",
    Status.NOT_MAXIMUM: "not a verified maximum (gradient above tolerance or Hessian not negative definite)",
    Status.NO_SOLUTION: "no start reached a verified non-degenerate maximum",
    Status.INVALID_INPUT: "invalid input (kappa not finite, or alpha not a finite number > 0)",
    Status.OUT_OF_RANGE: "kappa outside the kappa_range the traced engine was fitted to",
}


def message(code) -> str | None:
    """The message of ``code`` (an int, a NumPy or JAX scalar), or ``"status N"`` for an unknown one."""
    value = int(np.asarray(code))
    try:
        return Status(value).message
    except ValueError:
        return f"status {value}"
