"""Checkpoint files: finished work saved as it is done, so that an interrupted run resumes.

A checkpoint is one JSON object::

    {"schema": 1, "kind": "frsb" | "sweep", "key": {...}, "data": {...}}

``key`` holds every option that affects the numbers (level or levels, ``κ`` or the
``κ`` grid, engine, nodes, spacing, chunking, ...); a file whose schema, kind or key
differs from the run's is refused, never reused.  ``data`` is checked entry by entry
(types, finiteness, lengths) before anything in it is trusted: a malformed, foreign or
incomplete file raises :class:`CheckpointError` (a ``ValueError``: exit 2 on the command
line) naming the file and the problem.

Writes are safe under interruption and under concurrency: the new content goes to a
unique temporary file in the same directory, is flushed to disk and moved over the
checkpoint with ``os.replace`` (atomic), and every read-modify-write holds an advisory
``fcntl`` lock on ``FILE.lock``, so two writers on one checkpoint merge their work
instead of corrupting or aborting each other.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tempfile
from typing import Callable

from .result import Diagnostics, Result, from_json, to_json

try:  # advisory locks exist on POSIX systems only; elsewhere writes are atomic but unlocked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["SCHEMA", "CheckpointError", "check_writable", "locked", "read", "write", "update",
           "read_levels", "write_levels", "read_chunks", "write_chunks"]

#: The layout version of checkpoint files; files of another version are refused.
SCHEMA = 1
#: Larger files are refused unread (a sweep of 10 000 thresholds takes a few MB).
MAX_BYTES = 1 << 30


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: malformed, foreign, from other options, or unreadable."""

    def __init__(self, path, problem: str):
        super().__init__(f"checkpoint {os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


def check_writable(path, what: str = "output file") -> None:
    """Raise ``ValueError`` unless a file can be created or replaced at ``path``.

    The directory must exist and accept a new file (tried: a temporary file is created and
    removed, so permissions, read-only and special file systems all answer), and ``path``
    must not be a directory or any other file than a regular one (a device, a pipe).
    """
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{what}: empty path")
    if os.path.isdir(path):
        raise ValueError(f"{what} {path} is a directory")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"{what} {path} is not a regular file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path}: directory {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{what} {path}: directory {folder} is not writable ({exc.strerror or exc})") from None


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive advisory lock on ``path`` (through ``path + '.lock'``) for the block."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(f"{os.fspath(path)}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _reject_constant(name):
    raise ValueError(f"non-finite number {name}")


def read(path, kind: str, key: dict) -> dict | None:
    """The ``data`` of the checkpoint at ``path`` for a run of ``kind`` with options ``key``.

    Returns ``None`` when there is no file.  Raises :class:`CheckpointError` when the file
    cannot be read, is not a JSON object of this schema and kind, or was computed with other
    options (the differing ones are named).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        raise CheckpointError(path, "is not a regular file")
    if os.path.getsize(path) > MAX_BYTES:
        raise CheckpointError(path, f"is larger than {MAX_BYTES >> 20} MB: not a jaxcap checkpoint")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(path, f"cannot be read ({exc})") from None
    if not text.strip():
        raise CheckpointError(path, "is empty")
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(path, f"is not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not {"schema", "kind", "key", "data"} <= set(doc):
        raise CheckpointError(path, "is not a jaxcap checkpoint (expected a JSON object with schema, kind, key "
                                    "and data)")
    if doc["schema"] != SCHEMA:
        raise CheckpointError(path, f"has schema {doc['schema']!r}; this jaxcap reads schema {SCHEMA}")
    if doc["kind"] != kind:
        raise CheckpointError(path, f"is a {doc['kind']!r} checkpoint, not a {kind!r} one")
    found = doc["key"]
    if not isinstance(found, dict):
        raise CheckpointError(path, "has a malformed key")
    expected = json.loads(json.dumps(key))   # the form the key takes once written
    differ = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    if differ:
        shown = "; ".join(f"{k} {_short(found.get(k))} (this run: {_short(expected.get(k))})" for k in differ)
        raise CheckpointError(path, f"was computed with other options: {shown}")
    if not isinstance(doc["data"], dict):
        raise CheckpointError(path, "has malformed data (expected a JSON object)")
    return doc["data"]


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write(path, kind: str, key: dict, data: dict) -> None:
    """Write the checkpoint atomically: a unique temporary file in the same directory, then ``os.replace``.

    ``data`` must be strict JSON (no NaN or infinity: map them to ``None`` first).
    """
    path = os.fspath(path)
    text = json.dumps({"schema": SCHEMA, "kind": kind, "key": key, "data": data}, allow_nan=False)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(tmp, _mode(path))             # mkstemp's file is private (0600): the checkpoint is not
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode(path) -> int:
    """The permissions of the existing file, else those of a new file under the current umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def update(path, kind: str, key: dict, merge: Callable[[dict | None], dict],
           check: Callable[[dict], object] | None = None) -> dict:
    """Under the lock: read the current data (``None`` if none), ``merge`` it with this run's, write it.

    ``check(data)`` validates what is on disk first (raising :class:`CheckpointError`), so that
    a concurrent writer's work is merged, never a malformed file.  Returns the data written.
    """
    with locked(path):
        current = read(path, kind, key)
        if current is not None and check is not None:
            check(current)
        data = merge(current)
        write(path, kind, key, data)
    return data


