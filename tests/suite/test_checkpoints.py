"""Checkpoints and resuming, in this process (a crash is an exception raised mid-training; the
real SIGKILL tests are in test_kill_resume.py): what a checkpoint holds, where a run resumes,
bad records, the checkpoint_every setting, and atomic writes."""

import json

import pytest
from memory_agents.suite import checkpoints, schema, training
from memory_agents.suite.cli import main
from memory_agents.suite.config import EVAL_OFFSET, RunSpec, SuiteError, build_suite, env_seeds, load_suite


class Crash(Exception):
    """Stands in for a crash in the middle of training."""


@pytest.fixture
def crash_at(monkeypatch):
    """``crash_at(step)``: the next training raises Crash once it reaches ``step`` (a checkpoint due
    at that very step is not written)."""
    original = checkpoints.CheckpointCallback._on_step

    def arm(step):
        def on_step(self):
            if self.model.num_timesteps >= step:
                monkeypatch.setattr(checkpoints.CheckpointCallback, "_on_step", original)
                raise Crash(f"crashed at step {self.model.num_timesteps}")
            return original(self)

        monkeypatch.setattr(checkpoints.CheckpointCallback, "_on_step", on_step)

    return arm


def tiny(algo="ppo", **kwargs) -> RunSpec:
    algo_kwargs = {"n_steps": 16, "n_epochs": 1} if algo == "ppo" else {"learning_starts": 2, "train_freq": 4}
    settings = dict(
        seed=0,
        steps=1024,
        num_envs=4,
        eval_episodes=4,
        curve_points=4,
        checkpoint_every=256,
        env_kwargs={"num_cues": 2, "delay": 2},
    )
    return RunSpec(
        task="DelayedCue",
        env_id="MemoryGym/DelayedCue-v0",
        difficulty="easy",
        core="gru",
        algo=algo,
        algo_kwargs=algo_kwargs,
        policy_kwargs={"hidden_dim": 8},
        **{**settings, **kwargs},
    )


def spy_train_seeds(monkeypatch) -> list:
    """The seed each training env really starts its episodes from (the one its first reset uses)."""
    seen, make = [], training.make_env

    def make_env(spec, num_envs, seed, *extra):
        env = make(spec, num_envs, seed, *extra)
        if seed == env_seeds(spec.seed).train:  # not the evaluation env
            reset = env.reset
            env.reset = lambda: (seen.append(env._seeds[0]), reset())[1]
        return env

    monkeypatch.setattr(training, "make_env", make_env)
    return seen


def test_ppo_run_resumes_from_its_last_checkpoint_with_its_curve(tmp_path, crash_at, monkeypatch):
    spec, run_dir = tiny(steps=512, checkpoint_every=128), tmp_path / "run"
    crash_at(350)
    with pytest.raises(Crash):
        training.train_run(spec, run_dir)
    record = checkpoints.load_record(run_dir, spec.run_id)
    # MemoryPPO checkpoints between rollouts (64 steps here), the first at or after each multiple of 128
    assert (
        record["step"] == 256 and record["model"].endswith("model_256_steps.zip") and not record["finished"]
    )
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.zip")) == [
        "model_128_steps.zip",
        "model_256_steps.zip",
    ]
    assert [p["step"] for p in record["extra"]["curve"]["points"]] == [128, 256]

    seeds = spy_train_seeds(monkeypatch)
    row = training.train_run(spec, run_dir)
    assert row["resumed_from_step"] == 256 and row["steps"] == 512
    assert [p["step"] for p in row["curve"]] == [128, 256, 384, 512]
    assert row["curve"][:2] == record["extra"]["curve"]["points"]
    assert seeds == [checkpoints.resume_seed(env_seeds(0).train, 256, 4)]  # fresh streams for the rest
    assert json.loads(checkpoints.record_path(run_dir).read_text())["finished"]
    # a finished run called again trains from scratch (train's behaviour), its old checkpoints cleared first
    (run_dir / "checkpoints" / "model_99999_steps.zip").write_bytes(b"stale")
    again = training.train_run(spec, run_dir)
    assert again["resumed_from_step"] is None and again["steps"] == 512
    assert not (run_dir / "checkpoints" / "model_99999_steps.zip").exists()


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_training_env_plays_the_run_streams_not_the_model_seed(tmp_path, monkeypatch, algo):
    """SB3 seeds a model's env with the model's seed (1 here); the run's rows are env_seeds(1).train."""
    seeds = spy_train_seeds(monkeypatch)
    training.train_run(tiny(algo, seed=1, steps=64, checkpoint_every=0), tmp_path / "run")
    assert seeds == [env_seeds(1).train]


