import os
import subprocess
import sys

import pytest

import jaxcap  # noqa: F401  (enables float64)

# Published reference values (DESIGN §3), kappa = 0.
RS_ALPHA = 7.647695
ONE_RSB_ALPHA = 6.7156968
FRSB_ALPHA = 6.6980
DAT_ALPHA = 5.3238  # RS stability (de Almeida–Thouless) on the energy-1 line


def run_cli(*args, timeout=600):
    """Run ``python -m jaxcap ARGS`` and return the CompletedProcess."""
    env = dict(os.environ, JAXCAP_CACHE_DIR="off")
    return subprocess.run([sys.executable, "-m", "jaxcap", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def cli():
    return run_cli
