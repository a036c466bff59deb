"""Batched threshold sweeps and energy grids (jaxcap.sweep, jaxcap.energy_grid): agreement
with one-at-a-time solves, the coarse pass, sharding over several (forced host) devices and
over two processes (jax.distributed), the CLI, checkpoints, plots."""
import argparse
import importlib
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jaxcap

sw = importlib.import_module("jaxcap.sweep")  # the attribute jaxcap.sweep is the function sweep()

LEVEL1_KAPPAS = [0.01, 0.05, 0.1, 0.15, 0.2]  # one grid engine for all (see GridEngine.around)


@pytest.fixture(scope="module")
def level1():
    first = jaxcap.threshold(1, kappa=LEVEL1_KAPPAS[0])
    refs = [first] + [jaxcap.threshold(1, kappa=k, start=first) for k in LEVEL1_KAPPAS[1:]]
    return refs, sw.sweep(1, LEVEL1_KAPPAS, start=refs[2])


def _agree(results, refs, tol=1e-8):
    for r, ref in zip(results, refs):
        assert r["converged"], r
        assert r["kappa"] == pytest.approx(ref.kappa, abs=1e-15)
        assert abs(r["alpha"] - ref.alpha) <= tol * ref.alpha
        assert abs(r["dalpha_dkappa"] - ref.dalpha_dkappa) <= tol * abs(ref.dalpha_dkappa)
        assert np.allclose(r["params"]["q"], ref.params["q"], atol=1e-7)
        assert np.allclose(r["params"]["x"], ref.params["x"], rtol=1e-6)
        assert r["params"]["chi"] == pytest.approx(ref.params["chi"], rel=1e-7)
        assert r["diagnostics"]["grad_norm"] <= 1e-9 and r["diagnostics"]["hessian_max_eig"] < 0


def test_level1_matches_one_at_a_time(level1):
    refs, results = level1
    _agree(results, refs)
    # the kappa = 0 end of the family is the published 1RSB value (DESIGN §3)
    assert [r["kappa"] for r in results] == LEVEL1_KAPPAS


def test_difference_hessians_give_the_same_level1_sweep(level1):
    """``hessian="difference"`` (the single solve's central differences; faster to compile) = the autodiff default."""
    refs, results = level1
    diff = sw.sweep(1, LEVEL1_KAPPAS, start=refs[2], hessian="difference")
    _agree(diff, refs)
    assert max(abs(a["alpha"] - b["alpha"]) for a, b in zip(diff, results)) <= 1e-12 * refs[0].alpha
    with pytest.raises(ValueError, match="hessian"):
        sw.sweep(0, [0.0], hessian="exact")


def test_level0_matches_one_at_a_time_and_reports_every_element():
    ks = list(np.linspace(-0.3, 0.4, 4))
    results = sw.sweep(0, ks)
    _agree(results, [jaxcap.threshold(0, kappa=k) for k in ks])


def test_chunks_and_padding_give_the_same_answers():
    ks = np.linspace(-0.3, 0.4, 7)  # chunks of 4: the last one padded with its last kappa
    parts = sw.sweep(0, ks, chunk=4, start={"chi": 0.6, "q": [], "x": []})
    assert [r["kappa"] for r in parts] == pytest.approx(list(ks))
    _agree(parts, [jaxcap.threshold(0, kappa=k) for k in ks])


def test_public_names():
    assert jaxcap.sweep is sw.sweep and jaxcap.energy_grid is sw.energy_grid