def test_dqn_checkpoint_holds_its_replay_buffer(tmp_path, crash_at, monkeypatch):
    from memory_agents.dqn import TrialReplayDQN

    spec, run_dir = tiny("dqn", steps=200, checkpoint_every=48), tmp_path / "run"
    crash_at(150)
    with pytest.raises(Crash):
        training.train_run(spec, run_dir)
    record = checkpoints.load_record(run_dir, spec.run_id)
    assert record["step"] == 144 and record["replay_buffer"].endswith("model_144_steps_replay.pkl")
    assert [p.name for p in (run_dir / "checkpoints").glob("*.pkl")] == [
        "model_144_steps_replay.pkl"
    ]  # newest only

    loaded = []
    load = TrialReplayDQN.load_replay_buffer

    def spy(self, path):
        load(self, path)
        loaded.append((self.num_timesteps, len(self.replay_buffer)))

    monkeypatch.setattr(TrialReplayDQN, "load_replay_buffer", spy)
    row = training.train_run(spec, run_dir)
    assert row["resumed_from_step"] == 144 and row["steps"] == 200
    [(step, trials)] = loaded
    assert step == 144 and trials > 0  # the resumed agent replays what it collected before the crash


def test_failed_suite_run_is_retried_from_its_checkpoint(tmp_path, crash_at, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ntasks: [{task: DelayedCue, env_kwargs: {num_cues: 2, delay: 2}}]\ncores: [gru]\n"
        "train: {steps: 1024, num_envs: 4, eval_episodes: 4, curve_points: 4, checkpoint_every: 256}\n"
        "ppo: {n_steps: 16, n_epochs: 1}\npolicy: {hidden_dim: 8}\n"
    )
    out = tmp_path / "r.json"
    args = ["run", "--suite", str(path), "--out", str(out), "--no-progress", "--retries", "0"]
    crash_at(700)
    assert main(args) == 1  # the crash is recorded as a failed run
    [failed] = schema.load_results(out)["runs"]
    assert (
        failed["status"] == "failed"
        and "crashed at step" in failed["error"]
        and failed["resumed_from_step"] is None
    )
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if failed["run_id"] in x)
    assert line.lstrip().startswith("[retry]") and line.endswith("(resumes from step 512)")
    assert main(args) == 0  # the retry continues from the checkpoint
    [row] = schema.load_results(out)["runs"]
    assert row["status"] == "finished" and row["resumed_from_step"] == 512


def test_resume_seed_plays_fresh_rows_inside_the_run_block():
    train = env_seeds(3).train
    for step, n in ((512, 4), (4, 4), (10**9, 64), (EVAL_OFFSET, 8)):
        seed = checkpoints.resume_seed(train, step, n)
        assert train <= seed and seed + n <= train + EVAL_OFFSET  # never an evaluation row or another run's
        if step + n <= EVAL_OFFSET:
            assert seed >= train + n  # none of the rows the run started on


