"""Result objects and the non-convergence error (DESIGN §5, interface contract)."""
from __future__ import annotations

import dataclasses
import json
import math


@dataclasses.dataclass(frozen=True)
class Diagnostics:
    """How far to trust a result.

    ``grad_norm`` and ``hessian_max_eig`` are taken in the natural coordinates
    ``(χ, q, x)`` at the returned point (≈ 0 and < 0 at a proper maximum);
    ``quad_error`` estimates the discretisation error (on ``α`` for a
    threshold, on the energy for an energy) from the change of ``E_r`` at fixed
    parameters when the engine is refined (DESIGN §4).
    """

    grad_norm: float
    hessian_max_eig: float
    quad_nodes: int
    quad_error: float
    seconds: float
    engine: str = "tensor"
    grid_spacing: float | None = None
    newton_steps: int = 0
    starts_tried: int = 0
    converged: bool = True
    message: str = ""


@dataclasses.dataclass(frozen=True)
class Result:
    """A level-``r`` energy or threshold with its optimal parameters and diagnostics.

    Thresholds carry ``dalpha_dkappa``; energies carry ``denergy_dalpha`` and
    ``denergy_dkappa`` (envelope theorem, :mod:`jaxcap.sensitivity`).
    """

    alpha: float
    energy: float
    level: int
    kappa: float
    params: dict
    diagnostics: Diagnostics
    dalpha_dkappa: float | None = None
    denergy_dalpha: float | None = None
    denergy_dkappa: float | None = None

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key in ("dalpha_dkappa", "denergy_dalpha", "denergy_dkappa"):
            if out[key] is None:
                out.pop(key)
        return _finite_or_none(out)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


class ConvergenceError(RuntimeError):
    """A solve that did not reach a verified, non-degenerate maximum (CLI exit code 3)."""

    def __init__(self, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or {}


def _finite_or_none(obj):
    """JSON has no inf/nan: map them to ``None`` recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj
