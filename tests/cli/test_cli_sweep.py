"""``jaxcap sweep`` through ``main(argv)``: JSON alone on stdout, exit codes, checkpoints, plots, and
two processes (jax.distributed, the one test here that needs subprocesses)."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import jaxcap
from jaxcap.cli import build_parser
from jaxcap.cli import sweep as cli_sweep
from jaxcap._src.sweep import solve_batch

GRID = ["--level", 0, "--kappa-from", -0.1, "--kappa-to", 0.2, "--points", 4]


def test_json_alone_on_stdout(jaxcap_cli):
    run = jaxcap_cli("sweep", *GRID, "--json")
    assert run.code == 0, run
    payload = run.json()
    assert set(payload) == {"level", "results", "seconds"} and payload["level"] == 0
    assert [r["kappa"] for r in payload["results"]] == pytest.approx([-0.1, 0.0, 0.1, 0.2])
    assert set(payload["results"][0]) >= {"kappa", "alpha", "dalpha_dkappa", "converged", "diagnostics", "params"}
    assert "chunk 1/1" in run.err


@pytest.mark.parametrize("argv,needle", [
    (["--points", 1, "--kappa-from", 0, "--kappa-to", 1], "--points"),
    (["--points", 3, "--kappa-from", 0.5, "--kappa-to", 0.5], "--kappa-to"),
    (["--points", 3, "--kappa-from", "nan", "--kappa-to", 1], "--kappa-from"),
    (["--points", 3, "--kappa-from", 0, "--kappa-to", "inf"], "--kappa-to"),
    (["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--newton-iters", 0], "--newton-iters"),
    (["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--coarse", -1], "--coarse"),
    (["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--chunk", 0], "--chunk"),
    (["--points", 3, "--kappa-from", 0, "--kappa-to", 1, "--cpu-devices", 0], "--cpu-devices"),
])
def test_bad_input_is_one_line_exit_2(jaxcap_cli, argv, needle):
    run = jaxcap_cli("sweep", "--level", 0, *argv)
    assert run.code == 2 and run.out == "" and len(run.lines()) == 1 and needle in run.err, run


def test_not_converged_exits_3_after_printing(jaxcap_cli):
    # one Newton iteration measures the start and nothing after it: only the middle kappa
    # (the solved start) is a verified maximum
    run = jaxcap_cli("sweep", *GRID, "--newton-iters", 1, "--json")
    assert run.code == 3, run
    flags = [r["converged"] for r in run.json()["results"]]
    assert flags == [False, False, True, False] and "not converged: 3 of 4" in run.err


def test_checkpoint_resume_skips_finished_chunks(jaxcap_cli, tmp_path):
    ck = tmp_path / "sweep.json"
    argv = ["sweep", "--level", 0, "--kappa-from", -0.2, "--kappa-to", 0.2, "--points", 7, "--chunk", 4,
            "--checkpoint", ck, "--json"]
    run = jaxcap_cli(*argv)
    first = run.json()
    assert run.code == 0 and ck.exists()
    # drop the last chunk from the file, as if the run had been interrupted there
    data = json.loads(ck.read_text())
    del data["data"]["chunks"]["1"]
    ck.write_text(json.dumps(data))
    calls = []
    args = build_parser().parse_args([str(a) for a in argv])
    payload = jaxcap.sweep_chunks(args.level, cli_sweep.kappa_grid(args), **cli_sweep.sweep_options(args),
                                  solve=lambda *a, **k: calls.append(a[1]) or solve_batch(*a, **k))
    assert len(calls) == 1 and list(calls[0]) == pytest.approx(list(np.linspace(-0.2, 0.2, 7)[4:]))
    assert [r["alpha"] for r in payload["results"]] == pytest.approx([r["alpha"] for r in first["results"]],
                                                                     rel=1e-12)
    # a checkpoint of another sweep is refused, naming the file and the option
    run = jaxcap_cli(*[a if a != 7 else 9 for a in argv])
    assert run.code == 2 and str(ck) in run.err and "kappas" in run.err and len(run.lines()) == 1, run
    run = jaxcap_cli(*argv, "--spacing", "0.02")
    assert run.code == 2 and "spacing" in run.err, run


def test_plot(jaxcap_cli, tmp_path):
    png = tmp_path / "alpha.png"
    run = jaxcap_cli("sweep", "--level", 0, "--kappa-from", -0.1, "--kappa-to", 0.2, "--points", 3, "--plot", png)
    assert run.code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", run
    assert "alpha(kappa)" in run.out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_gather_the_single_process_sweep(jaxcap_cli, tmp_path):
    argv = ["--level", 0, "--kappa-from", -0.2, "--kappa-to", 0.3, "--points", 5, "--chunk", 3, "--json"]
    single = jaxcap_cli("sweep", *argv).json()["results"]
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAXCAP_CACHE_DIR="off",
               JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{_free_port()}", JAX_NUM_PROCESSES="2")
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
    assert len(json.loads(ck.read_text())["data"]["chunks"]) == 2
