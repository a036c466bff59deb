"""Run the jaxcap benchmark suite (the same as ``jaxcap bench``) and keep its results here.

    python benchmarks/run_bench.py [--quick] [--json] [--out FILE]

Times every task cold (fresh process, JIT compilation included, no compile
cache) and warm (in-process, median of repeats), side by side with the SciPy
baseline (``jaxcap.scipy_baseline``), and writes
``benchmarks/results/<backend>-<quick|full>.json`` unless ``--out`` says otherwise
(plus a cost-against-level PNG next to it).  See ``jaxcap/_src/bench.py``.
"""
import sys
from pathlib import Path

try:
    import jax
    from jaxcap.cli import main
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import jax
    from jaxcap.cli import main

#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``; ``{out}``: a temporary file):
#: the quick suite's level-0 threshold alone, without the SciPy baseline
SMALLEST = ["--quick", "--tasks", "threshold-L0", "--no-baseline", "--out", "{out}"]

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--out" not in argv and not any(a.startswith("--out=") for a in argv):
        kind = "quick" if "--quick" in argv else "full"
        argv += ["--out", str(Path(__file__).resolve().parent / "results" / f"{jax.default_backend()}-{kind}.json")]
    sys.exit(main(["bench", *argv]))