def test_bad_records_are_clear_errors(tmp_path):
    spec, run_dir = tiny(), tmp_path / "run"
    path = checkpoints.record_path(run_dir)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"latest.json.*not valid JSON.*delete it"):
        checkpoints.load_record(run_dir, spec.run_id)
    path.write_text(json.dumps({"run_id": "other", "step": 5, "model": "checkpoints/model_5_steps.zip"}))
    with pytest.raises(ValueError, match=r"belongs to run 'other', not"):
        training.train_run(spec, run_dir)
    path.write_text(json.dumps({"run_id": spec.run_id, "step": 5, "model": "checkpoints/model_5_steps.zip"}))
    with pytest.raises(ValueError, match=r"model_5_steps.zip.*does not exist"):
        checkpoints.load_record(run_dir, spec.run_id)
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1, got 0"):
        checkpoints.CheckpointCallback(run_dir, spec.run_id, 0)


def test_checkpoint_every_setting_is_validated_and_not_in_run_ids(tmp_path):
    ids = {tiny(checkpoint_every=v).run_id for v in (None, 0, 1, 500)}
    assert len(ids) == 1
    assert (
        tiny(checkpoint_every=None).checkpoint_interval == 102
        and tiny(checkpoint_every=0).checkpoint_interval == 0
    )
    for bad in (-1, 2.5, "10", True):
        with pytest.raises(ValueError, match=f"checkpoint_every must be an integer >= 0.*got {bad!r}"):
            tiny(checkpoint_every=bad)
    text = "tasks: [DelayedCue]\ncores: [gru]\ntrain:\n  steps: 100\n  checkpoint_every: -5\n"
    with pytest.raises(SuiteError, match=r"x.yaml, line 5: checkpoint_every must be an integer >= 0.*got -5"):
        build_suite(text, "x.yaml")
    suite = build_suite(text.replace("-5", "20"), "x.yaml")
    assert suite.runs[0].checkpoint_every == 20
    assert load_suite("tiny_sanity").runs[0].checkpoint_every is None  # default: a tenth of the steps
    assert (
        load_suite("tiny_sanity", {"checkpoint_every": 0}).runs[0].checkpoint_every == 0
    )  # --checkpoint-every 0


def test_write_atomic_keeps_the_old_file_on_failure_and_its_mode(tmp_path):
    path = tmp_path / "r.json"
    schema.write_atomic(path, "old\n")
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    path.chmod(0o640)
    schema.write_atomic(path, b"new\n")
    assert path.read_text() == "new\n" and path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(TypeError):
        schema.write_atomic(path, 12345)  # not str / bytes: fails while writing the temp file
    assert path.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_resumed_from_step_is_checked_when_present(sanity_run):
    _, doc = sanity_run
    row = json.loads(json.dumps(doc["runs"][0]))
    assert row["resumed_from_step"] is None
    schema.validate_row({k: v for k, v in row.items() if k != "resumed_from_step"})  # files from before it
    with pytest.raises(schema.ResultsError, match="resumed_from_step"):
        schema.validate_row({**row, "resumed_from_step": "512"})


def test_resumed_run_continues_its_curriculum_stage(tmp_path, crash_at):
    """MemoryPPO saves curriculum_state on the model, so the checkpoint carries the stage reached."""
    from memory_agents.ppo import MemoryPPO

    spec = tiny(
        steps=256,
        checkpoint_every=128,
        env_kwargs={"num_cues": 2, "delay": 4},
        curriculum={"param": "delay", "start": 1, "window": 10_000},
    )
    run_dir = tmp_path / "run"
    crash_at(150)
    with pytest.raises(Crash):
        training.train_run(spec, run_dir)
    path = checkpoints.load_record(run_dir, spec.run_id)["model"]
    model = MemoryPPO.load(path)
    assert model.curriculum_state["value"] == 1  # the start: the window was never filled
    planted = {"step": 100, "value": 1, "success": 0.97}
    model.curriculum_state.update(value=2, history=[planted])  # as if it had advanced before the crash
    model.save(path)
    row = training.train_run(spec, run_dir)
    assert row["resumed_from_step"] == 128
    assert row["curriculum"]["value"] == 2 and row["curriculum"]["history"] == [planted]
