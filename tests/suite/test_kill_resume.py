"""kill -9 in the middle of `memory-suite run` / `memory-suite train --checkpoint-every N`, then the
same command again: unfinished runs continue from their last checkpoint, finished rows survive
untouched, and the results file is valid JSON whenever it is read while runs are in flight.

The command runs in a child process that, at a chosen env step of a chosen run, writes a marker
file and waits; the test then sends it SIGKILL, so the kill lands mid-interval at a known step.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from memory_agents.suite import checkpoints, schema
from memory_agents.suite.cli import main

CHILD = """
import sys, time
from pathlib import Path
from memory_agents.suite import checkpoints
from memory_agents.suite.cli import main

marker, run_prefix, step = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
original = checkpoints.CheckpointCallback._on_step

def on_step(self):
    if step and self.run_id.startswith(run_prefix) and self.model.num_timesteps >= step:
        tmp = marker.with_suffix(".tmp")  # the test polls for the marker: it must appear whole
        tmp.write_text(str(self.model.num_timesteps))
        tmp.replace(marker)
        time.sleep(600)  # until the test kills us
    return original(self)

checkpoints.CheckpointCallback._on_step = on_step
sys.exit(main(sys.argv[4:]))
"""

#: 4 envs x n_steps 16: rollouts of 64 steps; checkpoints every 256 steps land on 256, 512, 768.
SUITE = """\
name: crash
tasks: [{task: DelayedCue, env_kwargs: {num_cues: 2, delay: 2}}]
cores: [gru]
seeds: [0, 1]
train: {steps: 1024, num_envs: 4, eval_episodes: 4, curve_points: 4, device: cpu, checkpoint_every: 256}
ppo: {n_steps: 16, n_epochs: 1}
policy: {hidden_dim: 8}
"""
KILL_AT = 700
LAST_CHECKPOINT = 512


def _killed_child(tmp_path, args, kill_run, kill_at, results=None, timeout=240):
    """Run the CLI in a child and SIGKILL it once run ``kill_run`` reaches env step ``kill_at``.

    Reads ``results`` (if given) all along and checks it is a valid results file each time.
    """
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / "killed_at"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(marker), kill_run, str(kill_at), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and not marker.exists():
            if results is not None and results.exists():
                schema.load_results(results)  # raises on a half-written or invalid file
            assert time.monotonic() < deadline, "the child took too long"
            time.sleep(0.02)
        assert marker.exists(), f"the child ended before step {kill_at}:\n{proc.communicate()[0]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL and int(marker.read_text()) >= kill_at


def _rerun(args, results=None) -> int:
    """The same command again, here (torch is imported already), reading ``results`` from another
    thread all along; returns the exit status and asserts every read found a valid file."""
    reads, errors, done = [0], [], threading.Event()

    def read():
        while not done.is_set():
            try:
                schema.load_results(results)
                reads[0] += 1
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            time.sleep(0.01)

    reader = threading.Thread(target=read) if results is not None else None
    if reader:
        reader.start()
    try:
        status = main(args)
    finally:
        done.set()
        if reader:
            reader.join()
    assert not errors, errors[:3]
    assert reader is None or reads[0] > 0
    return status


def test_killed_suite_resumes_unfinished_run_and_keeps_finished_rows(tmp_path, capsys):
    path = tmp_path / "crash.yaml"
    path.write_text(SUITE)
    out = tmp_path / "results.json"
    args = ["run", "--suite", str(path), "--out", str(out), "--no-progress"]

    _killed_child(tmp_path, args, "DelayedCue-easy-gru-s1-", KILL_AT, out)
    doc = schema.load_results(out)
    [first] = doc["runs"]  # seed 0 finished before the kill; seed 1 was in flight
    assert first["seed"] == 0 and first["status"] == "finished" and first["resumed_from_step"] is None
    [run_dir] = out.with_name("results_runs").glob("DelayedCue-easy-gru-s1-*")
    record = json.loads(checkpoints.record_path(run_dir).read_text())
    assert record["step"] == LAST_CHECKPOINT and not record["finished"]

    assert _rerun(args, out) == 0
    assert "1 run to do (1 already finished)" in capsys.readouterr().err
    doc = schema.load_results(out)
    assert len(doc["runs"]) == 2 and doc["runs"][0] == first  # the finished row, untouched
    second = doc["runs"][1]
    assert second["status"] == "finished" and second["seed"] == 1 and second["steps"] == 1024
    assert (
        second["resumed_from_step"] == LAST_CHECKPOINT and KILL_AT - LAST_CHECKPOINT <= 256
    )  # one interval lost at most
    assert [p["step"] for p in second["curve"]] == [256, 512, 768, 1024]  # the points before the kill kept
    assert json.loads(checkpoints.record_path(run_dir).read_text())["finished"]


def test_killed_train_resumes_from_its_last_checkpoint(tmp_path, capsys):
    logs = tmp_path / "runs"
    args = [
        "train",
        "--task",
        "DelayedCue",
        "--difficulty",
        "easy",
        "--core",
        "gru",
        "--envs",
        "4",
        "--steps",
        "1024",
        "--checkpoint-every",
        "256",
        "--eval-episodes",
        "4",
        "--device",
        "cpu",
        "--log-dir",
        str(logs),
        "--env-kwargs",
        '{"num_cues": 2, "delay": 2}',
        "--algo-kwargs",
        '{"n_steps": 16, "n_epochs": 1}',
        "--hidden-dim",
        "8",
        "--no-progress",
    ]
    _killed_child(tmp_path, args, "DelayedCue-easy-gru-s0-", KILL_AT)
    [run_dir] = logs.iterdir()
    assert not (run_dir / "run.json").exists()
    assert _rerun(args) == 0
    assert f"resuming from the checkpoint at step {LAST_CHECKPOINT}" in capsys.readouterr().out
    row = json.loads((run_dir / "run.json").read_text())
    assert row["resumed_from_step"] == LAST_CHECKPOINT and row["steps"] == 1024
    assert Path(row["checkpoint"]).is_file()
