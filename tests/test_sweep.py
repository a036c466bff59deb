"""Batched threshold sweeps and energy grids (jaxcap.sweep, jaxcap.energy_grid): agreement
with one-at-a-time solves, the coarse pass, sharding over several (forced host) devices and
over two processes (jax.distributed)."""
import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jaxcap

sw = importlib.import_module("jaxcap._src.sweep")

LEVEL1_KAPPAS = [0.01, 0.05, 0.1, 0.15, 0.2]  # one grid engine for all (see GridEngine.around)


@pytest.fixture(scope="module")
def level1():
    first = jaxcap.threshold(1, kappa=LEVEL1_KAPPAS[0])
    refs = [first] + [jaxcap.threshold(1, kappa=k, start=first) for k in LEVEL1_KAPPAS[1:]]
    return refs, sw.sweep(1, LEVEL1_KAPPAS, start=refs[2])


def _agree(results, refs, tol=1e-8):
    assert isinstance(results, jaxcap.Result) and len(results) == len(refs)
    for r, ref in zip(results, refs):
        assert r.converged and r.reason is None, r
        assert r.kappa == pytest.approx(ref.kappa, abs=1e-15)
        assert abs(r.alpha - ref.alpha) <= tol * ref.alpha
        assert abs(r.dalpha_dkappa - ref.dalpha_dkappa) <= tol * abs(ref.dalpha_dkappa)
        assert np.allclose(r.params["q"], ref.params["q"], atol=1e-7)
        assert np.allclose(r.params["x"], ref.params["x"], rtol=1e-6)
        assert r.params["chi"] == pytest.approx(ref.params["chi"], rel=1e-7)
        assert r.diagnostics.grad_norm <= 1e-9 and r.diagnostics.hessian_max_eig < 0


def test_level1_matches_one_at_a_time(level1):
    refs, results = level1
    _agree(results, refs)
    # the kappa = 0 end of the family is the published 1RSB value (docs/references.md)
    assert list(results.kappa) == LEVEL1_KAPPAS and results.shape == (5,)


def test_difference_hessians_give_the_same_level1_sweep(level1):
    """``hessian="difference"`` (the single solve's central differences; faster to compile) = the autodiff default."""
    refs, results = level1
    diff = sw.sweep(1, LEVEL1_KAPPAS, start=refs[2], hessian="difference")
    _agree(diff, refs)
    assert np.max(np.abs(diff.alpha - results.alpha)) <= 1e-12 * refs[0].alpha
    with pytest.raises(ValueError, match="hessian"):
        sw.sweep(0, [0.0], hessian="exact")


def test_level0_matches_one_at_a_time_and_reports_every_element():
    ks = list(np.linspace(-0.3, 0.4, 4))
    results = sw.sweep(0, ks)
    _agree(results, [jaxcap.threshold(0, kappa=k) for k in ks])


def test_chunks_and_padding_give_the_same_answers():
    ks = np.linspace(-0.3, 0.4, 7)  # chunks of 4: the last one padded with its last kappa
    parts = sw.sweep(0, ks, chunk=4, start={"chi": 0.6, "q": [], "x": []})
    assert list(parts.kappa) == pytest.approx(list(ks))
    _agree(parts, [jaxcap.threshold(0, kappa=k) for k in ks])


def test_public_names():
    assert jaxcap.sweep is sw.sweep and jaxcap.energy_grid is sw.energy_grid


def test_coarse_pass_starts_every_element_at_its_solution():
    # 40 points: the automatic coarse pass (8 Chebyshev points) interpolates the starts
    ks = np.linspace(-0.3, 0.4, 40)
    results = sw.sweep(0, ks, start={"chi": 0.6, "q": [], "x": []})
    _agree(results[::13], [jaxcap.threshold(0, kappa=k) for k in ks[::13]])
    assert max(results.diagnostics.newton_steps) <= 2
    off = sw.sweep(0, ks, start={"chi": 0.6, "q": [], "x": []}, coarse=0)
    assert np.max(np.abs(results.alpha - off.alpha)) <= 1e-12
    # an α × κ grid: a 4 × 4 coarse pass, in the same scan as the grid itself
    grid = jaxcap.energy_grid([5.0, 6.0, 8.0], [-0.2, 0.1, 0.3], 0, coarse=4)
    plain = jaxcap.energy_grid([5.0, 6.0, 8.0], [-0.2, 0.1, 0.3], 0, coarse=0)
    steps = lambda g: sum(e.diagnostics.newton_steps for row in g for e in row)
    assert steps(grid) < 0.7 * steps(plain)
    for row, ref in zip(grid, plain):
        for e, f in zip(row, ref):
            assert e.converged and abs(e.energy - f.energy) <= 1e-12 * abs(f.energy), e


def test_energy_grid_matches_one_at_a_time():
    alphas, ks = [5.0, 7.0, 9.0], [-0.1, 0.2]
    grid = jaxcap.energy_grid(alphas, ks, 0)
    assert grid.shape == (3, 2) and len(grid) == 3 and grid.kind == "energy"
    assert [[(e.alpha, e.kappa) for e in row] for row in grid] == [[(a, k) for k in ks] for a in alphas]
    for a, row in zip(alphas, grid):
        for k, e in zip(ks, row):
            ref = jaxcap.energy(a, 0, kappa=k)
            assert e.converged and e.diagnostics.grad_norm <= 1e-9, e
            assert abs(e.energy - ref.energy) <= 1e-8 * abs(ref.energy)
            assert e.denergy_dalpha == pytest.approx(ref.denergy_dalpha, rel=1e-8)
            assert e.denergy_dkappa == pytest.approx(ref.denergy_dkappa, rel=1e-8)
            assert e.params["chi"] == pytest.approx(ref.params["chi"], rel=1e-7)


def test_not_converged_elements_are_kept():
    # a start far from the maximum and a single Newton step cannot reach ‖∇E‖ ≤ 1e-9
    start = {"chi": 3.0, "q": [], "x": []}
    results = sw.sweep(0, [0.0, 0.1, 0.2, 0.3], start=start, newton_iters=1)
    assert len(results) == 4 and not any(r.converged for r in results)
    assert all(results.diagnostics.grad_norm > 1e-9)
    assert all(r.reason == jaxcap._src.result.REASONS[4] for r in results)
    # the same in the CLI's JSON: converged false and the reason
    assert all(e["reason"] == jaxcap._src.result.REASONS[4] for e in (d["diagnostics"] for d in jaxcap.to_json(results)))


@pytest.mark.parametrize("kappas", [[], [0.0, float("nan")], [[0.0]]])
def test_bad_kappas(kappas):
    with pytest.raises(ValueError):
        sw.sweep(0, kappas)


def test_sharded_over_four_devices_equals_one_device():
    code = textwrap.dedent("""
        import importlib, json, jax, numpy as np
        sw = importlib.import_module("jaxcap._src.sweep")
        assert len(jax.devices()) == 4, jax.devices()
        ks = np.linspace(-0.2, 0.3, 6)   # 6 is padded to 8 on four devices
        p = sw.plan(0, ks, start={"chi": 0.6, "q": [], "x": []})
        one = sw.solve_batch(p, ks, devices=jax.devices()[:1])
        four = sw.solve_batch(p, ks)
        print(json.dumps([[a.alpha, b.alpha, a.dalpha_dkappa, b.dalpha_dkappa] for a, b in zip(one, four)]))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(rows) == 6
    for a1, a4, d1, d4 in rows:
        assert abs(a1 - a4) <= 1e-10 and abs(d1 - d4) <= 1e-10
