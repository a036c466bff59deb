"""jaxcap computes in float64: the one place that asks JAX for it (``docs/guide/jax.md``).

JAX computes in float32 unless ``jax_enable_x64`` is set, and that switch is
process-wide.  jaxcap's maxima are verified at ``‖∇E‖ ≤ 1e−9`` and its
thresholds quoted to ten digits, which float32 cannot hold, so it needs the
switch on.  Like other scientific JAX libraries that need float64 (NetKet is
one), importing jaxcap turns it on, here and nowhere else, and says so: a
``logging`` message on the ``jaxcap`` logger when it changes the setting.

Set the environment variable ``JAXCAP_ENABLE_X64=0`` before importing jaxcap to
leave JAX's configuration alone; every solve then checks the setting
(:func:`require_x64`) and raises ``RuntimeError`` with the line to add instead
of computing in float32.
"""
from __future__ import annotations

import logging
import os

import jax

__all__ = ["ENV", "enable_x64_on_import", "require_x64"]

#: Environment variable: ``0`` (or ``false``, ``off``, ``no``) keeps jaxcap from touching ``jax_enable_x64``.
ENV = "JAXCAP_ENABLE_X64"


def enable_x64_on_import() -> bool:
    """Turn ``jax_enable_x64`` on unless :data:`ENV` says not to; whether it was changed."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "off", "no"):
        return False
    if jax.config.jax_enable_x64:
        return False
    jax.config.update("jax_enable_x64", True)
    logging.getLogger("jaxcap").info("jaxcap enabled jax_enable_x64 (float64 everywhere); set %s=0 to opt out", ENV)
    return True


def require_x64() -> None:
    """``RuntimeError`` unless JAX computes in float64.

    Raises:
        RuntimeError: ``jax_enable_x64`` is off (only possible with ``JAXCAP_ENABLE_X64=0``).
    """
    if not jax.config.jax_enable_x64:
        raise RuntimeError("jaxcap needs float64: call jax.config.update('jax_enable_x64', True) before using "
                           f"JAX (or unset {ENV}=0, and importing jaxcap does it)")
