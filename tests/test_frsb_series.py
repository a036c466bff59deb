"""The asymptotic series of the r -> infinity fit (docs/theory.md#frsb): exact on a known series, and
on the stored thresholds of levels 0-30 honest from levels 0-10 on (pure NumPy: no solve)."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from jaxcap._src.extrapolation import MODEL, SERIES_MODEL, extrapolate

LEVELS_30 = json.loads((pathlib.Path(__file__).parents[1] / "benchmarks/results/frsb-levels-30-cpu.json").read_text())
#: The independent FRSB value and its bar (docs/references.md).
INDEPENDENT, INDEPENDENT_ERR = 6.6980509, 1e-6


def test_series_recovers_a_known_series_and_needs_seven_levels_from_four():
    levels = list(range(0, 11))
    alphas = [7.6] + [6.698 + 0.15 * r ** -4.0 - 0.08 * r ** -5.0 + 0.02 * r ** -6.0 for r in levels[1:]]
    fit = extrapolate(levels, alphas, series=True)
    assert fit["model"] == SERIES_MODEL and fit["fit_levels"] == list(range(4, 11))
    assert fit["alpha_inf"] == pytest.approx(6.698, abs=1e-12) and fit["alpha_inf_err"] < 1e-11
    assert fit["coefficients"] == pytest.approx([0.15, -0.08, 0.02], abs=1e-7)
    assert fit["alpha_inf_shifted"] != fit["alpha_inf"] and fit["shifted_model"] == MODEL
    # one level fewer, or series=False: the shifted power law as before
    assert extrapolate(levels[:-1], alphas[:-1], series=True)["model"] == MODEL
    assert extrapolate(levels, alphas)["model"] == MODEL


@pytest.mark.parametrize("max_level", [10, 11, 12, 14])
def test_series_from_the_stored_levels_is_honest(max_level):
    """Levels 0..max_level against every stored level and the fit over levels 4-30."""
    levels, alphas = LEVELS_30["levels"], np.asarray(LEVELS_30["alphas"])
    full = extrapolate(levels, alphas, series=True)
    fit = extrapolate(levels[:max_level + 1], alphas[:max_level + 1], series=True)
    assert fit["model"] == SERIES_MODEL and fit["alpha_inf_err"] <= 1e-7
    assert abs(fit["alpha_inf"] - full["alpha_inf"]) <= fit["alpha_inf_err"]
    assert abs(fit["alpha_inf"] - INDEPENDENT) <= fit["alpha_inf_err"] + INDEPENDENT_ERR
    # consistent with the shifted law over levels 2-30 within the two bars
    assert abs(fit["alpha_inf"] - LEVELS_30["alpha_inf"]) <= fit["alpha_inf_err"] + LEVELS_30["alpha_inf_err"]
    # the fitted series predicts the levels it did not see
    r = np.arange(max_level + 1, len(alphas), dtype=float)
    predicted = fit["alpha_inf"] + sum(c * r ** -(fit["p"] + j) for j, c in enumerate(fit["coefficients"]))
    assert np.max(np.abs(predicted - alphas[max_level + 1:])) < 2e-8


def test_the_sequence_is_a_pytree_with_its_fit_static():
    """``FRSBResult`` (docs/guide/jax.md): the level results are its leaves, the fit passes ``jax.jit``
    and ``jax.tree.map`` unchanged."""
    import jax

    from jaxcap import FRSBResult
    from jaxcap._src.result import from_json

    levels = tuple(from_json(r) for r in LEVELS_30["results"][:11])
    fit = extrapolate([r.level for r in levels], [r.alpha for r in levels], series=True)
    res = FRSBResult(kappa=0.0, levels=levels, fit=fit, seconds=1.0)
    leaves = jax.tree.leaves(res)
    assert leaves and not any(isinstance(v, str) for v in leaves)
    assert len(leaves) == len(levels) * len(jax.tree.leaves(levels[0]))
    doubled = jax.tree.map(lambda v: 2 * v, res)
    assert doubled.fit == fit and doubled.kappa == 0.0 and doubled.seconds == 1.0
    assert [float(r.alpha) for r in doubled.levels] == [2 * float(r.alpha) for r in levels]
    through = jax.jit(lambda r: r)(res)
    assert through.alpha_inf == res.alpha_inf and through.fit["fit_levels"] == fit["fit_levels"]
    assert [float(r.alpha) for r in through.levels] == [float(r.alpha) for r in levels]
