"""Time the command line's refusals and bounded failures: each case must end with its exit code, fast.

* ``sat --kappa -1 --level 1000 --json``: refused by the level limit (exit 2, before any work);
* ``sat --kappa-from 0 --kappa-to 1 --points 1000000000``: refused by the points limit (exit 2);
* ``sat --kappa 4 --level 2``: level 1 verified, level 2 without a verified minimum within the
  driver's work budget (exit 3 with diagnostics);
* ``threshold --level 1 --kappa 5``: every start drifts to ``q_0 → 0`` (exit 3).

Every case runs in a fresh process with a cold compilation cache (``JAXCAP_CACHE_DIR=off``)::

    python benchmarks/refusal_bench.py          # writes benchmarks/results/refusals-cpu.json
    python benchmarks/refusal_bench.py --cases 0 --out FILE   # the first case only, JSON to FILE
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

#: The smallest run (``tests/test_benchmark_scripts.py``): the level-limit refusal only.
SMALLEST = ["--cases", "0", "--out", "{out}"]

CASES = [
    (["sat", "--kappa", "-1", "--level", "1000", "--json"], 2),
    (["sat", "--kappa-from", "0", "--kappa-to", "1", "--points", "1000000000"], 2),
    (["sat", "--kappa", "4", "--level", "2"], 3),
    (["threshold", "--level", "1", "--kappa", "5"], 3),
]


def run(argv: list, expected: int) -> dict:
    env = dict(os.environ, JAXCAP_CACHE_DIR="off")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "jaxcap", *argv], capture_output=True, text=True, env=env,
                          timeout=900)
    seconds = time.perf_counter() - t0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return {"argv": argv, "exit": proc.returncode, "expected": expected, "seconds": seconds,
            "traceback": "Traceback" in proc.stderr, "first_line": lines[0] if lines else ""}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="*", default=None, metavar="I",
                        help="run only these cases (indices into CASES; default all)")
    parser.add_argument("--out", default=None, help="JSON output (default benchmarks/results/refusals-cpu.json)")
    args = parser.parse_args(argv)
    cases = CASES if args.cases is None else [CASES[i] for i in args.cases]
    rows = []
    for argv, expected in cases:
        row = run(argv, expected)
        rows.append(row)
        print(f"{' '.join(argv):60s} exit {row['exit']} (expected {expected})  {row['seconds']:6.1f} s")
    out = pathlib.Path(args.out) if args.out else pathlib.Path(__file__).resolve().parent / "results" / "refusals-cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                               "cores": os.cpu_count(), "cases": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
