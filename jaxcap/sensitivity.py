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

__all__ = ["traced_result"]

#: Diagnostics carried through the callback (floats), then the derivatives of the solve.
_DIAG = ("grad_norm", "hessian_max_eig", "quad_error", "seconds", "quad_nodes", "grid_spacing")


def _solve_on_host(kind, level, options, alpha, kappa):
    """The concrete solve behind the callback: ``(alpha, energy, chi, q, x, d_1, d_2, *diagnostics)``.

    ``(d_1, d_2)`` are the solve's own envelope derivatives, measured on the engine
    that resolved the solution: ``(dα/dκ, 0)`` for a threshold, ``(∂e/∂α, ∂e/∂κ)``
    for an energy.
    """
    from .threshold import energy, threshold
    kappa = float(np.asarray(kappa))
    if kind == "threshold":
        res = threshold(level, kappa=kappa, **dict(options))
        slopes = (res.dalpha_dkappa, 0.0)
    else:
        res = energy(float(np.asarray(alpha)), level, kappa=kappa, **dict(options))
        slopes = (res.denergy_dalpha, res.denergy_dkappa)
    d = res.diagnostics
    scalars = [res.alpha, res.energy, res.params["chi"]]
    diag = [getattr(d, k) for k in _DIAG]
    f = [np.float64(np.nan if v is None else v) for v in (*scalars, *slopes, *diag)]
    return (*f[:3], np.asarray(res.params["q"], np.float64), np.asarray(res.params["x"], np.float64), *f[3:])


def _callback(kind, level, options, alpha, kappa):
    f = jax.ShapeDtypeStruct((), jnp.float64)
    v = jax.ShapeDtypeStruct((level,), jnp.float64)
    shapes = (f, f, f, v, v, f, f) + (f,) * len(_DIAG)
    return jax.pure_callback(functools.partial(_solve_on_host, kind, level, options), shapes, alpha, kappa)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _solve_fn(kind, level, options, alpha, kappa):
    return _callback(kind, level, options, alpha, kappa)


@_solve_fn.defjvp
def _solve_jvp(kind, level, options, primals, tangents):
    alpha_in, kappa = primals
    da, dk = tangents
    out = _callback(kind, level, options, alpha_in, kappa)
    d1, d2 = out[5], out[6]
    zeros = [jnp.zeros_like(v) for v in out]
    if kind == "threshold":
        zeros[0] = d1 * dk                 # dα/dκ
    else:
        zeros[0] = da
        zeros[1] = d1 * da + d2 * dk       # ∂e/∂α, ∂e/∂κ
    return out, tuple(zeros)


def traced_result(kind: str, level: int, alpha, kappa, options: dict):
    """A :class:`~jaxcap.result.Result` whose ``alpha``/``energy`` are differentiable JAX values.

    Parameters and diagnostics come from the same host solve and carry zero
    tangents (the envelope theorem makes them unnecessary for first derivatives).
    """
    from .result import Diagnostics, Result
    alpha = jnp.asarray(0.0 if alpha is None else alpha, jnp.float64)
    out = _solve_fn(kind, level, tuple(sorted(options.items())), alpha, jnp.asarray(kappa, jnp.float64))
    a, e, chi, q, x, _, _, *diag = out
    d = dict(zip(_DIAG, diag))
    engine = dict(options).get("engine") or "grid"
    return Result(alpha=a, energy=e, level=level, kappa=kappa, params={"chi": chi, "q": q, "x": x},
                  diagnostics=Diagnostics(engine=engine, **d))
