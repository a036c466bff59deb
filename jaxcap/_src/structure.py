"""The ground state a level-``r`` solution describes: the law of the fields, the contacts, the Parisi
function (``docs/theory.md#structure``).

**The tilted law.**  Along the nesting of ``docs/theory.md#functional`` the cavity field is built
level by level, ``h_0 = √q_0 z_0`` and ``h_{l+1} = h_l + √(q_{l+1} − q_l) z_{l+1}`` (``q_r = 1``),
each step weighted by ``exp(x_l [f_{l+1}(h_{l+1}) − f_l(h_l)])``.  Each weight has mean 1 given
``h_l`` (``f_l`` is the log-mean of the level below), so the path has a law, and the law of
``h_{l}`` is the derivative of ``G = E f_0`` with respect to ``f_l``:

    E_tilted[φ(h_{r−1})] = ∂/∂ε  G(f_{r−1} → f_{r−1} + εφ)  at ε = 0.

So the engines give the law without any new recursion: :func:`tilted_mean` differentiates an
engine's ``outer_mean`` along a stack of ``probe`` functions (reverse-mode autodiff is the
forward recursion).  The last step, from ``h_{r−1}`` to ``h_r``, is in closed form: its three
pieces (:func:`jaxcap._src.leaf.innermost_log_pieces`; two on the zero-energy line) are the
probabilities, given ``h_{r−1}``, that ``h_r`` ends negative (``h_r ≤ κ``), at contact
(``κ < h_r < κ + √(2χ)``: the ground-state field ``u*`` is pushed to ``κ``) or positive; Stein's
identity gives the means ``E[(h_r − κ) 1_R | h_{r−1}] = π_R (d + s² ∂_d log M_R(d))``; and the
tilted Gaussian kernel gives the density of ``h_r``.  Level 0 is the same last step from
``h_{−1} = 0`` with ``s² = 1`` and no tilt.

At a maximiser, stationarity under ``(χ, x) → t(χ, x)`` gives ``e_r = α P(positive)`` (1 at the
threshold), the check of the whole construction; the contacts per dimension are
``c_r = α P(contact)``.  On the zero-energy line (``χ → ∞``, ``y = x/χ``, the hinge leaf) every
``h_r > κ`` is a contact and ``P(positive) = 0``.

The regions are the count's: the structure is of a result of the count ``1[u > κ]`` (``potential=None``)
only.  For another potential (``docs/theory.md#potentials``) the fates of a row are the cells of its
leaf (the interior of a piece, or a breakpoint) and the last step needs their separate masses, which
the potential's closed form does not give: :func:`structure` refuses such a result.

The κ-derivatives along the solution (``d/dκ`` at the moving optimum) are the implicit
function theorem's: ``du*/dκ = −H⁻¹ ∂²φ/∂u∂κ`` for the solve's objective ``φ``
(:data:`jaxcap._src.solver.OBJECTIVES`), and ``dα/dκ`` the envelope theorem's (the result's own).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from . import guards
from .compilation import jit
from .engine import make_engine
from .leaf import hinge_innermost_log_pieces, innermost_log_pieces, leaf_hinge, leaf_moreau
from .params import Params, to_reduced, to_unconstrained
from .result import Result, dataclass_pytree, json_safe
from .solver import OBJECTIVES, coordinates, value_grad_hessian

__all__ = ["Structure", "structure", "structure_at", "tilted_mean", "last_step", "last_step_density",
           "parisi_step", "default_field_grid", "REGIONS"]

#: The three fates of a row, in the order of every ``fractions`` vector.
REGIONS = ("negative", "contact", "positive")
#: The default grid of the densities: ``h`` from −6 to 6 in steps of 0.05.
DENSITY_HALF_WIDTH, DENSITY_POINTS = 6.0, 241
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def default_field_grid() -> np.ndarray:
    """The ``h`` at which :func:`structure` evaluates the densities by default."""
    return np.linspace(-DENSITY_HALF_WIDTH, DENSITY_HALF_WIDTH, DENSITY_POINTS)


def _log_pieces(d, chi, s2, m, hinge: bool):
    """``log M_R(d)`` for the regions of the leaf, ``d = h_{r−1} − κ``: ``(negative, contact, positive)``
    for the Moreau leaf, ``(negative, contact)`` for the hinge."""
    if hinge:
        return hinge_innermost_log_pieces(d, s2, m, 0.0)
    below, above, middle = innermost_log_pieces(d, chi, s2, m, 0.0)
    return jnp.stack([below, middle, above])


def last_step(d, chi, s2, m, hinge: bool = False):
    """``(π, μ)``, each of shape ``(3,) + d.shape``: given ``d = h_{r−1} − κ``, the probabilities that the last
    tilted step ``h_r = h_{r−1} + s z`` (``s² = s2``, weight ``∝ e^{m f_r(h_r)}``) ends in each of
    :data:`REGIONS`, and ``E[(h_r − κ) 1_R]`` by Stein's identity ``π_R (d + s² ∂_d log M_R)``
    (``docs/theory.md#structure``).  ``hinge``: the zero-energy line (``m = y``; no positive region)."""
    d = jnp.asarray(d, jnp.result_type(float))
    logs, slopes = jax.jvp(lambda v: _log_pieces(v, chi, s2, m, hinge), (d,), (jnp.ones_like(d),))
    prob = jnp.exp(logs - logsumexp(logs, axis=0))
    mean = prob * (d + s2 * slopes)
    if hinge:
        zero = jnp.zeros((1,) + d.shape, prob.dtype)
        prob, mean = jnp.concatenate([prob, zero]), jnp.concatenate([mean, zero])
    return prob, mean


def last_step_density(t, d, chi, s2, m, hinge: bool = False):
    """The density of ``h_r − κ`` at the points ``t`` (1-d) given ``d = h_{r−1} − κ``, of shape
    ``t.shape + d.shape``.

    ``N(t; d, s²) e^{m f_r(t)} / M(d)`` with ``f_r`` the leaf (Moreau, or the hinge ``−t_+²/2``) and
    ``M = Σ_R M_R`` its normalisation (``docs/theory.md#structure``)."""
    d = jnp.asarray(d, jnp.result_type(float))
    tt = jnp.reshape(jnp.asarray(t), jnp.shape(t) + (1,) * d.ndim)
    leaf = leaf_hinge(tt, 0.0) if hinge else leaf_moreau(tt, chi, 0.0)
    norm = logsumexp(_log_pieces(d, chi, s2, m, hinge), axis=0)
    return jnp.exp(-0.5 * (tt - d) ** 2 / s2 - 0.5 * jnp.log(s2) - _LOG_SQRT_2PI + m * leaf - norm)


def tilted_mean(fn, size: int, params: Params, kappa, engine):
    """``E[fn(h_{r−1} − κ)]`` under the tilted law of ``h_{r−1}`` (``fn`` returns a stack of ``size``
    functions on a first axis): the gradient of ``engine.outer_mean`` along the probes ``ε · fn``
    at ``ε = 0`` (``docs/theory.md#structure``)."""
    def outer(eps):
        return engine.outer_mean(params, kappa, probe=lambda d: jnp.tensordot(eps, fn(d), axes=1))
    return jax.grad(outer)(jnp.zeros(size))


def _law(params: Params, kappa, t, engine, hinge: bool):
    """``(fractions, means, density)`` of ``h_r``: the :func:`last_step` quantities and the density at
    ``t = h − κ``, averaged over the tilted law of ``h_{r−1}`` (at level 0: the last step from ``d = −κ``)."""
    chi, q, x = params
    r = q.shape[0]
    s2, m = (1.0 - q[-1], x[-1]) if r else (1.0, 0.0)
    n = t.shape[0]

    def fn(d):
        prob, mean = last_step(d, chi, s2, m, hinge)
        return jnp.concatenate([prob, mean, last_step_density(t, d, chi, s2, m, hinge)])

    values = fn(-jnp.asarray(kappa, float)) if r == 0 else tilted_mean(fn, 6 + n, params, kappa, engine)
    return values[:3], values[3:6], values[6:6 + n]


def structure_at(alpha, params: Params, kappa, engine=None, *, leaf: str = "moreau", h=None) -> dict:
    """The structure of the point ``(α, params)`` at ``κ`` as JAX arrays (a pure, differentiable function of
    ``alpha``, ``params`` and ``kappa``; ``engine`` is static and unused at level 0).

    Returns a dict: ``fractions`` (:data:`REGIONS` order), ``contacts_per_dimension`` (``α P(contact)``),
    ``alpha_positive`` (``α P(positive)``, the energy at a maximiser), ``mean_h``, ``mean_u`` (the first
    moments of ``h_r`` and of ``u*``), ``h``, ``density_h`` and ``density_u`` (the continuous part of the
    law of ``u*``; its atom at ``κ`` is ``fractions[1]``).  ``leaf="hinge"``: the zero-energy line
    (``params.x`` holds ``y``).
    """
    hinge = leaf == "hinge"
    h = jnp.asarray(default_field_grid() if h is None else h, float)
    t = h - kappa
    fractions, means, density = _law(params, kappa, t, engine, hinge)
    outside = (t <= 0.0) if hinge else ((t <= 0.0) | (t >= jnp.sqrt(2.0 * params.chi)))
    return {"fractions": fractions, "contacts_per_dimension": alpha * fractions[1],
            "alpha_positive": alpha * fractions[2], "mean_h": kappa + jnp.sum(means),
            "mean_u": kappa + means[0] + means[2], "h": h, "density_h": density,
            "density_u": jnp.where(outside, density, 0.0)}


@jit(static_argnames=("engine", "leaf"))
def _structure_compiled(alpha, params, kappa, h, *, engine, leaf):
    return structure_at(alpha, params, kappa, engine, leaf=leaf, h=h)


@jit(static_argnames=("engine", "objective", "leaf"))
def _kappa_tangents(u, alpha, kappa, *, engine, objective, leaf):
    """``(du*/dκ, ∂F/∂κ + ∂F/∂u · du*/dκ)`` for the fractions ``F`` at the optimum ``u`` of ``objective``
    (``alpha``: its fixed number):
    the implicit function theorem on ``∇_u φ(u*, κ) = 0``, ``du*/dκ = −H⁻¹ ∂²φ/∂u∂κ``, with the Hessian of
    ``φ`` in ``(u, κ)`` from central differences of exact gradients
    (:func:`jaxcap._src.solver.value_grad_hessian`), and the derivative of ``F`` along ``(du*/dκ, 1)`` exact (a JVP)."""
    n = u.shape[0]
    phi = lambda v, _: OBJECTIVES[objective](v[:n], alpha, v[n], engine)  # noqa: E731
    hess = value_grad_hessian(phi, jnp.concatenate([u, kappa[None]]), jnp.zeros(()))[2]
    du = -jnp.linalg.solve(hess[:n, :n], hess[:n, n])
    to_params = coordinates(objective)
    fractions = lambda v, k: _law(to_params(v), k, jnp.zeros(0), engine, leaf == "hinge")[0]  # noqa: E731
    return du, jax.jvp(fractions, (u, kappa), (du, jnp.ones_like(kappa)))[1]


def _rs_fractions_tangent(params: Params, kappa, leaf: str):
    """``dF/dκ`` of a point with no free parameter (the zero-energy line's RS point)."""
    fractions = lambda k: _law(params, k, jnp.zeros(0), None, leaf == "hinge")[0]  # noqa: E731
    return jax.jvp(fractions, (kappa,), (jnp.ones_like(kappa),))[1]


def parisi_step(xs, qs, at):
    """The level-``r`` Parisi function at the points ``at``: ``q(x) = q_l`` for ``x_{l−1} < x ≤ x_l``
    (``x_{−1} = 0``) and 1 beyond ``x_{r−1}`` (``docs/theory.md#structure``); 1 everywhere at level 0."""
    xs, qs, at = np.atleast_1d(np.asarray(xs, float)), np.atleast_1d(np.asarray(qs, float)), np.asarray(at, float)
    values = np.concatenate([qs, [1.0]])
    return values[np.searchsorted(xs, at, side="left")]


@dataclass_pytree(meta=("level", "kind", "variable"))
class Structure:
    """The ground state of one level-``r`` solution (a JAX pytree: numbers as leaves, ``level``, ``kind``
    and ``variable`` static).

    * ``fractions``: ``{"negative", "contact", "positive"}``, the fractions of the ``m`` rows whose
      ground-state field ``u*`` lies below ``κ``, at ``κ``, above ``κ`` (they sum to 1);
    * ``contacts_per_dimension``: ``α P(contact)``; ``alpha_positive``: ``α P(positive)`` (the energy);
    * ``parisi``: ``{"x", "q"}``, the step function ``q(x)`` (:func:`parisi_step`; ``variable`` is ``"y"``
      on the zero-energy line, where ``x`` holds ``y = x/χ``);
    * ``density``: ``{"h", "h_density", "u_density", "contact_atom"}``: the density of ``h_r`` and
      the continuous part of the law of ``u*`` on the grid ``h``, and the atom at ``κ``;
    * ``moments``: ``{"mean_h", "mean_u"}``;
    * ``dfractions_dkappa`` and ``dcontacts_dkappa``: derivatives along the solution (``d/dκ`` with
      the optimum moving), ``None`` when not computed.
    """

    alpha: Any
    kappa: Any
    energy: Any
    fractions: dict
    contacts_per_dimension: Any
    alpha_positive: Any
    parisi: dict
    density: dict
    moments: dict
    dfractions_dkappa: Any = None
    dcontacts_dkappa: Any = None
    level: int = 0
    kind: str = "threshold"
    variable: str = "x"

    def __getitem__(self, key: str):
        """A field by name (``s["contacts_per_dimension"]``), as in the JSON of :meth:`to_json`."""
        if key not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def parisi_at(self, at):
        """``q(x)`` at the points ``at`` (:func:`parisi_step`)."""
        return parisi_step(self.parisi["x"], self.parisi["q"], at)

    def to_json(self, densities: bool = True) -> dict:
        """Strict-JSON data: the keys of the command line's ``jaxcap structure --json``."""
        out = {"kind": self.kind, "alpha": self.alpha, "level": self.level, "kappa": self.kappa,
               "energy": self.energy, "fractions": dict(self.fractions),
               "contacts_per_dimension": self.contacts_per_dimension, "alpha_positive": self.alpha_positive,
               "parisi": {"x": self.parisi["x"], "q": self.parisi["q"], "variable": self.variable},
               "moments": dict(self.moments)}
        if self.dcontacts_dkappa is not None:
            out["dcontacts_dkappa"] = self.dcontacts_dkappa
            out["dfractions_dkappa"] = dict(self.dfractions_dkappa)
        if densities:
            out["density"] = dict(self.density)
        return json_safe(out)


def _point(result: Result) -> tuple[Params, str, int]:
    """``(params, leaf, level of the point)`` of a result: the zero-energy line's ``(1, q, y)`` on the hinge."""
    p = result.params
    if result.kind == "sat":
        q = np.asarray(p["q"], float)
        return Params(np.ones(()), q, np.asarray(p["y"], float)), "hinge", q.size
    q = np.atleast_1d(np.asarray(p["q"], float))
    return Params(np.asarray(float(p["chi"])), q, np.atleast_1d(np.asarray(p["x"], float))), "moreau", q.size


def _engine_for(result: Result, params: Params, leaf: str, level: int, options: dict, fields: int):
    """The engine of the structure: the result's kind of engine (or ``options``), fitted to the point; on the
    hinge without ranges (:meth:`~jaxcap._src.grid.GridEngine.fitted`), so that every path ends on the innermost grid."""
    if level == 0:
        return None
    unknown = set(options) - {"engine", "nodes", "spacing"}
    if unknown:
        raise TypeError(f"unexpected options: {', '.join(sorted(unknown))}")
    name = options.get("engine") or (result.diagnostics.engine if result.diagnostics.engine in ("grid", "tensor")
                                     else None)
    nodes = options.get("nodes") or (result.diagnostics.quad_nodes if name == "tensor" else None)
    engine = make_engine(level, name, nodes, options.get("spacing"), float(result.kappa), leaf=leaf)
    engine = engine.fitted(params, ranged=False)
    subject = f"the structure at level {level} on the {engine.name} engine"
    guards.check_engine(engine, level, subject)
    # the probes: one value per innermost point and probe, forward and backward (about 4 copies)
    points = engine.innermost_points(level)
    why = guards.MAX_MEMORY_GB.exceeded(4 * 8 * points * (6 + fields) / 1e9, subject + f" with {fields} fields h")
    if why:
        raise ValueError(why)
    return engine


def structure(result: Result, *, h: Any = None, derivatives: bool = False, **options: Any) -> Structure:
    """The ground state of a converged threshold, energy or zero-energy :class:`~jaxcap._src.result.Result`
    (``docs/theory.md#structure``, ``docs/guide/structure.md``).

    Args:
        result: a single converged result of :func:`jaxcap.threshold`, :func:`jaxcap.energy` or
            :func:`jaxcap.sat`, at any level.
        h: the fields at which the densities are evaluated (default :func:`default_field_grid`).
        derivatives: also compute ``dfractions_dkappa`` and ``dcontacts_dkappa`` along the solution
            (implicit function theorem; an autodiff Hessian of the objective).
        **options: ``engine`` (``"grid"`` or ``"tensor"``; default: the result's), ``nodes``, ``spacing``.

    Returns:
        A :class:`Structure`.

    Raises:
        ValueError: a batched or non-converged result, one that is not a threshold, energy or
            zero-energy result, a result of another potential than the count (module docstring), ``h``
            not a 1-d array of finite numbers, or an engine beyond the limits of :mod:`jaxcap._src.guards`.
    """
    if not isinstance(result, Result) or result.kind not in ("threshold", "energy", "sat"):
        raise ValueError("structure needs a Result of jaxcap.threshold, jaxcap.energy or jaxcap.sat")
    if result.potential:
        raise ValueError(f"structure supports the count only (potential=None); this result is of the "
                         f"potential {result.potential[0]!r}")
    if result.shape:
        raise ValueError("structure takes a single Result; iterate over a batched one")
    if not bool(result.converged):
        raise ValueError(f"structure needs a converged result ({result.reason})")
    params, leaf, level = _point(result)
    h = np.atleast_1d(np.asarray(default_field_grid() if h is None else h, float))
    if h.ndim != 1 or not np.all(np.isfinite(h)):
        raise ValueError("h must be a one-dimensional array of finite fields")
    engine = _engine_for(result, params, leaf, level, options, h.size)
    alpha, kappa = float(result.alpha), float(result.kappa)
    out = jax.device_get(_structure_compiled(alpha, params, kappa, h, engine=engine, leaf=leaf))
    fractions = [float(v) for v in out["fractions"]]
    dfrac = dcontacts = None
    if derivatives:
        dalpha = 0.0 if result.kind == "energy" else float(result.dalpha_dkappa)
        if leaf == "hinge" and level == 0:
            df = np.asarray(_rs_fractions_tangent(params, jnp.asarray(kappa), leaf))
        else:
            objective = {"threshold": "threshold", "energy": "energy", "sat": "zero_energy"}[result.kind]
            u = to_reduced(params) if leaf == "hinge" else to_unconstrained(params)
            # the objective's fixed number: α of an energy, ε − 1 of a threshold (jaxcap._src.solver)
            fixed = alpha if objective == "energy" else float(result.energy) - 1.0
            _, df = _kappa_tangents(jnp.asarray(u), fixed, jnp.asarray(kappa), engine=engine, objective=objective,
                                    leaf=leaf)
            df = np.asarray(df)
        dfrac = dict(zip(REGIONS, (float(v) for v in df)))
        dcontacts = dalpha * fractions[1] + alpha * float(df[1])
    variable = "y" if leaf == "hinge" else "x"
    return Structure(
        alpha=alpha, kappa=kappa, energy=float(result.energy), fractions=dict(zip(REGIONS, fractions)),
        contacts_per_dimension=float(out["contacts_per_dimension"]), alpha_positive=float(out["alpha_positive"]),
        parisi={"x": [float(v) for v in params.x], "q": [float(v) for v in params.q]},
        density={"h": h.tolist(), "h_density": np.asarray(out["density_h"]).tolist(),
                 "u_density": np.asarray(out["density_u"]).tolist(), "contact_atom": fractions[1]},
        moments={"mean_h": float(out["mean_h"]), "mean_u": float(out["mean_u"])},
        dfractions_dkappa=dfrac, dcontacts_dkappa=dcontacts, level=int(result.level), kind=result.kind,
        variable=variable)
