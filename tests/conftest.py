import os
import subprocess
import sys

import pytest

import jaxcap  # noqa: F401  (enables float64)

# Published reference values, kappa = 0 (their sources: jaxcap/references.py).
from jaxcap.references import DAT_ALPHA, FRSB_ALPHA, ONE_RSB_ALPHA, RS_ALPHA  # noqa: E402,F401


def run_cli(*args, timeout=600):
    """Run ``python -m jaxcap ARGS`` and return the CompletedProcess."""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off")
    return subprocess.run([sys.executable, "-m", "jaxcap", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def cli():
    return run_cli
