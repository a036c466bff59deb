"""What every solve returns, and the one way a result becomes JSON.

* :class:`Result`: a level-``r`` threshold or energy, single or batched.  It is a
  JAX pytree (``jax.tree_util.register_dataclass``): the numbers are leaves (so a
  ``Result`` can leave ``jax.jit``, ``jax.vmap`` and ``jax.grad``), the level, the
  kind of solve and the host's messages are static metadata.  A batched result
  (:func:`jaxcap.sweep`, :func:`jaxcap.energy_grid`, ``jax.vmap`` of a solve) has
  a leading axis on every leaf and supports ``len``, indexing and iteration.
* :class:`FRSBResult`: the thresholds level by level and their ``r → ∞`` extrapolation.
* :class:`Quantities`: named numbers of the finite-temperature solves (the dAT line, the RS
  state), read like a mapping.  The zero-energy line (``jaxcap.sat``) is a :class:`Result`.

``converged`` and ``reason`` mean the same everywhere: ``converged`` is true when
the returned point passed the verdict of :mod:`jaxcap._src.measurement`, and
``reason`` is ``None`` then, else one line saying why not.  Solves that cannot
return an unverified number raise :class:`ConvergenceError` instead.

:func:`to_json` turns any of them into the strict JSON of the command line
(non-finite numbers become ``null``, and a non-converged element carries its reason).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import numpy as np

from .params import Params
from .potential import from_key
from .status import MESSAGES, Status, message

__all__ = ["Result", "Diagnostics", "FRSBResult", "Quantities", "ConvergenceError", "to_json", "json_safe",
           "start_params", "not_converged", "REASONS", "dataclass_pytree", "sequence_pytree"]

#: Status codes of a solve (the ``status`` leaf of a :class:`Result`) and what each means
#: (:class:`jaxcap._src.status.Status`, as plain integers).
REASONS = {int(code): text for code, text in MESSAGES.items()}


def dataclass_pytree(meta):
    """``@dataclass(frozen=True)`` registered as a pytree: the fields in ``meta`` static, the rest leaves."""
    def wrap(cls):
        cls = dataclasses.dataclass(frozen=True)(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        return jax.tree_util.register_dataclass(cls, data_fields=[n for n in names if n not in meta],
                                                meta_fields=[n for n in names if n in meta])
    return wrap


class _Frozen(NamedTuple):
    """A dict or list of host metadata made hashable for a pytree's static part (:func:`sequence_pytree`)."""

    kind: type
    items: tuple


