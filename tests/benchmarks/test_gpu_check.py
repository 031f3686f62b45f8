"""benchmarks/gpu_check.py where no GPU is: it says so and exits 0 having measured (and imported)
nothing heavy; its options are checked before anything runs. The CUDA parts themselves can only
run on a GPU machine; `-m slow` runs them with --smoke (tiny sizes, CPU) to catch breakage early,
and the profile part (7) runs here in-process with --device cpu --smoke."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def gpu_check(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hide any GPU this machine has
    return subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_without_cuda_it_says_so_and_exits_0_measuring_nothing(tmp_path):
    run = gpu_check("--out", "gpu_check.json", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No CUDA GPU present" in run.stdout and "nothing measured" in run.stdout
    assert not (tmp_path / "gpu_check.json").exists()
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line
    }
    assert not imported & {"torch", "numpy", "memory_agents", "gymnasium"}


def test_dry_run_lists_the_chosen_parts_with_scaled_limits(tmp_path):
    run = gpu_check("--dry-run", "--parts", "2,3", "--budget-s", "45", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    listed = [line.split()[1] for line in run.stdout.splitlines() if line.startswith("  part ")]
    assert listed == ["2", "3"]
    assert "pytest -m gpu" in run.stdout and "total 45 s" in run.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--parts", "8"], "parts are 1-7"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--parts", "two"], "expects part numbers"),
        (["--budget-s", "0"], "--budget-s must be > 0"),
        (["--ppo-kwargs", "{oops"], "--ppo-kwargs must be a JSON object"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    run = gpu_check(*args, cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr


@pytest.mark.slow
def test_smoke_run_of_the_measuring_parts_on_cpu(tmp_path):
    run = gpu_check(
        "--smoke",
        "--python",
        sys.executable,
        "--parts",
        "3-7",
        "--budget-s",
        "450",
        "--out",
        "gpu_check.json",
        cwd=tmp_path,
        timeout=600,
    )
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    status = {row["name"]: row["status"] for row in report["parts"]}
    assert status == {
        "setup": "skipped",
        "gpu-tests": "skipped",
        "mamba2-parity": "skipped",
        "core-throughput": "ok",
        "ppo-throughput": "ok",
        "time-to-target": "ok",
        "update-profile": "ok",
    }, run.stdout
    ppo = report["parts"][4]["details"]
    assert any("sps" in row for row in ppo["rows"])
    assert report["parts"][6]["details"]["profile"][-1].startswith("largest:")
    assert run.returncode == 0


def test_profile_part_on_cpu_names_where_the_cycle_goes(tmp_path, capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_check", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    result = tmp_path / "part7.json"
    argv = ["--worker", "7", "--result", str(result), "--deadline", "0", "--device", "cpu", "--smoke"]
    assert module.main(argv) == 0
    details = json.loads(result.read_text())["details"]
    lines = details["profile"]
    assert details["rollout_step"] == "eager" and "cpu" in details["profile_row"]
    assert lines[0].startswith("cycle ") and lines[-1].startswith("largest:")
    for item in ("host->device copy", "policy step (eager)", "device->host copy", "env step: task arrays"):
        assert any(item in line for line in lines), item
    seconds = [float(line.split()[-3]) for line in lines if line.startswith("  ")]
    assert all(s >= 0 for s in seconds)
    assert "largest:" in capsys.readouterr().out
