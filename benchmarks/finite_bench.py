"""The exact finite-size runs of the finite-size guide: ``P(injective)`` at small ``n``, timed.

Each size is one ``jaxcap finite --n N --alphas ... --trials T --seed 0 --workers W --json``
in a fresh process (the guide's commands; at ``n = 6`` with ``--method enumerate`` and
``α = 5, 6, 7``), timed end to end.  Prints one line per run and writes the payloads, the
times and the machine to ``benchmarks/results/finite-cpu.json``::

    python benchmarks/finite_bench.py                       # n = 4, 5, 6 (about 10 minutes on 2 cores)
    python benchmarks/finite_bench.py --sizes 3 --trials 2  # a check of the script itself
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

#: the guide's runs: ``n -> (alphas, method)``
RUNS = {4: ("3,4,5,6,7,8,9,10", "auto"), 5: ("3,4,5,6,7,8,9,10", "auto"), 6: ("5,6,7", "enumerate")}


def run(n: int, alphas: str, trials: int, workers: int, method: str) -> dict:
    """One ``jaxcap finite`` run in a fresh process: its seconds, exit code and JSON payload."""
    argv = ["finite", "--n", n, "--alphas", alphas, "--trials", trials, "--seed", 0, "--workers", workers,
            "--method", method, "--json"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "jaxcap", *map(str, argv)], capture_output=True, text=True,
                         env=env, cwd=ROOT)
    seconds = time.perf_counter() - t
    try:
        payload = json.loads(out.stdout)
    except json.JSONDecodeError:
        payload = {"stderr": out.stderr[-2000:]}
    return {"command": "jaxcap " + " ".join(map(str, argv)), "seconds": seconds, "exit": out.returncode,
            "result": payload}


#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file)
SMALLEST = ["--sizes", "3", "--alphas", "3", "--trials", "2", "--workers", "1", "--out", "{out}"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=sorted(RUNS))
    p.add_argument("--alphas", default=None, help="override the guide's alphas (comma-separated)")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "results", "finite-cpu.json"))
    args = p.parse_args(argv)
    rows = []
    for n in args.sizes:
        alphas, method = RUNS.get(n, ("3,4", "auto"))
        row = run(n, args.alphas or alphas, args.trials, args.workers, method)
        print(f"n = {n}: {row['seconds']:.1f} s, exit {row['exit']}", flush=True)
        rows.append(row)
    report = {"benchmark": "finite", "date": time.strftime("%Y-%m-%d"), "platform": platform.platform(),
              "python": platform.python_version(), "cores": os.cpu_count(),
              "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None, "runs": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)
    print(f"wrote {args.out}")
    return 0 if all(r["exit"] == 0 for r in rows) else 3


if __name__ == "__main__":
    sys.exit(main())