def _frozen(value):
    if isinstance(value, dict):
        return _Frozen(dict, tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return _Frozen(type(value), tuple(_frozen(v) for v in value))
    return value


def _thawed(value):
    if not isinstance(value, _Frozen):
        return value
    if value.kind is dict:
        return {k: _thawed(v) for k, v in value.items}
    return value.kind(_thawed(v) for v in value.items)


def sequence_pytree(data):
    """``@dataclass(frozen=True)`` registered as a pytree whose leaves are those of the fields in ``data``
    (the level results); every other field (``κ``, the fit's dict of host numbers and strings, the time)
    is static, kept as a hashable copy, so that a sequence passes through ``jax.tree.map`` and
    ``jax.jit`` with its fit intact."""
    def wrap(cls):
        cls = dataclasses.dataclass(frozen=True)(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        static = [n for n in names if n not in data]

        def flatten(obj):
            return ([getattr(obj, n) for n in data],
                    tuple((n, _frozen(getattr(obj, n))) for n in static))

        def unflatten(aux, children):
            return cls(**dict(zip(data, children)), **{n: _thawed(v) for n, v in aux})

        jax.tree_util.register_pytree_node(cls, flatten, unflatten)
        return cls
    return wrap


@dataclass_pytree(meta=("quad_nodes", "engine", "grid_spacing"))
class Diagnostics:
    """How far to trust a result.

    ``grad_norm`` and ``hessian_max_eig`` are taken in the natural coordinates
    ``(χ, q, x)`` at the returned point (≈ 0 and < 0 at a proper maximum);
    ``quad_error`` estimates the discretisation error (on ``α`` for a threshold,
    on the energy for an energy) from the change of ``E_r`` at fixed parameters
    when the engine is refined (``docs/theory.md#engines``).  ``engine``,
    ``quad_nodes`` and ``grid_spacing`` describe the engine (static metadata).
    """

    grad_norm: Any
    hessian_max_eig: Any
    quad_error: Any
    seconds: Any
    newton_steps: Any = 0
    starts_tried: Any = 1
    quad_nodes: int = 0
    engine: str = "tensor"
    grid_spacing: float | None = None


@dataclass_pytree(meta=("level", "kind", "messages", "potential"))
class Result:
    """A level-``r`` threshold (``kind="threshold"``) or energy (``kind="energy"``), single or batched.

    Leaves: ``alpha`` (the threshold ``α_r``, or the ``α`` of an energy), ``energy``
    (``e_r(α)``; 1 at a threshold), ``kappa``, ``params`` (always a :class:`~jaxcap._src.params.Params`
    of arrays, also read by name: ``chi``, ``q``, ``x``, and ``y = x`` on the zero-energy line:
    the maximiser, ``q`` and ``x`` with a last axis of length ``r``), the envelope
    derivatives (``dalpha_dkappa`` for a threshold; ``denergy_dalpha``,
    ``denergy_dkappa`` for an energy; ``None`` otherwise), ``status`` (0 when
    converged, else a code of :data:`REASONS`) and ``diagnostics``.

    Static: ``level``, ``kind``, ``messages`` (the host's one-line reason per
    element, flattened; empty when the result was computed under a JAX transformation) and
    ``potential`` (the key of the potential solved for, :func:`jaxcap._src.potential.key`, at ``κ = 0``;
    empty for the count).
    """

    alpha: Any
    energy: Any
    kappa: Any
    params: Params
    diagnostics: Diagnostics
    dalpha_dkappa: Any = None
    denergy_dalpha: Any = None
    denergy_dkappa: Any = None
    status: Any = 0
    level: int = 0
    kind: str = "threshold"
    messages: tuple = ()
    potential: tuple = ()

    @property
    def shape(self) -> tuple:
        """The batch shape (``()`` for a single solve)."""
        return tuple(np.shape(self.alpha))

    @property
    def converged(self):
        """Whether each element is a verified maximum (a bool, or a bool array for a batch)."""
        return self.status == 0

    @property
    def reason(self):
        """``None`` when converged, else why not (for a batch: an object array of them)."""
        status = np.asarray(self.status)
        messages = list(self.messages) if len(self.messages) == status.size else [""] * status.size
        reasons = [None if s == Status.CONVERGED else (m or message(s))
                   for s, m in zip(status.ravel(), messages)]
        return reasons[0] if status.ndim == 0 else np.array(reasons, dtype=object).reshape(status.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a single Result (it has no batch axis)")
        return self.shape[0]

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, index) -> "Result":
        """The elements ``index`` of the leading axis (a single :class:`Result` for an integer)."""
        if not self.shape:
            raise TypeError("a single Result cannot be indexed")
        size = int(np.prod(self.shape))
        messages = self.messages
        if len(messages) == size:
            picked = np.asarray(messages, dtype=object).reshape(self.shape)[index]
            messages = tuple(np.asarray(picked, dtype=object).ravel().tolist())
        leaves = jax.tree.map(lambda v: v[index], self)
        return dataclasses.replace(leaves, messages=messages)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


@sequence_pytree(data=("levels",))
class FRSBResult:
    """Thresholds ``α_0 … α_R`` (``levels``, :class:`Result` each) and the ``r → ∞`` extrapolation.

    ``fit`` holds ``alpha_inf``, ``alpha_inf_err``, the model and its parameters
    (:func:`jaxcap._src.extrapolation.extrapolate`); ``seconds`` the whole run.  A JAX pytree: its
    leaves are those of the level results, ``kappa``, ``fit`` and ``seconds`` are static.
    """

    kappa: float
    levels: tuple
    fit: dict
    seconds: float

    @property
    def alpha_inf(self) -> float:
        return self.fit["alpha_inf"]

    @property
    def alpha_inf_err(self) -> float:
        return self.fit["alpha_inf_err"]

    @property
    def converged(self) -> bool:
        return all(bool(r.converged) for r in self.levels)

    @property
    def reason(self):
        return next((f"level {r.level}: {r.reason}" for r in self.levels if not r.converged), None)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["values"], meta_fields=["kind"])
@dataclasses.dataclass(frozen=True)
class Quantities(Mapping):
    """Named numbers of a solve (``kind``: ``"dat"``, ``"rs"``), read like a mapping
    (``res["alpha"]``).  Such solves raise :class:`ConvergenceError` rather than return an
    unverified point, so ``converged`` is always true and ``reason`` ``None``."""

    kind: str
    values: dict

    converged = True
    reason = None

    def __getitem__(self, key):
        return self.values[key]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


class ConvergenceError(RuntimeError):
    """A solve that did not reach a verified, non-degenerate maximum (CLI exit code 3)."""

    def __init__(self, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or {}


def not_converged(kind: str, level: int, kappa, alpha=None, reason: str = "", status: int = Status.NO_SOLUTION,
                  engine: str = "grid") -> Result:
    """The :class:`Result` of a solve that did not converge (``throw=False``, :mod:`jaxcap._src.status`): NaN
    values of the shapes a converged one has (the batch shape of ``kappa``, or of ``alpha`` and ``kappa``
    broadcast), ``status`` and the one-line ``reason`` per element."""
    kappa = np.asarray(kappa, float)
    alpha = np.full(kappa.shape, np.nan) if alpha is None else np.asarray(alpha, float)
    shape = np.broadcast_shapes(np.shape(alpha), kappa.shape)
    nan = np.full(shape, np.nan)
    vec = np.full(shape + (level,), np.nan)
    params = Params(np.ones(shape) if kind == "sat" else nan.copy(), vec, vec.copy())
    slopes = ({"denergy_dalpha": nan.copy(), "denergy_dkappa": nan.copy()} if kind == "energy"
              else {"dalpha_dkappa": nan.copy()})
    scalar = lambda v: float(v) if not shape else v  # noqa: E731
    return Result(alpha=scalar(nan if kind != "energy" else np.broadcast_to(alpha, shape).copy()),
                  energy=scalar(nan.copy()), kappa=scalar(np.broadcast_to(kappa, shape).copy()),
                  params=params,
                  diagnostics=Diagnostics(grad_norm=scalar(nan.copy()), hessian_max_eig=scalar(nan.copy()),
                                          quad_error=scalar(nan.copy()), seconds=scalar(nan.copy()),
                                          newton_steps=0 if not shape else np.zeros(shape, int),
                                          starts_tried=0 if not shape else np.zeros(shape, int), engine=engine),
                  status=int(status) if not shape else np.full(shape, int(status)), level=level, kind=kind,
                  messages=(reason,) * max(1, int(np.prod(shape))),
                  **{k: scalar(v) for k, v in slopes.items()})


def json_safe(payload):
    """``payload`` as strict JSON data: NumPy/JAX numbers and arrays as Python numbers and lists,
    every non-finite number ``None``; in a dict, their places and what they were are listed under
    ``"non_finite"`` (``{"results[2].alpha": "nan", ...}``)."""
    reasons = {}

    def walk(obj, where):
        if isinstance(obj, (np.ndarray, jax.Array, np.generic)):
            obj = np.asarray(obj).tolist()
        if isinstance(obj, float) and not math.isfinite(obj):
            reasons[where or "value"] = "nan" if math.isnan(obj) else ("+inf" if obj > 0 else "-inf")
            return None
        if isinstance(obj, Mapping):
            return {str(k): walk(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return obj

    out = walk(payload, "")
    if reasons and isinstance(out, dict):
        out["non_finite"] = {**out.get("non_finite", {}), **reasons}
    return out


def _number(v):
    return float(np.asarray(v))


def _count(v):
    v = float(np.asarray(v))
    return int(v) if math.isfinite(v) else None


def _params_json(params, kind: str) -> dict:
    if kind == "sat":  # the zero-energy line: (q, y), no chi
        return {"q": np.asarray(params["q"], float).tolist(), "y": np.asarray(params["y"], float).tolist()}
    return {"chi": _number(params["chi"]), "q": np.asarray(params["q"], float).tolist(),
            "x": np.asarray(params["x"], float).tolist()}


def _slopes(res: Result) -> dict:
    keys = ("dalpha_dkappa",) if res.kind in ("threshold", "sat") else ("denergy_dalpha", "denergy_dkappa")
    return {k: _number(getattr(res, k)) for k in keys if getattr(res, k) is not None}


def _single_json(res: Result) -> dict:
    d = res.diagnostics
    diag = {"grad_norm": _number(d.grad_norm), "hessian_max_eig": _number(d.hessian_max_eig),
            "quad_nodes": d.quad_nodes, "quad_error": _number(d.quad_error), "seconds": _number(d.seconds),
            "engine": d.engine, "grid_spacing": d.grid_spacing, "newton_steps": _count(d.newton_steps),
            "starts_tried": _count(d.starts_tried), "converged": bool(res.converged),
            "message": res.reason or ""}
    return {"alpha": _number(res.alpha), "energy": _number(res.energy), "level": res.level,
            "kappa": _number(res.kappa), "params": _params_json(res.params, res.kind), "diagnostics": diag,
            **_slopes(res), **_potential_json(res.potential)}


def _potential_json(key: tuple) -> dict:
    """``{"potential": …}``, the potential's pieces at ``κ = 0`` (the form of a potential's JSON file), when
    it is not the count."""
    return {"potential": from_key(key).as_dict()} if key else {}


def _element_json(res: Result) -> dict:
    """One element of a batch: the form of ``jaxcap sweep --json``."""
    d = res.diagnostics
    diag = {"grad_norm": _number(d.grad_norm), "hessian_max_eig": _number(d.hessian_max_eig),
            "newton_steps": _count(d.newton_steps), "quad_error": _number(d.quad_error)}
    if not res.converged:
        diag["reason"] = res.reason
    if res.kind == "threshold":
        head = {"kappa": _number(res.kappa), "alpha": _number(res.alpha), **_slopes(res)}
    else:
        head = {"alpha": _number(res.alpha), "kappa": _number(res.kappa), "energy": _number(res.energy),
                **_slopes(res)}
    return {**head, "converged": bool(res.converged), "params": _params_json(res.params, res.kind),
            "diagnostics": diag}


def _batch_json(res: Result) -> list:
    return [json_safe(_element_json(r)) if len(r.shape) == 0 else _batch_json(r) for r in res]


def to_json(result) -> dict | list:
    """``result`` as strict JSON data (a dict; a list, nested per axis, for a batched :class:`Result`).

    A single :class:`Result` gives ``alpha, energy, level, kappa, params, diagnostics``
    and its envelope derivatives; each element of a batch gives the form of
    ``jaxcap sweep --json`` (``converged``, and ``diagnostics.reason`` when not converged).
    Non-finite numbers become ``None``, listed under ``"non_finite"`` (:func:`json_safe`).

    Raises:
        TypeError: ``result`` is not a jaxcap result.
    """
    if isinstance(result, Result):
        out = _single_json(result) if not result.shape else _batch_json(result)
    elif isinstance(result, FRSBResult):
        out = {"kappa": result.kappa, "levels": [r.level for r in result.levels],
               "alphas": [_number(r.alpha) for r in result.levels], **result.fit, "seconds": result.seconds,
               "results": [to_json(r) for r in result.levels]}
    elif isinstance(result, Quantities):
        out = dict(result.values)
    else:
        raise TypeError(f"to_json takes a jaxcap result, got {type(result).__name__}")
    return out if isinstance(out, list) else json_safe(out)


def from_json(data: dict) -> Result:
    """A single threshold or energy :class:`Result` back from :func:`to_json` (for checkpoints)."""
    d = dict(data["diagnostics"])
    converged, message = d.pop("converged", True), d.pop("message", "")
    kind = "threshold" if "dalpha_dkappa" in data else "energy"
    nan = lambda v: float("nan") if v is None else v
    return Result(alpha=nan(data["alpha"]), energy=nan(data["energy"]), kappa=data["kappa"], level=data["level"],
                  params=Params(np.asarray(data["params"]["chi"], float), np.asarray(data["params"]["q"], float),
                                np.asarray(data["params"]["x"], float)),
                  diagnostics=Diagnostics(**{k: nan(v) if k in ("grad_norm", "hessian_max_eig", "quad_error")
                                             else v for k, v in d.items()}),
                  dalpha_dkappa=data.get("dalpha_dkappa"), denergy_dalpha=data.get("denergy_dalpha"),
                  denergy_dkappa=data.get("denergy_dkappa"), kind=kind,
                  status=int(Status.CONVERGED if converged else Status.NO_SOLUTION),
                  messages=() if converged else (message,))


def start_params(start, level: int) -> Params:
    """A level-``level`` point from ``start``: a :class:`Result`, :class:`~jaxcap._src.params.Params`,
    a dict with ``chi``, ``q``, ``x`` or a ``(chi, q, x)`` tuple."""
    p = start.params if isinstance(start, Result) else start
    if isinstance(p, tuple) and not isinstance(p, Params):
        p = {"chi": p[0], "q": p[1], "x": p[2]}
    if isinstance(p, dict):
        p = Params(*(np.asarray(p[k], np.float64) for k in ("chi", "q", "x")))
    if np.atleast_1d(p.q).shape[0] != level:
        raise ValueError(f"start is a level-{np.atleast_1d(p.q).shape[0]} point, expected level {level}")
    return Params(np.asarray(p.chi, np.float64), np.atleast_1d(np.asarray(p.q, np.float64)),
                  np.atleast_1d(np.asarray(p.x, np.float64)))
