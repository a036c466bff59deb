"""Checkpoints (jaxcap._src.checkpoint) through the command line: malformed, foreign or incomplete files
are refused in one line naming the file and the problem (exit 2), concurrent writers merge, and an
interrupted run (SIGINT) exits 130 with its checkpoint intact and resumes."""
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

import jaxcap
from jaxcap._src import checkpoint
from jaxcap._src.frsb import checkpoint_key

SWEEP = ["sweep", "--level", 0, "--kappa-from", -0.2, "--kappa-to", 0.2, "--points", 5, "--chunk", 2]


@pytest.fixture(scope="module")
def level0():
    return jaxcap.threshold(0)


def _refused(run, path, needle):
    assert run.code == 2 and run.out == "", run
    assert len(run.lines()) == 1 and run.lines()[0].startswith(f"jaxcap: error: checkpoint {path}"), run
    assert needle in run.err, run


FILES = [
    ("", "is empty"),
    ("not json", "not valid JSON"),
    ("{}", "not a jaxcap checkpoint"),
    ("[]", "not a jaxcap checkpoint"),
    ('{"kappa": 0.0, "levels": []}', "not a jaxcap checkpoint"),
    ('{"schema": 99, "kind": "frsb", "key": {}, "data": {}}', "schema 99"),
    ('{"schema": 1, "kind": "frsb", "key": {}, "data": {}}', "not a 'sweep' one"),
    ('{"schema": 1, "kind": "sweep", "key": [], "data": {}}', "malformed key"),
    ('{"schema": 1, "kind": "sweep", "key": {"level": NaN}, "data": {}}', "not valid JSON"),
]


@pytest.mark.parametrize("text,needle", FILES)
def test_malformed_or_foreign_sweep_checkpoints_are_refused(jaxcap_cli, tmp_path, text, needle):
    ck = tmp_path / "ck.json"
    ck.write_text(text)
    _refused(jaxcap_cli(*SWEEP, "--checkpoint", ck), ck, needle)
    assert ck.read_text() == text                     # never overwritten


def _sweep_checkpoint(jaxcap_cli, tmp_path):
    ck = tmp_path / "ck.json"
    run = jaxcap_cli(*SWEEP, "--checkpoint", ck, "--json")
    assert run.code == 0, run
    return ck, json.loads(ck.read_text())


def _set(doc, path, value):
    *head, last = path
    for k in head:
        doc = doc[k]
    if value is KeyError:
        del doc[last]
    else:
        doc[last] = value


SWEEP_DAMAGE = [
    (("data", "chunks", "0"), [], "holds 0 results, expected 2"),                     # a short chunk
    (("data", "chunks", "2"), [{"kappa": 0.2}, {"kappa": 0.2}], "expected 1"),
    (("data", "chunks", "7"), [], "not one of 0 ... 2"),
    (("data", "chunks", "x"), [], "not one of 0 ... 2"),
    (("data", "chunks", "0", 0, "alpha"), "7.6", "not a finite number"),              # wrong types
    (("data", "chunks", "0", 0, "alpha"), None, "not a finite number"),
    (("data", "chunks", "0", 0, "converged"), "yes", "true or false"),
    (("data", "chunks", "0", 0, "kappa"), 0.3, "not -0.2"),
    (("data", "chunks", "0", 0, "params", "chi"), -1.0, "not positive"),
    (("data", "chunks", "0", 0, "params", "q"), [0.5], "list of 0 numbers"),
    (("data", "chunks", "0", 0), "row", "is not an object"),
    (("data", "chunks"), [], "no object of chunks"),
    (("data", "start"), KeyError, "params must be an object"),
    (("data",), [], "malformed data"),
    (("key", "spacing"), 0.02, "spacing 0.02 (this run: null)"),                      # other options
    (("key", "level"), 1, "level 1 (this run: 0)"),
    (("key", "hessian"), "difference", "hessian"),
]


@pytest.mark.parametrize("path,value,needle", SWEEP_DAMAGE, ids=lambda v: str(v)[:30])
def test_damaged_sweep_checkpoints_are_refused(jaxcap_cli, tmp_path, path, value, needle):
    ck, doc = _sweep_checkpoint(jaxcap_cli, tmp_path)
    _set(doc, path, value)
    ck.write_text(json.dumps(doc))
    _refused(jaxcap_cli(*SWEEP, "--checkpoint", ck), ck, needle)


def test_nan_in_a_checkpoint_is_refused(jaxcap_cli, tmp_path):
    ck, doc = _sweep_checkpoint(jaxcap_cli, tmp_path)
    text = json.dumps(doc)
    ck.write_text(text.replace('"alpha": 7', '"alpha": NaN, "x": 7', 1))
    _refused(jaxcap_cli(*SWEEP, "--checkpoint", ck), ck, "not valid JSON (non-finite number NaN)")


FRSB_DAMAGE = [
    (lambda rows: rows[0].update(level=1), "expected 0"),
    (lambda rows: rows[0].update(alpha=float("nan")), "not valid JSON"),
    (lambda rows: rows[0].update(alpha=-1.0), "not positive"),
    (lambda rows: rows[0].update(kappa=0.5), "kappa = 0.5"),
    (lambda rows: rows[0]["diagnostics"].update(converged=False), "not a converged result"),
    (lambda rows: rows[0]["diagnostics"].update(extra=1), "unexpected fields"),
    (lambda rows: rows[0].pop("diagnostics"), "diagnostics missing"),
    (lambda rows: rows[0].update(params={"chi": 1.0, "q": [0.5], "x": []}), "list of 0 numbers"),
    (lambda rows: rows.append(dict(rows[0])), "entry 1 is level 0"),
]