def test_coarse_pass_starts_every_element_at_its_solution():
    # 40 points: the automatic coarse pass (8 Chebyshev points) interpolates the starts
    ks = np.linspace(-0.3, 0.4, 40)
    results = sw.sweep(0, ks, start={"chi": 0.6, "q": [], "x": []})
    _agree(results[::13], [jaxcap.threshold(0, kappa=k) for k in ks[::13]])
    assert max(r["diagnostics"]["newton_steps"] for r in results) <= 2
    off = sw.sweep(0, ks, start={"chi": 0.6, "q": [], "x": []}, coarse=0)
    assert max(abs(a["alpha"] - b["alpha"]) for a, b in zip(results, off)) <= 1e-12
    # an α × κ grid: a 4 × 4 coarse pass, in the same scan as the grid itself
    grid = jaxcap.energy_grid([5.0, 6.0, 8.0], [-0.2, 0.1, 0.3], 0, coarse=4)
    plain = jaxcap.energy_grid([5.0, 6.0, 8.0], [-0.2, 0.1, 0.3], 0, coarse=0)
    steps = lambda g: sum(e["diagnostics"]["newton_steps"] for row in g for e in row)
    assert steps(grid) < 0.7 * steps(plain)
    for row, ref in zip(grid, plain):
        for e, f in zip(row, ref):
            assert e["converged"] and abs(e["energy"] - f["energy"]) <= 1e-12 * abs(f["energy"]), e


def test_energy_grid_matches_one_at_a_time():
    alphas, ks = [5.0, 7.0, 9.0], [-0.1, 0.2]
    grid = jaxcap.energy_grid(alphas, ks, 0)
    assert [[(e["alpha"], e["kappa"]) for e in row] for row in grid] == [[(a, k) for k in ks] for a in alphas]
    for a, row in zip(alphas, grid):
        for k, e in zip(ks, row):
            ref = jaxcap.energy(a, 0, kappa=k)
            assert e["converged"] and e["diagnostics"]["grad_norm"] <= 1e-9, e
            assert abs(e["energy"] - ref.energy) <= 1e-8 * abs(ref.energy)
            assert e["denergy_dalpha"] == pytest.approx(ref.denergy_dalpha, rel=1e-8)
            assert e["denergy_dkappa"] == pytest.approx(ref.denergy_dkappa, rel=1e-8)
            assert e["params"]["chi"] == pytest.approx(ref.params["chi"], rel=1e-7)


def test_not_converged_elements_are_kept():
    # a start far from the maximum and a single Newton step cannot reach ‖∇E‖ ≤ 1e-9
    start = {"chi": 3.0, "q": [], "x": []}
    results = sw.sweep(0, [0.0, 0.1, 0.2, 0.3], start=start, newton_iters=1)
    assert len(results) == 4 and not any(r["converged"] for r in results)
    assert all(r["diagnostics"]["grad_norm"] > 1e-9 for r in results)


@pytest.mark.parametrize("kappas", [[], [0.0, float("nan")], [[0.0]]])
def test_bad_kappas(kappas):
    with pytest.raises(ValueError):
        sw.sweep(0, kappas)


