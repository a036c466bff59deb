"""Traced programs kept on disk next to the compilation cache (``docs/benchmarks.md#startup``).

JAX's persistent compilation cache spares a rerun the XLA compilation, not the
tracing: its key is the lowered program, so every process first traces and
lowers each function again (for a level-1 threshold, most of a warm run's
solve).  This module keeps the lowered program itself, serialised by
``jax.export``, in a directory beside the compilation cache, keyed by
everything the program depends on:

* the function (module and qualified name) and the source of every jaxcap
  module (any edit invalidates every entry);
* the values of its static arguments, by ``repr`` (jaxcap's static arguments
  are strings, numbers and frozen dataclasses of them);
* the shapes, dtypes and weak types of its array arguments and their tree
  structure;
* JAX's and jaxlib's versions, the backend and its device, the float64
  setting and the XLA options.

:func:`traced_or_fresh` is called while JAX traces the wrapper of
:func:`jaxcap._src.compilation.jit`: it returns the stored program, or exports and
stores a fresh one; the caller then applies it (``Exported.call``), so the
trace holds one call and the compilation that follows hits the compilation
cache.  The stored program is the one tracing the function would lower: the
compiled code, and every number, are the same.  Functions that close over
values (a lambda, a nested function) are not keyed by what they capture, and
are never stored; neither is a program that cannot be serialised (a host
callback): those are traced as usual.  Any failure to read or write the store
falls back to tracing.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import os
import tempfile
from pathlib import Path

import jax

__all__ = ["storable", "store_directory", "traced_or_fresh", "SUBDIRECTORY"]

#: Directory, inside JAX's compilation-cache directory, that holds the serialised programs.
SUBDIRECTORY = "jaxcap-traced"


def storable(fun, jit_kwargs: dict) -> bool:
    """Whether ``fun``'s traced programs can be keyed without looking inside it: a module-level
    function (no closure, not a lambda or a nested function) whose static arguments are named
    (``static_argnames``, passed by keyword), not numbered."""
    return (inspect.isfunction(fun) and fun.__closure__ is None and "<" not in fun.__qualname__
            and "static_argnums" not in jit_kwargs)


def store_directory() -> Path | None:
    """The store's directory: :data:`SUBDIRECTORY` inside JAX's compilation-cache directory, or ``None``
    when that cache is off (the store lives and dies with it) or more than one device is visible
    (sharded programs are traced as usual)."""
    cache = jax.config.jax_compilation_cache_dir
    if not cache or jax.device_count() != 1:
        return None
    return Path(cache) / SUBDIRECTORY


@functools.cache
def _source_digest() -> str:
    """SHA-256 of the source of every module of the package."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _platform() -> str:
    """Versions, backend and device, and the float64 setting: what a stored program depends on beyond its inputs."""
    import jaxlib
    device = jax.devices()[0]
    return "|".join(map(str, (jax.__version__, jaxlib.__version__, jax.default_backend(), device.platform,
                              getattr(device, "device_kind", ""), jax.config.jax_enable_x64)))


def _aval(leaf) -> str:
    aval = jax.typeof(leaf)
    return f"{aval.dtype}{list(aval.shape)}{'w' if getattr(aval, 'weak_type', False) else ''}"


def key(fun, options: dict, statics: dict, args: tuple, kwargs: dict) -> str | None:
    """The store's key of ``fun`` called with ``args``/``kwargs`` (array arguments, traced or not) and
    the static ``statics``, or ``None`` when a static value has no faithful ``repr``."""
    static_text = repr(sorted(statics.items()))
    if " at 0x" in static_text or "..." in static_text:   # no value repr, or a summarised array: not a key
        return None
    leaves, tree = jax.tree.flatten((args, kwargs))
    text = "\n".join([_source_digest(), _platform(), repr(sorted(options.items())), fun.__module__,
                      fun.__qualname__, static_text, str(tree), ",".join(_aval(v) for v in leaves)])
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path):
    try:
        return jax.export.deserialize(bytearray(path.read_bytes()))
    except Exception:  # noqa: BLE001  missing, partly written or from another serialisation: traced afresh
        return None


def _write(path: Path, data: bytes) -> None:
    """Write atomically (a temporary file renamed): concurrent runs never read half a program."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


def traced_or_fresh(directory: Path, fun, jitted, options: dict, statics: dict, args: tuple, kwargs: dict):
    """The ``jax.export.Exported`` program of ``jitted`` (``jax.jit`` of ``fun``) at these arguments: read
    from ``directory`` or exported and written there; ``None`` when it cannot be keyed or serialised."""
    try:
        name = key(fun, options, statics, args, kwargs)
        if name is None:
            return None
        path = directory / f"{name}.bin"
        exported = _read(path) if path.exists() else None
        if exported is None:
            specs = jax.tree.map(lambda v: jax.ShapeDtypeStruct(jax.typeof(v).shape, jax.typeof(v).dtype,
                                                                weak_type=getattr(jax.typeof(v), "weak_type", False)),
                                 (args, kwargs))
            exported = jax.export.export(jitted)(*specs[0], **specs[1], **statics)
            _write(path, exported.serialize())
    except Exception:  # noqa: BLE001  not exportable or serialisable (host callbacks, an older JAX): traced as usual
        return None
    return exported
