"""Shared by the derivative tests: thresholds as functions of kappa, and the check of first and
second derivatives against central finite differences of one vmapped batch."""
import jax
import jax.numpy as jnp
import numpy as np

import jaxcap

H = 1e-3  # finite-difference step in kappa: central differences err by about H^2 |f'''| / 6


def alpha_of(level):
    return lambda k: jaxcap.threshold(level, kappa=k).alpha


def slope_of(level):
    return lambda k: jaxcap.threshold(level, kappa=k).dalpha_dkappa


def stencil(level, kappas):
    """Traced thresholds at kappa - H, kappa, kappa + H, one vmapped call per kappa (batches of three:
    the batched program the derivatives ran, padded to four, is reused)."""
    alphas, slopes = [], []
    for kappa in kappas:
        res = jax.vmap(lambda k: jaxcap.threshold(level, kappa=k))(kappa + H * jnp.array([-1.0, 0.0, 1.0]))
        assert bool(jnp.all(res.converged))
        alphas.append(np.asarray(res.alpha))
        slopes.append(np.asarray(res.dalpha_dkappa))
    return np.stack(alphas), np.stack(slopes)


def check_derivatives(level, kappas, first, second):
    """``first``/``second``: the derivatives at ``kappas``; checked against central differences of
    the values (first) and of the envelope slopes (second), and the slopes against the values."""
    alphas, slopes = stencil(level, kappas)
    fd1 = (alphas[:, 2] - alphas[:, 0]) / (2 * H)
    fd2 = (slopes[:, 2] - slopes[:, 0]) / (2 * H)
    np.testing.assert_allclose(np.asarray(first), fd1, rtol=1e-6)
    np.testing.assert_allclose(slopes[:, 1], np.asarray(first), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(second), fd2, rtol=1e-5)


def first_and_second(level):
    """``jax.grad`` and ``jax.hessian`` of the level-``level`` threshold, in one jitted program (the
    traced solve's programs are compiled once, not once per transformation, as eagerly)."""
    f = alpha_of(level)
    return jax.jit(lambda k: (jax.grad(f)(k), jax.hessian(f)(k)))


def check_batched(level):
    """``jax.vmap(jax.grad(...))`` and ``jax.vmap(jax.hessian(...))`` at three kappa, each one batch."""
    kappas = [-0.5, 0.0, 0.5]
    first, second = jax.vmap(first_and_second(level))(jnp.asarray(kappas))
    check_derivatives(level, kappas, first, second)