def test_sharded_over_four_devices_equals_one_device():
    code = textwrap.dedent("""
        import importlib, json, jax, numpy as np
        sw = importlib.import_module("jaxcap.sweep")
        assert len(jax.devices()) == 4, jax.devices()
        ks = np.linspace(-0.2, 0.3, 6)   # 6 is padded to 8 on four devices
        p = sw.plan(0, ks, start={"chi": 0.6, "q": [], "x": []})
        one = sw.solve_batch(p, ks, devices=jax.devices()[:1])
        four = sw.solve_batch(p, ks)
        print(json.dumps([[a["alpha"], b["alpha"], a["dalpha_dkappa"], b["dalpha_dkappa"]] for a, b in zip(one, four)]))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(rows) == 6
    for a1, a4, d1, d4 in rows:
        assert abs(a1 - a4) <= 1e-10 and abs(d1 - d4) <= 1e-10


def _cli(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sw.register(sub)
    args = parser.parse_args(["sweep", *map(str, argv)])
    return args, args.func(args)


def test_cli_json_alone_on_stdout(capsys):
    _, code = _cli(["--level", 0, "--kappa-from", -0.1, "--kappa-to", 0.2, "--points", 4, "--json",
                    "--hessian", "difference"])
    out, err = capsys.readouterr()
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"level", "results", "seconds"} and payload["level"] == 0
    assert [r["kappa"] for r in payload["results"]] == pytest.approx([-0.1, 0.0, 0.1, 0.2])
    assert set(payload["results"][0]) >= {"kappa", "alpha", "dalpha_dkappa", "converged", "diagnostics", "params"}
    assert "chunk 1/1" in err


@pytest.mark.parametrize("argv", [
    ["--points", 1, "--kappa-from", 0, "--kappa-to", 1],
    ["--points", 3, "--kappa-from", 0.5, "--kappa-to", 0.5],
    ["--points", 3, "--kappa-from", "nan", "--kappa-to", 1],
    ["--points", 3, "--kappa-from", 0, "--kappa-to", "inf"],
    ["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--newton-iters", 0],
    ["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--coarse", -1],
])
def test_cli_bad_input_is_value_error(argv):
    with pytest.raises(ValueError) as exc:
        _cli(["--level", 0, *argv])
    assert "\n" not in str(exc.value)


def test_cli_not_converged_returns_3_after_printing(capsys):
    # one Newton iteration measures the start and nothing after it: only the middle kappa
    # (the solved start) is a verified maximum
    _, code = _cli(["--level", 0, "--kappa-from", -0.1, "--kappa-to", 0.2, "--points", 4, "--newton-iters", 1, "--json"])
    out, err = capsys.readouterr()
    assert code == 3
    flags = [r["converged"] for r in json.loads(out)["results"]]
    assert flags == [False, False, True, False] and "not converged: 3 of 4" in err


def test_checkpoint_resume_skips_finished_chunks(tmp_path, capsys):
    ck = tmp_path / "sweep.json"
    argv = ["--level", 0, "--kappa-from", -0.2, "--kappa-to", 0.2, "--points", 7, "--chunk", 4,
            "--checkpoint", ck, "--json"]
    _, code = _cli(argv)
    first = json.loads(capsys.readouterr().out)
    assert code == 0 and ck.exists()
    # drop the last chunk from the file, as if the run had been interrupted there
    data = json.loads(ck.read_text())
    del data["chunks"]["1"]
    ck.write_text(json.dumps(data))
    calls = []
    parser = argparse.ArgumentParser()
    sw.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", *map(str, argv)])
    payload = sw.run_sweep(args, solve=lambda *a, **k: calls.append(a[1]) or sw.solve_batch(*a, **k))
    assert len(calls) == 1 and list(calls[0]) == pytest.approx(list(np.linspace(-0.2, 0.2, 7)[4:]))
    assert [r["alpha"] for r in payload["results"]] == pytest.approx([r["alpha"] for r in first["results"]], rel=1e-12)
    # a checkpoint of another sweep is refused
    args.points = 9
    with pytest.raises(ValueError, match="different sweep"):
        sw.run_sweep(args)


def test_cli_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "alpha.png"
    _, code = _cli(["--level", 0, "--kappa-from", -0.1, "--kappa-to", 0.2, "--points", 3, "--plot", png])
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "alpha(kappa)" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_gather_the_single_process_sweep(tmp_path, capsys):
    argv = ["--level", 0, "--kappa-from", -0.2, "--kappa-to", 0.3, "--points", 5, "--chunk", 3, "--json"]
    _, code = _cli(argv)
    single = json.loads(capsys.readouterr().out)["results"]
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAXCAP_CACHE_DIR="off", JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{_free_port()}",
               JAX_NUM_PROCESSES="2")
    ck = tmp_path / "sweep.json"
    cmd = [sys.executable, "-m", "jaxcap", "sweep", *map(str, argv), "--distributed", "--checkpoint", str(ck)]
    procs = [subprocess.Popen(cmd + ["--process-id", str(i)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert outs[1][0] == ""                                  # only process 0 writes
    gathered = json.loads(outs[0][0])["results"]             # JSON alone on stdout
    assert "on 2 processes" in outs[0][1] and "chunk 2/2" in outs[0][1]
    assert [r["kappa"] for r in gathered] == [r["kappa"] for r in single]
    for a, b in zip(gathered, single):
        assert a["converged"] and abs(a["alpha"] - b["alpha"]) <= 1e-12 * b["alpha"]
        assert abs(a["dalpha_dkappa"] - b["dalpha_dkappa"]) <= 1e-10
    assert len(json.loads(ck.read_text())["chunks"]) == 2
