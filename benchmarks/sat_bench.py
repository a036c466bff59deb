"""The zero-energy line: cold level 2, the extrapolated limit, and a level-2 curve.

Three figures, each in a fresh process with the compilation cache off
(``JAXCAP_CACHE_DIR=off``, so every time includes compiling):

* ``level2``: ``jaxcap sat --kappa 0.5 --level 2 --json`` end to end (target < 30 s on 2 cores);
* ``extrapolated``: ``jaxcap sat --kappa 0.5 --max-level K --extrapolate --json``
  (``α_sat,∞(0.5)``, its error bar and time; target ± 1e−5 in < 60 s);
* ``curve``: ``jaxcap sat --kappa-from A --kappa-to B --points 64 --level 2 --json``
  (levels 0–2 at 64 ``κ``: :func:`jaxcap._src.zero_energy.sat_curve`).

The load average of the machine is recorded beside the times.  JSON goes to
``benchmarks/results/sat-cpu.json``::

    python benchmarks/sat_bench.py
    python benchmarks/sat_bench.py --max-level 6 --kappa-from 0.25 --kappa-to 1
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _run(*args) -> tuple[float, dict, int]:
    """``(seconds, JSON payload, exit code)`` of ``python -m jaxcap ARGS`` in a fresh process, cache off."""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "jaxcap", *map(str, args)], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    seconds = time.perf_counter() - t
    try:
        payload = json.loads(out.stdout)
    except json.JSONDecodeError:
        payload = {"stderr": out.stderr[-2000:]}
    return seconds, payload, out.returncode


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--kappa", "-0.5", "--level", "0", "--max-level", "3", "--kappa-from", "-0.5", "--kappa-to", "-0.25",
            "--points", "2", "--out", "{out}"]      # kappa <= 0: every level is Gardner's closed form


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kappa", type=float, default=0.5)
    p.add_argument("--max-level", type=int, default=6)
    p.add_argument("--level", type=int, default=2, help="the level of the single solve and of the curve")
    p.add_argument("--kappa-from", type=float, default=0.0)
    p.add_argument("--kappa-to", type=float, default=1.0)
    p.add_argument("--points", type=int, default=64)
    p.add_argument("--out", default=os.path.join(HERE, "results", "sat-cpu.json"))
    args = p.parse_args(argv)
    report = {"machine": platform.platform(), "python": platform.python_version(),
              "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}

    load = os.getloadavg()[0]
    seconds, res, rc = _run("sat", "--kappa", args.kappa, "--level", args.level, "--json")
    report["level2"] = {"kappa": args.kappa, "seconds": seconds, "exit": rc, "load_before": load,
                        "alpha": res.get("alpha"), "params": res.get("params"),
                        "quad_error": (res.get("diagnostics") or {}).get("quad_error")}
    print(f"level {args.level} at kappa {args.kappa}: alpha = {res.get('alpha')} in {seconds:.1f} s cold (load {load:.1f})")

    load = os.getloadavg()[0]
    seconds, res, rc = _run("sat", "--kappa", args.kappa, "--max-level", args.max_level, "--extrapolate", "--json")
    report["extrapolated"] = {"kappa": args.kappa, "max_level": args.max_level, "seconds": seconds, "exit": rc,
                              "load_before": load, **{k: res.get(k) for k in (
                                  "levels", "alphas", "alpha_inf", "alpha_inf_err", "model", "p", "s",
                                  "alpha_inf_alternative")}}
    print(f"alpha_sat,inf({args.kappa}) = {res.get('alpha_inf')} +- {res.get('alpha_inf_err')} "
          f"(levels 0-{args.max_level}) in {seconds:.1f} s cold (load {load:.1f})")

    load = os.getloadavg()[0]
    seconds, res, rc = _run("sat", "--kappa-from", args.kappa_from, "--kappa-to", args.kappa_to,
                            "--points", args.points, "--level", args.level, "--json")
    points = res.get("points", [])
    report["curve"] = {"kappa_from": args.kappa_from, "kappa_to": args.kappa_to, "points": args.points,
                       "level": args.level, "seconds": seconds, "exit": rc, "load_before": load,
                       "kappas": [pt["kappa"] for pt in points], "alphas": [pt["alphas"] for pt in points]}
    print(f"level-{args.level} curve, {args.points} kappas in [{args.kappa_from}, {args.kappa_to}]: {seconds:.1f} s cold, "
          f"exit {rc} (load {load:.1f})")

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
