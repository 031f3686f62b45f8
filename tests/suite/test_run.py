"""`memory-suite run`: tiny_sanity end to end, skipping finished runs, failures recorded and retried,
the process pool, train --resume and eval."""

import json
from pathlib import Path

import pytest
from memory_agents.suite import schema
from memory_agents.suite.cli import main
from memory_agents.suite.config import load_suite

from .conftest import tiny_suite


def test_tiny_sanity_writes_a_valid_results_file(sanity_run):
    out, doc = sanity_run
    schema.validate_results(doc, str(out))
    assert doc["suite"]["name"] == "tiny_sanity"
    [row] = doc["runs"]
    spec = load_suite("tiny_sanity").runs[0]
    assert row["status"] == "finished" and row["run_id"] == spec.run_id
    assert (row["task"], row["difficulty"], row["core"], row["seed"]) == ("DelayedCue", "easy", "gru", 0)
    assert row["steps"] == spec.steps and row["eval_episodes"] == spec.eval_episodes
    assert 0.0 <= row["success_ci"][0] <= row["success"] <= row["success_ci"][1] <= 1.0
    assert row["sps"] > 0 and row["wall_time"] >= row["train_time"] > 0
    assert row["device"] == "cpu" and row["versions"]["torch"] and row["versions"]["memory_gym_envs"]
    assert (
        row["curve"]
        and row["curve"][-1]["step"] <= spec.steps
        and all(p["episodes"] > 0 for p in row["curve"])
    )
    run_dir = Path(row["log_dir"])
    assert Path(row["checkpoint"]).is_file() and (run_dir / "run.json").is_file()
    assert list((run_dir / "tb").rglob("events.out.tfevents.*")), "TensorBoard logs per run"


def test_schema_rejects_broken_rows(sanity_run):
    _, doc = sanity_run
    bad = json.loads(json.dumps(doc))
    bad["runs"][0]["success"] = 1.5
    with pytest.raises(schema.ResultsError, match="success must be in"):
        schema.validate_results(bad)
    bad = json.loads(json.dumps(doc))
    del bad["runs"][0]["sps"]
    with pytest.raises(schema.ResultsError, match="missing fields sps"):
        schema.validate_results(bad)
    bad = json.loads(json.dumps(doc))
    bad["runs"][0].update(status="failed", error=None)
    with pytest.raises(schema.ResultsError, match="must say why"):
        schema.validate_results(bad)


def test_rerun_skips_finished_runs(sanity_run, capsys):
    out, doc = sanity_run
    before = out.read_text()
    assert main(["run", "--suite", "tiny_sanity", "--out", str(out), "--no-progress"]) == 0
    assert "its run is already finished" in capsys.readouterr().err
    assert out.read_text() == before  # nothing retrained or rewritten
    assert main(["run", "--suite", "tiny_sanity", "--out", str(out), "--dry-run"]) == 0
    assert "(tiny_sanity (shipped)): 1 run, 1 finished" in capsys.readouterr().out
    # a second seed: the dry run shows seed 0 done and seed 1 to do
    assert main(["run", "--suite", "tiny_sanity", "--out", str(out), "--seeds", "0,1", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert (
        "2 runs, 1 finished" in text
        and f"[done] {doc['runs'][0]['run_id']}" in text
        and "[todo] DelayedCue-easy-gru-s1-" in text
    )


def test_failed_run_is_recorded_and_retried_not_dropped(tmp_path, capsys, monkeypatch):
    from memory_agents.suite import training

    build = training._build_model

    def broken_for_the_variant(spec, *args, **kwargs):  # a failure no validation at load can see
        if spec.variant == "DelayedCue-broken":
            raise RuntimeError("the model could not be built (planted)")
        return build(spec, *args, **kwargs)

    monkeypatch.setattr(training, "_build_model", broken_for_the_variant)
    extra = "  - {task: DelayedCue, label: DelayedCue-broken, env_kwargs: {num_cues: 2, delay: 3}}\n"
    path = tiny_suite(tmp_path)
    text = path.read_text().replace("difficulties:", extra.rstrip("\n") + "\ndifficulties:", 1)
    path.write_text(text)
    out = tmp_path / "r.json"
    assert main(["run", "--suite", str(path), "--out", str(out), "--retries", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    doc = schema.load_results(out)
    by_status = {r["status"]: r for r in doc["runs"]}
    assert len(doc["runs"]) == 2 and set(by_status) == {"finished", "failed"}
    failed = by_status["failed"]
    assert failed["attempts"] == 3 and "planted" in failed["error"] and failed["success"] is None
    assert failed["config"]["env_kwargs"]["delay"] == 3
    assert "FAILED" in err and failed["run_id"] in err and "retrying" in err
    # a re-run retries the failed run only
    assert main(["run", "--suite", str(path), "--out", str(out), "--retries", "0", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "1 finished" in text and f"[retry] {failed['run_id']}" in text


def test_process_pool_runs_two_runs_into_one_file(tmp_path):
    path = tiny_suite(tmp_path, cores=("gru", "mlp"))
    out = tmp_path / "pool.json"
    assert (
        main(
            [
                "run",
                "--suite",
                str(path),
                "--out",
                str(out),
                "--workers",
                "2",
                "--threads",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    doc = schema.load_results(out)
    assert sorted(r["core"] for r in doc["runs"]) == ["gru", "mlp"]
    assert all(r["status"] == "finished" for r in doc["runs"])


def test_train_resume_and_eval(tmp_path, capsys):
    common = [
        "--task",
        "DelayedCue",
        "--difficulty",
        "easy",
        "--core",
        "gru",
        "--envs",
        "2",
        "--eval-episodes",
        "4",
        "--device",
        "cpu",
        "--log-dir",
        str(tmp_path / "runs"),
        "--env-kwargs",
        '{"num_cues": 2, "delay": 2}',
        "--algo-kwargs",
        '{"n_steps": 16, "n_epochs": 1}',
        "--hidden-dim",
        "8",
        "--no-progress",
    ]
    assert main(["train", "--steps", "32", *common]) == 0
    [first] = list((tmp_path / "runs").glob("*/model.zip"))
    assert main(["train", "--steps", "64", "--resume", str(first), *common]) == 0
    rows = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    assert sorted(r["steps"] for r in rows) == [32, 64]
    resumed = next(r for r in rows if r["steps"] == 64)
    capsys.readouterr()
    assert main(["eval", resumed["checkpoint"], "--episodes", "6", "--json", "--device", "cpu"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["episodes"] == 6 and res["task"] == "DelayedCue" and res["difficulty"] == "easy"
    assert 0.0 <= res["success_ci"][0] <= res["success"] <= res["success_ci"][1] <= 1.0
    assert res["return_ci"][0] <= res["return"] <= res["return_ci"][1]
    with pytest.raises(SystemExit):
        main(["train", "--task", "DelayedCue", "--recurrent-mode", "sometimes"])
    assert main(["train", "--task", "DelayedCue", "--core", "nope", "--steps", "8"]) == 2
    assert "], got 'nope'" in capsys.readouterr().err
