"""One results-row builder (``schema.make_row``) for finished rows and the runner's failure rows."""

import pytest
from memory_agents.suite import schema
from memory_agents.suite.config import RunSpec
from memory_agents.suite.runner import failed_row

SPEC = RunSpec(task="DelayedCue", env_id="MemoryGym/DelayedCue-v0", difficulty="easy", core="gru", seed=3)
ENV_INFO = {"device": "cpu", "versions": {"python": "3"}, "host": "h"}


def test_a_failure_row_has_every_field_of_a_finished_row():
    finished = schema.make_row(
        SPEC,
        "finished",
        ENV_INFO,
        {
            "success": 0.5,
            "success_ci": [0.4, 0.6],
            "return": 0.5,
            "return_ci": [0.4, 0.6],
            "wall_time": 1.0,
            "sps": 9.0,
        },
    )
    failed = failed_row(SPEC, "RuntimeError: boom", "/tmp/run")
    schema.validate_row(finished)
    schema.validate_row(failed)
    assert list(failed) == list(finished)
    assert set(finished) == set(schema.ROW_FIELDS) | set(schema.OPTIONAL_ROW_FIELDS)
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: boom"
    assert failed["log_dir"] == "/tmp/run" and failed["success"] is None
    assert failed["run_id"] == finished["run_id"] == SPEC.run_id and failed["config"] == SPEC.to_dict()


def test_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown results field\(s\) \['sucess'\]"):
        schema.make_row(SPEC, "finished", ENV_INFO, {"sucess": 1.0})


def test_row_records_the_commit_the_run_started_from(tmp_path, monkeypatch):
    """A long run outlives commits made while it trains: its row names the code it imported
    (HEAD when training started), not HEAD when it finished."""
    from memory_agents.suite import training

    from .test_checkpoints import tiny

    head = {"now": "aaaa1111"}
    monkeypatch.setattr(training, "_git_commit", lambda: head["now"])
    evaluate = training.evaluate_agent

    def commit_then_evaluate(*args, **kwargs):  # a commit lands after training, before the row
        head["now"] = "bbbb2222"
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate_agent", commit_then_evaluate)
    row = training.train_run(tiny(steps=64, checkpoint_every=0), tmp_path / "run")
    assert head["now"] == "bbbb2222" and row["versions"]["git_commit"] == "aaaa1111"
