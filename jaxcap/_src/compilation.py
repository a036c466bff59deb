"""How jaxcap's programs are compiled: ``jax.jit`` with XLA options picked per backend.

On a CPU, compiling — not arithmetic — dominates a cold solve (a level-1
threshold runs in milliseconds and compiles in seconds).  XLA:CPU's fusion emitters
(the MLIR code generator for fused loops) roughly double the compile time of
jaxcap's programs and do not make them faster, so on a CPU every program is
compiled with :data:`CPU_OPTIONS` (the measurements: ``docs/benchmarks.md#compilation``).  The options are picked at a
program's first call, not at import (which would initialise the backend).  Options
come and go between XLA releases, and XLA refuses one it does not know: a program
whose compilation is refused for an option is compiled again without it, and the
option is left out of every later program of the process (:func:`jit`).  So a
known option costs nothing, and an unknown one a single refused compilation.

When JAX's compilation cache is on, a module-level function's programs are
also kept as traced (:mod:`jaxcap._src.traced`): a warm process neither traces nor
compiles them.

jaxlib's CPU linear algebra (the Newton step's ``eigh``) takes its LAPACK kernels from SciPy's
two Cython modules ``scipy.linalg.cython_lapack`` and ``cython_blas``, which it imports by name;
importing them the ordinary way first runs the whole ``scipy.linalg`` package, a tenth of a
second or more of a warm process.  :func:`lapack_kernels` hands jaxlib the two modules alone.
"""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import re
import sys

import jax

from . import traced

__all__ = ["CPU_OPTIONS", "FAST_COMPILE", "compiler_options", "jit", "lapack_kernels"]

#: XLA:CPU options for every jaxcap program: the classic loop emitter, which compiles in
#: about half the time of the fusion emitters for the same run time.
CPU_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
#: Added for programs whose compilation, not arithmetic, dominates a cold solve (any backend):
#: the backend's optimisation level 0 compiles in about 60 % of the time for a slower run.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


#: Options this XLA refused in this process (:func:`jit`): left out of every later program.
_REFUSED: set = set()
_NO_SUCH_OPTION = re.compile(r"No such compile option: '([^']+)'")


def compiler_options(fast_compile: bool = False) -> dict:
    """The XLA options of a jaxcap program on the default backend: :data:`CPU_OPTIONS` on a CPU,
    plus :data:`FAST_COMPILE` when ``fast_compile``; less any this XLA refused before."""
    wanted = dict(CPU_OPTIONS) if jax.default_backend() == "cpu" else {}
    wanted.update(FAST_COMPILE if fast_compile else {})
    return {name: value for name, value in wanted.items() if name not in _REFUSED}


def _refused_option(exc: Exception) -> str | None:
    """The option named by XLA's refusal ``exc`` (``No such compile option: 'name'``), else ``None``."""
    found = _NO_SUCH_OPTION.search(str(exc))
    return found.group(1) if found else None


#: The SciPy modules whose C functions jaxlib's CPU kernels call (LAPACK, and the BLAS it needs).
LAPACK_MODULES = ("cython_blas", "cython_lapack")


@functools.cache
def lapack_kernels() -> bool:
    """Give jaxlib its LAPACK kernels from the two SciPy extension modules loaded alone (module
    docstring), and take them out of ``sys.modules`` again, so that a later ``import scipy.linalg``
    is the ordinary one (Cython hands it the same module objects).  Returns whether it did; where
    anything differs from what it expects (SciPy's layout, jaxlib's initialiser) it does nothing
    and jaxlib imports SciPy itself at the first linear-algebra program, as it would anyway."""
    names = [f"scipy.linalg.{m}" for m in LAPACK_MODULES]
    if "scipy.linalg" in sys.modules or any(n in sys.modules for n in names):
        return False
    try:
        from jaxlib import lapack
        initialize = lapack._lapack.initialize
        folder = os.path.join(importlib.util.find_spec("scipy").submodule_search_locations[0], "linalg")
        paths = [next(p for p in (os.path.join(folder, m + s) for s in importlib.machinery.EXTENSION_SUFFIXES)
                      if os.path.exists(p)) for m in LAPACK_MODULES]
    except (ImportError, AttributeError, StopIteration, TypeError, IndexError):
        return False
    try:
        for name, path in zip(names, paths):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
        initialize()
    except Exception:  # noqa: BLE001  any failure: jaxlib's own import path stays
        return False
    finally:
        for name in names:
            sys.modules.pop(name, None)
    return True


def jit(fun=None, *, fast_compile: bool = False, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)`` compiled with :func:`compiler_options`; also a decorator
    (``@jit`` or ``@jit(static_argnames=…)``).

    The ``jax.jit`` object is built at the first call, once the backend is known.
    Called on traced values (inside ``jax.grad``, ``vmap`` or another ``jit``) it is a
    plain nested ``jax.jit``: XLA options belong to the outermost program.
    """
    if fun is None:
        return functools.partial(jit, fast_compile=fast_compile, **jit_kwargs)
    nested = jax.jit(fun, **jit_kwargs)
    storable = traced.storable(fun, jit_kwargs)

    @functools.cache
    def top_level(refused: int):
        """The outermost program, built once for each count of options refused so far (they only grow)."""
        if jax.default_backend() == "cpu":
            lapack_kernels()
        options = compiler_options(fast_compile)
        directory = traced.store_directory() if storable else None
        if directory is None:
            return jax.jit(fun, compiler_options=options, **jit_kwargs)
        return jax.jit(_from_store(fun, nested, directory, options, jit_kwargs), compiler_options=options, **jit_kwargs)

    def current():
        return top_level(len(_REFUSED))

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if any(isinstance(v, jax.core.Tracer) for v in jax.tree.leaves((args, kwargs))):
            return nested(*args, **kwargs)
        while True:
            try:
                return current()(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001  XLA's refusal of an option: compiled again without it
                name = _refused_option(exc)
                if name is None or name in _REFUSED or name not in compiler_options(fast_compile):
                    raise
                _REFUSED.add(name)

    call.lower = lambda *args, **kwargs: current().lower(*args, **kwargs)
    return call


def _from_store(fun, plain, directory, options: dict, jit_kwargs: dict):
    """``fun`` as JAX traces it under :func:`jit`: one call of its stored program
    (:func:`jaxcap._src.traced.traced_or_fresh`), or ``fun`` itself where there is none."""
    names = jit_kwargs.get("static_argnames", ())
    names = {names} if isinstance(names, str) else set(names)

    @functools.wraps(fun)
    def traced_fun(*args, **kwargs):
        statics = {k: v for k, v in kwargs.items() if k in names}
        dynamic = {k: v for k, v in kwargs.items() if k not in names}
        exported = traced.traced_or_fresh(directory, fun, plain, options, statics, args, dynamic)
        return fun(*args, **kwargs) if exported is None else exported.call(*args, **dynamic)

    return traced_fun
