"""Derivatives of energies and thresholds by the envelope theorem (DESIGN §2).

At a maximiser ``θ*`` of ``E_r(α, θ, κ) = S(θ) − α G(θ, κ)`` the parameters are
stationary, so the total derivatives need no derivative of ``θ*``:

    ∂e_r/∂α = −G,         ∂e_r/∂κ = −α ∂G/∂κ,
    dα_r/dκ = −(∂E_r/∂κ)/(∂E_r/∂α) = −α (∂G/∂κ) / G.

When ``κ`` (or ``α``) is traced, :func:`jaxcap.threshold` / :func:`jaxcap.energy`
route through :func:`traced_result`: the host-side solve runs in
``jax.pure_callback`` and ``jax.custom_jvp`` attaches these derivatives, so
``jax.grad`` (or ``jax.jvp``, inside ``jit`` too) of a threshold never
differentiates through solver iterations.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .functional import outer_mean
from .params import Params

__all__ = ["outer_mean_and_dkappa", "dalpha_dkappa", "denergy", "traced_result"]


@functools.partial(jax.jit, static_argnames=("engine",))
def outer_mean_and_dkappa(params: Params, kappa, engine):
    """``(G, ∂G/∂κ)`` at fixed parameters."""
    return jax.value_and_grad(lambda k: outer_mean(params, k, engine))(kappa)


def dalpha_dkappa(alpha, params: Params, kappa, engine):
    """``dα_r/dκ = −α (∂G/∂κ)/G`` at a threshold solution (envelope theorem)."""
    g, dg = outer_mean_and_dkappa(params, kappa, engine)
    return -alpha * dg / g


def denergy(alpha, params: Params, kappa, engine):
    """``(∂e_r/∂α, ∂e_r/∂κ) = (−G, −α ∂G/∂κ)`` at an energy solution."""
    g, dg = outer_mean_and_dkappa(params, kappa, engine)
    return -g, -alpha * dg


_DIAG = ("grad_norm", "hessian_max_eig", "quad_error", "seconds")


def _solve_on_host(kind, level, options, alpha, kappa):
    """The concrete solve behind the callback: ``(alpha, energy, chi, q, x, *diagnostics)``."""
    from .threshold import energy, threshold
    kappa = float(np.asarray(kappa))
    if kind == "threshold":
        res = threshold(level, kappa=kappa, **dict(options))
    else:
        res = energy(float(np.asarray(alpha)), level, kappa=kappa, **dict(options))
    d = res.diagnostics
    scalars = [res.alpha, res.energy, res.params["chi"]] + [getattr(d, k) for k in _DIAG]
    f = [np.float64(v) for v in scalars]
    return (*f[:3], np.asarray(res.params["q"], np.float64), np.asarray(res.params["x"], np.float64), *f[3:])


def _callback(kind, level, options, alpha, kappa):
    f = jax.ShapeDtypeStruct((), jnp.float64)
    v = jax.ShapeDtypeStruct((level,), jnp.float64)
    shapes = (f, f, f, v, v) + (f,) * len(_DIAG)
    return jax.pure_callback(functools.partial(_solve_on_host, kind, level, options), shapes, alpha, kappa)


def _engine(level, options, kappa):
    """The engine of the solve; its static grid is placed around the concrete ``κ`` when known."""
    from .threshold import make_engine
    opts = dict(options)
    try:
        k = float(kappa)
    except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        k = 0.0
    return make_engine(level, opts.get("engine"), opts.get("nodes"), opts.get("spacing"), k)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _solve_fn(kind, level, options, alpha, kappa):
    return _callback(kind, level, options, alpha, kappa)


@_solve_fn.defjvp
def _solve_jvp(kind, level, options, primals, tangents):
    alpha_in, kappa = primals
    da, dk = tangents
    out = _callback(kind, level, options, alpha_in, kappa)
    alpha, _, chi, q, x = out[:5]
    params = Params(chi, q, x)
    engine = _engine(level, options, kappa)
    zeros = [jnp.zeros_like(v) for v in out]
    if kind == "threshold":
        zeros[0] = dalpha_dkappa(alpha, params, kappa, engine) * dk
    else:
        de_da, de_dk = denergy(alpha, params, kappa, engine)
        zeros[0] = da
        zeros[1] = de_da * da + de_dk * dk
    return out, tuple(zeros)


def traced_result(kind: str, level: int, alpha, kappa, options: dict):
    """A :class:`~jaxcap.result.Result` whose ``alpha``/``energy`` are differentiable JAX values.

    Parameters and diagnostics come from the same host solve and carry zero
    tangents (the envelope theorem makes them unnecessary for first derivatives).
    """
    from .result import Diagnostics, Result
    alpha = jnp.asarray(0.0 if alpha is None else alpha, jnp.float64)
    out = _solve_fn(kind, level, tuple(sorted(options.items())), alpha, jnp.asarray(kappa, jnp.float64))
    a, e, chi, q, x, *diag = out
    d = dict(zip(_DIAG, diag))
    info = _engine(level, tuple(sorted(options.items())), kappa).describe()
    return Result(alpha=a, energy=e, level=level, kappa=kappa, params={"chi": chi, "q": q, "x": x},
                  diagnostics=Diagnostics(quad_nodes=info.get("nodes", 0), engine=info["engine"],
                                          grid_spacing=info.get("spacing"), **d))
