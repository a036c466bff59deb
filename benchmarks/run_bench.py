"""Run the jaxcap benchmark suite (the same as ``jaxcap bench``).

    python benchmarks/run_bench.py [--quick] [--json] [--out FILE]

Times every task cold (fresh process, JIT compilation included, no compile
cache) and warm (in-process, median of repeats), side by side with the SciPy
baseline of ``benchmarks/baselines/scipy_baseline.py``, and writes
``benchmarks/results/<backend>-<quick|full>.json`` (plus a cost-against-level
PNG next to it).  See ``jaxcap/bench.py``.
"""
import sys
from pathlib import Path

try:
    import jaxcap.bench as bench
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import jaxcap.bench as bench

if __name__ == "__main__":
    sys.exit(bench.main(["bench", *sys.argv[1:]]))
