"""Published reference values that jaxcap's results are compared with (``κ = 0`` unless named).

Every constant carries its source.  The tests compare with these at the tolerance the
method supports, and docs/references.md lists the same numbers; the mathematics behind
them is in ``docs/theory.md#dictionary``.  Nothing in the library's code paths uses them:
every threshold jaxcap returns is computed.

Sources:

* Maillard, Bandeira, Belius, Dokmanić, Nakajima, "Injectivity of ReLU networks:
  perspectives from statistical physics", arXiv:2302.14112 (MBBDN below).
* Gardner, "The space of interactions in neural network models", J. Phys. A 21, 257 (1988).
"""
from __future__ import annotations

__all__ = ["RS_ALPHA", "ONE_RSB_ALPHA", "ONE_RSB_Q0", "ONE_RSB_CHI", "ONE_RSB_X0", "FRSB_ALPHA",
           "FRSB_ALPHA_ERR", "DAT_ALPHA", "EULER_ALPHA", "GARDNER_ALPHA_KAPPA0"]

#: Replica-symmetric threshold = plain RDT (Gordon's comparison; a rigorous upper bound on
#: the injectivity threshold): level 0.  MBBDN.
RS_ALPHA = 7.647695

#: One-step RSB threshold = first lifting level of fl RDT: level 1.  MBBDN.
ONE_RSB_ALPHA = 6.715697
#: The 1RSB optimum's overlap ``q_0``, ``χ`` and breakpoint ``x_0`` (MBBDN, quoted to these digits).
ONE_RSB_Q0 = 0.7772
ONE_RSB_CHI = 0.0533
ONE_RSB_X0 = 3.287

#: Full-RSB threshold and its quoted uncertainty (a fixed breakpoint grid of 30–200 levels).  MBBDN.
FRSB_ALPHA = 6.6980
FRSB_ALPHA_ERR = 1e-4

#: RS stability (de Almeida–Thouless) threshold on the energy-1 line.  MBBDN.
DAT_ALPHA = 5.3238

#: The expected-Euler-characteristic prediction of the injectivity threshold, as quoted (≈ 8.34) by MBBDN.
EULER_ALPHA = 8.34

#: Gardner's capacity ``1/E[(z − κ)_+²]`` at ``κ = 0`` (the zero-energy line; exact for ``κ ≤ 0``).  Gardner (1988).
GARDNER_ALPHA_KAPPA0 = 2.0