# ---------------------------------------------------------------------------------------------
# strict values

def _finite(obj):
    """``obj`` as plain JSON data with every non-finite number ``None`` (checkpoints are strict JSON)."""
    return json.loads(json.dumps(obj), parse_constant=lambda name: None)


def _number(value, what: str, path, *, positive=False, optional=False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(path, f"{what} is not a finite number ({_short(value)})")
    if positive and value <= 0:
        raise CheckpointError(path, f"{what} is not positive ({value!r})")


def _params(p, level: int, what: str, path) -> None:
    if not isinstance(p, dict) or set(p) != {"chi", "q", "x"}:
        raise CheckpointError(path, f"{what}: params must be an object with chi, q and x")
    _number(p["chi"], f"{what}: chi", path, positive=True)
    for name in ("q", "x"):
        v = p[name]
        if not isinstance(v, list) or len(v) != level:
            raise CheckpointError(path, f"{what}: {name} must be a list of {level} numbers")
        for i, e in enumerate(v):
            _number(e, f"{what}: {name}[{i}]", path)


# ---------------------------------------------------------------------------------------------
# frsb: the finished thresholds of levels 0, 1, ..., s

LEVELS = "frsb"


def _level_result(row, level: int, kappa: float, path) -> Result:
    what = f"level {level}"
    if not isinstance(row, dict):
        raise CheckpointError(path, f"{what} is not an object")
    if row.get("level") != level or isinstance(row.get("level"), bool):
        raise CheckpointError(path, f"entry {level} is level {_short(row.get('level'))}, expected {level} "
                                    "(levels must run 0, 1, 2, ... without gaps)")
    for name in ("alpha", "energy", "kappa"):
        _number(row.get(name), f"{what}: {name}", path, positive=name == "alpha")
    if row["kappa"] != kappa:
        raise CheckpointError(path, f"{what} is for kappa = {row['kappa']!r}, not {kappa!r}")
    _params(row.get("params"), level, what, path)
    for name in ("dalpha_dkappa", "denergy_dalpha", "denergy_dkappa"):
        _number(row.get(name), f"{what}: {name}", path, optional=True)
    diag = row.get("diagnostics")
    if not isinstance(diag, dict):
        raise CheckpointError(path, f"{what}: diagnostics missing")
    fields = {f.name for f in dataclasses.fields(Diagnostics)} | {"converged", "message"}
    if not set(diag) <= fields or not set(row) <= {f.name for f in dataclasses.fields(Result)}:
        raise CheckpointError(path, f"{what}: unexpected fields")
    for name in ("grad_norm", "hessian_max_eig", "quad_error", "seconds"):
        _number(diag.get(name), f"{what}: diagnostics.{name}", path)
    if diag.get("converged") is not True:
        raise CheckpointError(path, f"{what} is not a converged result")
    try:
        return from_json(row)
    except (TypeError, KeyError) as exc:
        raise CheckpointError(path, f"{what}: unexpected fields ({exc})") from None


def read_levels(path, key: dict) -> list[Result]:
    """The finished levels ``0 … s`` in the ``frsb`` checkpoint at ``path`` (``[]`` when there is none)."""
    data = read(path, LEVELS, key)
    return [] if data is None else _levels(data, key, path)


def _levels(data: dict, key: dict, path) -> list[Result]:
    rows = data.get("levels")
    if not isinstance(rows, list):
        raise CheckpointError(path, "has no list of levels")
    return [_level_result(row, i, key["kappa"], path) for i, row in enumerate(rows)]


def write_levels(path, key: dict, rows: list[Result]) -> None:
    """Save the finished levels ``rows`` (levels ``0 … s``), merged with any a concurrent run saved."""
    mine = [to_json(r) for r in rows]

    def merge(current):
        theirs = (current or {}).get("levels", [])
        return {"levels": mine if len(mine) >= len(theirs) else theirs}

    update(path, LEVELS, key, merge, check=lambda data: _levels(data, key, path))


# ---------------------------------------------------------------------------------------------
# sweep: a start and the finished chunks of a kappa grid

CHUNKS = "sweep"


def _chunk_entry(row, kappa: float, level: int, what: str, path) -> None:
    if not isinstance(row, dict):
        raise CheckpointError(path, f"{what} is not an object")
    _number(row.get("kappa"), f"{what}: kappa", path)
    if abs(row["kappa"] - kappa) > 1e-12 * max(1.0, abs(kappa)):
        raise CheckpointError(path, f"{what} is for kappa = {row['kappa']!r}, not {kappa!r}")
    if not isinstance(row.get("converged"), bool):
        raise CheckpointError(path, f"{what}: converged must be true or false")
    converged = row["converged"]
    for name in ("alpha", "dalpha_dkappa"):
        _number(row.get(name), f"{what}: {name}", path, positive=name == "alpha" and converged,
                optional=not converged)
    if not isinstance(row.get("diagnostics"), dict):
        raise CheckpointError(path, f"{what}: diagnostics missing")
    if converged:
        _params(row.get("params"), level, what, path)


def _chunks(data: dict, key: dict, path) -> tuple[dict, dict]:
    level, kappas, size = key["level"], key["kappas"], key["chunk"] or len(key["kappas"])
    _params(data.get("start"), level, "start", path)
    chunks = data.get("chunks")
    if not isinstance(chunks, dict):
        raise CheckpointError(path, "has no object of chunks")
    n = -(-len(kappas) // size)
    done = {}
    for name, rows in chunks.items():
        if not (name.isdigit() and int(name) < n):
            raise CheckpointError(path, f"chunk {name!r} is not one of 0 ... {n - 1}")
        i = int(name)
        part = kappas[i * size:(i + 1) * size]
        if not isinstance(rows, list) or len(rows) != len(part):
            raise CheckpointError(path, f"chunk {i} holds {len(rows) if isinstance(rows, list) else 'no'} "
                                        f"results, expected {len(part)}")
        for j, (row, k) in enumerate(zip(rows, part)):
            _chunk_entry(row, k, level, f"chunk {i} entry {j}", path)
        done[i] = rows
    return data["start"], done


def read_chunks(path, key: dict) -> tuple[dict | None, dict]:
    """``(start, {chunk index: results})`` of the ``sweep`` checkpoint at ``path`` (``(None, {})`` when none).

    ``key`` must hold ``level``, ``kappas`` (the whole grid) and ``chunk`` (its size or ``None``).
    """
    data = read(path, CHUNKS, key)
    return (None, {}) if data is None else _chunks(data, key, path)


def write_chunks(path, key: dict, start: dict, done: dict) -> dict:
    """Save ``start`` and the finished chunks ``done``, merged with those a concurrent run saved.

    Returns every finished chunk now in the file.
    """
    mine = {str(i): _finite(rows) for i, rows in done.items()}

    def merge(current):
        theirs = {} if current is None else current["chunks"]
        return {"start": _finite(start) if current is None else current["start"],
                "chunks": dict(sorted({**theirs, **mine}.items(), key=lambda kv: int(kv[0])))}

    data = update(path, CHUNKS, key, merge, check=lambda data: _chunks(data, key, path))
    return {int(i): rows for i, rows in data["chunks"].items()}