@pytest.mark.parametrize("damage,needle", FRSB_DAMAGE)
def test_damaged_frsb_checkpoints_are_refused_before_any_work(jaxcap_cli, tmp_path, level0, damage, needle):
    ck = tmp_path / "frsb.json"
    checkpoint.write_levels(ck, checkpoint_key(0.0), [level0])
    doc = json.loads(ck.read_text())
    damage(doc["data"]["levels"])
    ck.write_text(json.dumps(doc))
    _refused(jaxcap_cli("frsb", "--max-level", 3, "--checkpoint", ck), ck, needle)


@pytest.mark.parametrize("option,value", [("--spacing", "0.02"), ("--engine", "tensor"), ("--kappa", "0.1"),
                                          ("--nodes", "64")])
def test_frsb_refuses_levels_computed_with_other_options(jaxcap_cli, tmp_path, level0, option, value):
    ck = tmp_path / "frsb.json"
    checkpoint.write_levels(ck, checkpoint_key(0.0), [level0])
    _refused(jaxcap_cli("frsb", "--max-level", 3, "--checkpoint", ck, option, value), ck, option.lstrip("-"))


def test_unusable_checkpoint_paths_are_refused_before_any_work(jaxcap_cli, tmp_path):
    for path, needle in [(tmp_path, "is a directory"), (tmp_path / "no" / "ck.json", "does not exist"),
                         ("/dev/null", "not a regular file")]:
        run = jaxcap_cli(*SWEEP, "--checkpoint", path)
        assert run.code == 2 and len(run.lines()) == 1 and "--checkpoint" in run.err and needle in run.err, run


# ---------------------------------------------------------------------------------------------
# concurrent writers

KEY = {"level": 0, "kappas": [0.01 * i for i in range(40)], "chunk": 1}
START = {"chi": 0.6, "q": [], "x": []}


def _row(k):
    return {"kappa": k, "alpha": 7.6, "dalpha_dkappa": 9.6, "converged": True, "params": START,
            "diagnostics": {"grad_norm": 0.0}}


def _writer(path, parity):
    for i in range(parity, len(KEY["kappas"]), 2):
        checkpoint.write_chunks(path, KEY, START, {i: [_row(KEY["kappas"][i])]})


def test_concurrent_writers_merge_and_never_corrupt(tmp_path):
    path = str(tmp_path / "ck.json")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, parity)) for parity in (0, 1)]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):          # a reader meanwhile: never a partial file
        if os.path.exists(path):
            checkpoint.read_chunks(path, KEY)
        time.sleep(0.002)
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    start, done = checkpoint.read_chunks(path, KEY)
    assert sorted(done) == list(range(40)) and start == START
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


# ---------------------------------------------------------------------------------------------
# interrupted and resumed

INTERRUPTED = ["sweep", "--level", 0, "--kappa-from", -0.5, "--kappa-to", 0.5, "--points", 200, "--chunk", 2]


@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "interrupted"),
                                                 (signal.SIGTERM, 143, "terminated"),
                                                 (signal.SIGKILL, -signal.SIGKILL, None)])
def test_a_stopped_sweep_keeps_its_checkpoint_and_the_rerun_resumes(jaxcap_cli, tmp_path, signum, code, said):
    """SIGINT (130) and SIGTERM (143) end the run with one line; SIGKILL cannot be caught, and the
    atomic writes still leave a whole checkpoint (beside, perhaps, the temporary file of the write it
    cut short).  Either way the rerun computes only what is left."""
    ck = tmp_path / "ck.json"
    root = os.path.dirname(os.path.dirname(os.path.abspath(jaxcap.__file__)))
    env = dict(os.environ, JAXCAP_CACHE_DIR="off", PYTHONPATH=root)
    # started with SIGINT ignored, as a background job of a shell script is: jaxcap still honours it
    command = [sys.executable, "-m", "jaxcap", *map(str, INTERRUPTED), "--checkpoint", str(ck)]
    proc = subprocess.Popen(["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err and out == ""
    if said:        # caught: the write in progress finished or removed its temporary file
        assert err.strip().splitlines()[-1].startswith(f"jaxcap: {said} (the checkpoint keeps")
        assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []
    doc = json.loads(ck.read_text())
    key = doc["key"]
    _, done = checkpoint.read_chunks(ck, key)
    assert 1 <= len(done) < 100
    run = jaxcap_cli(*INTERRUPTED, "--checkpoint", ck, "--json")
    assert run.code == 0, run
    assert run.err.count("from checkpoint") == len(done)
    results = run.json()["results"]
    assert len(results) == 200 and all(r["converged"] for r in results)
    assert len(checkpoint.read_chunks(ck, key)[1]) == 100


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_a_level_compiles_exits_cleanly_and_the_rerun_resumes(jaxcap_cli, tmp_path, signum, code):
    """A signal arriving while XLA compiles the next level (the first checkpoint entry just
    written): the exit code says so, not a crash in Python's teardown, and the rerun starts from
    the saved levels."""
    ck = tmp_path / "levels.json"
    root = os.path.dirname(os.path.dirname(os.path.abspath(jaxcap.__file__)))
    env = dict(os.environ, JAXCAP_CACHE_DIR="off", PYTHONPATH=root)
    proc = subprocess.Popen([sys.executable, "-m", "jaxcap", "frsb", "--max-level", "3", "--checkpoint", str(ck)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(1.0)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (code, 0), err          # 0: the run finished before the signal came
    assert "Traceback" not in err
    saved = json.loads(ck.read_text())["data"]["levels"]
    run = jaxcap_cli("frsb", "--max-level", "3", "--checkpoint", ck, "--json")
    assert run.code == 0, run
    assert run.err.count("(from the checkpoint)") == len(saved) >= 1
    assert run.json()["levels"] == [0, 1, 2, 3]
