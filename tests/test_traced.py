"""Traced programs kept beside the compilation cache (jaxcap._src.traced): a stored program gives the same
numbers as tracing, is keyed by the static arguments and shapes, and closures are never stored."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcap._src import compilation, traced


def scaled_sum(v, scale, *, power):
    """A module-level function: storable."""
    return jnp.sum(v ** power) * scale


@pytest.fixture
def store(tmp_path):
    """The store in a fresh directory (the setting JAX's compilation cache reads, restored after)."""
    previous = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(tmp_path))
    try:
        assert traced.store_directory() == tmp_path / traced.SUBDIRECTORY
        yield tmp_path / traced.SUBDIRECTORY
    finally:
        jax.config.update("jax_compilation_cache_dir", previous)


def _calls(fun, v):
    return [float(fun(v, 2.0, power=p)) for p in (2, 3)]


def test_stored_program_gives_the_traced_numbers(store):
    v = np.linspace(0.1, 1.0, 5)
    plain = jax.jit(scaled_sum, static_argnames="power", compiler_options=compilation.compiler_options())
    expected = [float(plain(v, 2.0, power=p)) for p in (2, 3)]       # bit for bit what tracing compiles
    first = compilation.jit(scaled_sum, static_argnames="power")
    assert _calls(first, v) == expected
    assert len(list(store.glob("*.bin"))) == 2                 # one program per static value
    again = compilation.jit(scaled_sum, static_argnames="power")   # a new process would build a new wrapper
    assert _calls(again, v) == expected
    assert len(list(store.glob("*.bin"))) == 2                 # read back, not written again
    assert float(again(v[:3], 1.0, power=2)) == pytest.approx(float(np.sum(v[:3] ** 2)), rel=1e-15)
    assert len(list(store.glob("*.bin"))) == 3                 # another shape: another program
    assert float(jax.grad(again)(v, 1.0, power=2)[0]) == pytest.approx(2 * v[0])   # traced: a plain nested jit


def test_what_is_not_keyed_is_not_stored(store):
    offset = 3.0
    closure = compilation.jit(lambda v: v + offset)
    assert float(closure(1.0)) == 4.0
    assert not traced.storable(lambda v: v, {}) and not traced.storable(scaled_sum, {"static_argnums": 1})
    assert traced.storable(scaled_sum, {"static_argnames": "power"})
    assert traced.key(scaled_sum, {}, {"power": object()}, (1.0,), {}) is None
    assert not store.exists() or not list(store.glob("*.bin"))
