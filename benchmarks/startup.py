"""Whole-process start-up: jaxcap against ``python -c "import jax"``, in alternating pairs.

What a user times is the whole process: importing JAX, importing jaxcap, and a
solve whose compiled program comes from the compilation cache (warm) or is
compiled afresh (cold, ``JAXCAP_CACHE_DIR=off``).  Absolute times on a shared
machine move with its load, so every command is timed in pairs with a
baseline that is always there, ``python -c "import jax"``, run just before it;
the figures are the medians over ``--pairs`` pairs of each time and of the
per-pair excess (command − baseline) and ratio (command / baseline), in wall-clock
seconds and in CPU seconds (user + system of the child, which other processes on
the machine disturb less)::

    python benchmarks/startup.py                        # 5 pairs per command
    python benchmarks/startup.py --pairs 9 --against /path/to/other/checkout
    python benchmarks/startup.py --peer "python run_1RSB.py" --peer-cwd DIR

``--against PATH`` times the jaxcap commands a second time with ``PATH`` first
on ``PYTHONPATH`` (another checkout: before and after a change, in one run).
``--import-with PATH`` (repeatable) times ``python -c "import jax"`` with ``PATH`` first on
``PYTHONPATH``: another version of one of JAX's dependencies, installed there with
``pip install --target PATH`` (the ``ml_dtypes`` of each is recorded).
``--peer`` times another program's command line in the same pairs (the public
1RSB code of Maillard et al., when it is installed), from ``--peer-cwd``, with
the environment less ``PYTHONPATH`` and ``JAXCAP_CACHE_DIR`` (so that it runs on
its own interpreter's paths); when its first word is a Python interpreter, the
versions of that interpreter's NumPy, SciPy, numba and tqdm are recorded too.  The
warm cache is a fresh directory, filled by one untimed run of each command; the
peer also has one untimed run (which fills a numba cache, if it keeps one).  The
decimal numbers each untimed run prints (the thresholds) are recorded as
``printed``, and each jaxcap median is divided by the peer's (``peer_ratio``,
``cpu_peer_ratio``).  Before timing, the bytecode of every timed tree (the checkouts'
``jaxcap/``, the peer's directory) is written with ``compileall``, as installing a
package does: with ``PYTHONDONTWRITEBYTECODE`` set, a checkout would otherwise compile
its modules from source in every process.  Writes
``benchmarks/results/startup-<backend>.json`` (date, machine, load, versions).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE = [sys.executable, "-c", "import jax"]

#: The smallest run, for the test suite (tests/test_benchmark_scripts.py).
SMALLEST = ["--pairs", "1", "--out", "{out}"]
THRESHOLD = ["-m", "jaxcap", "threshold", "--level", "1", "--json"]


#: Working directory of the timed commands: not a checkout (``-c`` and ``-m`` put it first on ``sys.path``).
NEUTRAL = tempfile.gettempdir()


#: A decimal number as a program prints it (``6.7157``, ``-1.2e-05``; not the ``1`` of ``1RSB``).
DECIMAL = re.compile(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?")


def _timed(argv, env, cwd=None, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, from the child's resource usage) of one run."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=cwd or NEUTRAL, stdout=stdout, stderr=subprocess.PIPE)
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}: {err.strip()[-400:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def _printed(cmd: dict) -> list[float]:
    """One untimed run of ``cmd``: the decimal numbers it prints on standard output."""
    with tempfile.TemporaryFile() as out:
        _timed(cmd["argv"], cmd["env"], cmd.get("cwd"), stdout=out)
        out.seek(0)
        return [float(x) for x in DECIMAL.findall(out.read().decode(errors="replace"))]


def _env(tree: str | None, cache: str) -> dict:
    env = dict(os.environ, JAXCAP_CACHE_DIR=cache)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join([tree] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def commands(tree: str, label: str, warm_cache: str) -> list[dict]:
    """The jaxcap commands of one checkout ``tree``: import, and the level-1 threshold warm and cold."""
    py = [sys.executable]
    return [
        {"name": f"import jaxcap{label}", "argv": py + ["-c", "import jaxcap"], "env": _env(tree, "off")},
        {"name": f"threshold --level 1 warm{label}", "argv": py + THRESHOLD, "env": _env(tree, warm_cache),
         "prime": True},
        {"name": f"threshold --level 1 cold{label}", "argv": py + THRESHOLD, "env": _env(tree, "off")},
    ]


def measure(cmd: dict, pairs: int, baseline_env: dict) -> dict:
    """``pairs`` alternating (baseline, command) runs; medians and per-pair excess and ratio."""
    printed = _printed(cmd) if cmd.get("prime") else None
    base, own = [], []
    for _ in range(pairs):
        base.append(_timed(BASELINE, baseline_env))
        own.append(_timed(cmd["argv"], cmd["env"], cmd.get("cwd")))
    row = {"name": cmd["name"], "command": " ".join(shlex.quote(a) for a in cmd["argv"])}
    if "ml_dtypes" in cmd:
        row["ml_dtypes"] = cmd["ml_dtypes"]
    for kind, i in (("", 0), ("cpu_", 1)):      # wall clock, then CPU time (less sensitive to other load)
        o, b = [v[i] for v in own], [v[i] for v in base]
        row.update({f"{kind}seconds": statistics.median(o), f"{kind}baseline_seconds": statistics.median(b),
                    f"{kind}excess_seconds": statistics.median([x - y for x, y in zip(o, b)]),
                    f"{kind}ratio": statistics.median([x / y for x, y in zip(o, b)]),
                    f"{kind}seconds_all": o, f"{kind}baseline_all": b})
    if printed is not None:
        row["printed"] = printed
    return row


def _against_peer(rows: list[dict]) -> None:
    """Each jaxcap row's median over the peer's (the last row), wall clock and CPU: ``peer_ratio``, ``cpu_peer_ratio``."""
    peer = rows[-1]
    for row in rows[:-1]:
        row["peer_ratio"] = row["seconds"] / peer["seconds"]
        row["cpu_peer_ratio"] = row["cpu_seconds"] / peer["cpu_seconds"]
        print(f"{row['name']:<36} / peer: {row['peer_ratio']:5.3f} wall, {row['cpu_peer_ratio']:5.3f} CPU")


def _versions() -> dict:
    probe = ("import json, jax, jaxlib, ml_dtypes, numpy, scipy; print(json.dumps({'jax': jax.__version__, "
             "'jaxlib': jaxlib.__version__, 'ml_dtypes': ml_dtypes.__version__, 'numpy': numpy.__version__, "
             "'scipy': scipy.__version__, "
             "'backend': jax.default_backend(), 'device': str(jax.devices()[0])}))")
    out = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    out["python"] = platform.python_version()
    return out


def _ml_dtypes(env: dict) -> str:
    """The version of ``ml_dtypes`` that ``import jax`` loads in the environment ``env``."""
    probe = "import ml_dtypes; print(ml_dtypes.__version__)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                          cwd=NEUTRAL).stdout.strip()


def _peer_versions(python: str, env: dict) -> dict | None:
    """The versions of the packages the peer imports, when ``python`` is a Python interpreter; else None."""
    probe = ("import json, platform, importlib.metadata as m\nout = {'python': platform.python_version()}\n"
             "for name in ('numpy', 'scipy', 'numba', 'llvmlite', 'tqdm'):\n"
             "    try: out[name] = m.version(name)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))")
    try:
        run = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env, cwd=NEUTRAL, timeout=60)
        return json.loads(run.stdout) if run.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def _bytecode(python: str, tree: str) -> None:
    """The bytecode of the Python files under ``tree``, written next to them (``__pycache__``)."""
    subprocess.run([python, "-m", "compileall", "-q", tree], stdout=subprocess.DEVNULL, check=False,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def _machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "load_average": [round(v, 2) for v in os.getloadavg()]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--against", help="another checkout, timed in the same run")
    ap.add_argument("--import-with", action="append", default=[], metavar="PATH",
                    help="time `import jax` with PATH first on PYTHONPATH (repeatable)")
    ap.add_argument("--peer", help="another program's command line, timed in the same pairs")
    ap.add_argument("--peer-cwd", help="working directory of --peer")
    ap.add_argument("--out", help="JSON output (default benchmarks/results/startup-<backend>.json)")
    args = ap.parse_args(argv)
    versions, start = _versions(), _machine()
    with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as warm_against:
        cmds = commands(ROOT, "", warm)
        if args.against:
            cmds += commands(os.path.abspath(args.against), " (against)", warm_against)
        for path in args.import_with:
            env = _env(os.path.abspath(path), "off")
            cmds.append({"name": f"import jax ({path})", "argv": BASELINE, "env": env,
                         "ml_dtypes": _ml_dtypes(env)})
        peer = None
        if args.peer:
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JAXCAP_CACHE_DIR")}
            argv = shlex.split(args.peer)
            cmds.append({"name": "peer", "argv": argv, "env": env, "cwd": args.peer_cwd, "prime": True})
            peer = {"command": args.peer, "cwd": args.peer_cwd, "versions": _peer_versions(argv[0], env)}
        _bytecode(sys.executable, os.path.join(ROOT, "jaxcap"))
        if args.against:
            _bytecode(sys.executable, os.path.join(os.path.abspath(args.against), "jaxcap"))
        if peer is not None and peer["versions"] is not None and args.peer_cwd:
            _bytecode(argv[0], args.peer_cwd)
        rows = []
        for cmd in cmds:
            row = measure(cmd, args.pairs, _env(None, "off"))
            rows.append(row)
            print(f"{row['name']:<36} {row['seconds']:7.3f} s (import jax {row['baseline_seconds']:6.3f}, excess "
                  f"{row['excess_seconds']:+7.3f}, ratio {row['ratio']:5.2f})   CPU {row['cpu_seconds']:6.2f} s "
                  f"(excess {row['cpu_excess_seconds']:+6.2f}, ratio {row['cpu_ratio']:4.2f})", flush=True)
    if peer is not None:
        _against_peer(rows)
    payload = {"benchmark": "startup", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "pairs": args.pairs, "baseline": " ".join(BASELINE), "machine": dict(start, load_average_end=_machine()["load_average"]),
               "versions": versions, "against": args.against, "results": rows}
    if peer is not None:
        payload["peer"] = peer
    out = args.out or os.path.join(HERE, "results", f"startup-{versions['backend']}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(payload, fh, indent=1)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
