"""Curriculum: advances on success, holds on failure, changes the live env, survives save/load."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from memory_agents.curriculum import CurriculumCallback, CurriculumSpec, build_kwargs, parse_curriculum
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

from memory_agents import MemoryPPO, make_vec_env

SPEC = CurriculumSpec(param="delay", start=2, target=20, threshold=0.8, window=8)


def make_model(spec=SPEC, n_envs=4, **kwargs):
    env = make_vec_env(
        "MemoryGym/DelayedCue-v0", num_envs=n_envs, seed=0, env_kwargs={"num_cues": 4, **spec.build_kwargs()}
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8), seed=0, **kwargs)
    if not kwargs.get("tensorboard_log"):
        model.set_logger(configure(None, []))
    return model


def start(model, spec=SPEC):
    cb = CurriculumCallback(spec)
    cb.init_callback(model)
    cb.on_training_start({}, {})
    return cb


def feed(cb, successes):
    """Report finished training episodes with these outcomes to the callback."""
    n = len(successes)
    cb.update_locals({"dones": np.ones(n, dtype=bool), "infos": [{"is_success": s} for s in successes]})
    cb.on_step()


def task_of(model):
    return model.get_env().venv.task


def test_advances_on_success_and_holds_on_failure():
    model = make_model()
    cb = start(model)
    assert cb.value == 2 and task_of(model).delay_range == (2, 2)
    feed(cb, [True] * 4 + [False] * 4)  # 0.5 < 0.8: hold
    assert cb.value == 2
    feed(cb, [True] * 7 + [False])  # 0.875 >= 0.8: advance one geometric step
    assert cb.value == 4 and task_of(model).delay_range == (2, 4)
    for expected in (8, 16, 20, 20):  # never past the target
        feed(cb, [True] * 8)
        assert cb.value == expected
    assert task_of(model).delay_range == (2, 20)
    assert [h["value"] for h in model.curriculum_state["history"]] == [2, 4, 8, 16]


def test_state_survives_save_and_load(tmp_path):
    model = make_model()
    cb = start(model)
    feed(cb, [True] * 8)
    feed(cb, [True] * 8)
    assert cb.value == 8
    model.save(tmp_path / "model.zip")
    env = make_vec_env(
        "MemoryGym/DelayedCue-v0", num_envs=4, seed=1, env_kwargs={"num_cues": 4, **SPEC.build_kwargs()}
    )
    loaded = MemoryPPO.load(tmp_path / "model.zip", env=env)
    loaded.set_logger(configure(None, []))
    cb2 = start(loaded)
    assert cb2.value == 8 and task_of(loaded).delay_range == (2, 8)
    # Another curriculum starts from its own start.
    other = CurriculumSpec(param="delay", start=3, target=20, window=8)
    assert start(loaded, other).value == 3


def test_slack_curriculum_shrinks_toward_the_target():
    spec = CurriculumSpec(param="slack", start=40, threshold=0.5, window=4).with_target(0)
    env = make_vec_env(
        "MemoryGym/TMazePassive-v0",
        num_envs=4,
        seed=0,
        env_kwargs={"corridor_length": 10, **spec.build_kwargs()},
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8))
    model.set_logger(configure(None, []))
    cb = start(model, spec)
    values = [cb.value]
    while cb.value != 0:
        feed(cb, [True] * 4)
        values.append(cb.value)
    assert values == [40, 20, 10, 5, 2, 1, 0]
    assert env.venv.task.live_slack == 0


def test_learn_logs_the_stage_to_tensorboard(tmp_path):
    model = make_model(tensorboard_log=str(tmp_path))
    model.learn(2 * model.n_steps * model.n_envs, callback=CurriculumCallback(SPEC))
    assert model.logger.name_to_value.get("curriculum/delay", 2) >= 2
    files = list(tmp_path.rglob("events.out.tfevents*"))
    assert files and any(b"curriculum/delay" in f.read_bytes() for f in files)


@pytest.mark.parametrize(
    "data, match",
    [
        ({"param": "vocab_size", "start": 3}, "curriculum param must be one of"),
        ({"param": "delay"}, "param and start required"),
        ({"param": "delay", "start": 0}, "curriculum start must be an integer >= 1, got 0"),
        (
            {"param": "delay", "start": 5, "threshold": 1.5},
            r"threshold must be a number in \(0, 1\], got 1.5",
        ),
        ({"param": "delay", "start": 5, "speed": 2}, r"got \['param', 'speed', 'start'\]"),
        ("fast", "curriculum must be a mapping"),
    ],
)
def test_bad_specs_name_the_problem(data, match):
    with pytest.raises(ValueError, match=match):
        parse_curriculum(data)


def test_start_beyond_target_is_an_error():
    with pytest.raises(ValueError, match="start must be <= target for 'delay': got start=50, target=20"):
        CurriculumSpec(param="delay", start=50).with_target(20)


class _EpisodeLengths(BaseCallback):
    def __init__(self):
        super().__init__()
        self.lengths = []

    def _on_step(self) -> bool:
        for i in np.flatnonzero(self.locals["dones"]):
            self.lengths.append(self.locals["infos"][i]["episode"]["l"])
        return True


def test_first_episodes_of_a_fresh_learn_are_at_the_stage():
    """learn() resets the envs before the callback sets the stage; the callback draws the first
    episodes again, so no row starts with an episode from the built range (delay up to 200)."""
    spec = CurriculumSpec(param="delay", start=2, target=200, threshold=1.0, window=10_000)
    with pytest.warns(UserWarning, match="n_steps"):  # short rollouts keep the test fast
        model = make_model(spec, n_steps=8)
    lengths = _EpisodeLengths()
    model.learn(8 * 4 * 3, callback=[CurriculumCallback(spec), lengths])
    assert lengths.lengths and max(lengths.lengths) == spec.start + 2  # cue, 2 blank steps, query


def test_auto_rollout_follows_the_stage_horizon():
    """n_steps="auto" spans the live horizon: short rollouts at an early stage, longer ones as the
    stage grows, each covering a whole episode of the stage (DelayedCue: delay + 2 steps)."""
    spec = CurriculumSpec(param="delay", start=2, target=40, threshold=0.5, window=8)
    model = make_model(spec)
    assert model.n_steps == 42  # built for the target
    cb = CurriculumCallback(spec)
    model.learn(4 * 4, callback=cb)
    assert model.n_steps == 4 and model.rollout_buffer.n_steps == 4
    model.get_env().env_method("set_task_param", "delay", spec.live_value(16))
    model.learn(18 * 4, reset_num_timesteps=False)
    assert model.n_steps == 18 and model.rollout_buffer.observations.shape[0] == 18


def test_fixed_n_steps_never_follow():
    model = make_model(n_steps=42)
    CurriculumCallback(SPEC)  # the stage does not matter: an int n_steps is the user's
    model.get_env().env_method("set_task_param", "delay", (2, 2))
    model.learn(42 * 4)
    assert model.n_steps == 42


def _start_on_distractor_navigation(spec):
    """A tiny MemoryPPO on DistractorNavigation easy built for ``spec``, its curriculum started;
    (callback, the live task)."""
    env = make_vec_env(
        "MemoryGym/DistractorNavigation-v0",
        num_envs=4,
        seed=0,
        difficulty="easy",
        env_kwargs=spec.build_kwargs(),
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8))
    model.set_logger(configure(None, []))
    return start(model, spec), env.venv.task


def test_episode_length_curriculum_grows_distractor_navigation_on_the_live_env():
    """DistractorNavigation's published budget grows its episode length from the shortest one
    that reaches every cell; each stage draws lengths from [start, stage] on the live env."""
    from memory_agents.budgets import preset_budget

    (spec,) = parse_curriculum(preset_budget("DistractorNavigation", "easy").curriculum_record())
    spec = spec.with_target(60)
    assert spec.param == "episode_length" and spec.start == 9
    assert spec.build_kwargs() == {"episode_length": (9, 60)}
    cb, task = _start_on_distractor_navigation(spec)
    assert task.length_range == (9, 9) and task.live_max_steps == 9
    feed(cb, [True] * 200 + [False] * 56)  # 0.78 < 0.8: hold
    assert cb.value == 9
    feed(cb, [True] * 256)
    assert cb.value == 18 and task.length_range == (9, 18)


TMAZE_SPECS = (
    CurriculumSpec(param="slack", start=8, threshold=0.4, window=4).with_target(0),
    CurriculumSpec(param="corridor_length", start=8, threshold=0.8, window=4).with_target(40),
)


def make_tmaze_model(seed=0, **kwargs):
    env = make_vec_env(
        "MemoryGym/TMazePassive-v0", num_envs=4, seed=seed, env_kwargs=build_kwargs(TMAZE_SPECS)
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8), **kwargs)
    if not kwargs.get("tensorboard_log"):
        model.set_logger(configure(None, []))
    return model


def test_a_sequence_sheds_slack_then_grows_the_corridor():
    model = make_tmaze_model()
    task = task_of(model)
    assert task.corridor_range == (8, 40) and task.slack == 8
    cb = start(model, TMAZE_SPECS)
    assert cb.values() == {"slack": 8, "corridor_length": 8}
    assert task.live_corridor == (8, 8) and task.live_max_steps == 8 + 1 + 8
    seen = []
    for _ in range(4):  # slack 8 -> 4 -> 2 -> 1 -> 0 at 0.5 >= 0.4
        feed(cb, [True, True, False, False])
        seen.append(cb.values()["slack"])
    assert seen == [4, 2, 1, 0] and cb.stage == 0
    feed(cb, [True, True, False, False])  # slack done: the corridor spec takes over at its start
    assert cb.stage == 1 and cb.values() == {"slack": 0, "corridor_length": 8}
    feed(cb, [True, True, True, False])  # 0.75 < 0.8: hold
    assert cb.values()["corridor_length"] == 8
    for expected in (16, 32, 40, 40):
        feed(cb, [True] * 4)
        assert cb.values()["corridor_length"] == expected
    assert task.live_corridor == (8, 40) and task.live_slack == 0
    history = model.curriculum_state["history"]
    assert [(h["param"], h["value"]) for h in history] == [
        ("slack", 8), ("slack", 4), ("slack", 2), ("slack", 1), ("slack", 0),
        ("corridor_length", 8), ("corridor_length", 16), ("corridor_length", 32),
    ]  # fmt: skip


def test_a_sequence_state_survives_save_and_load(tmp_path):
    model = make_tmaze_model()
    cb = start(model, TMAZE_SPECS)
    for _ in range(6):
        feed(cb, [True] * 4)
    assert cb.values() == {"slack": 0, "corridor_length": 16}
    model.save(tmp_path / "model.zip")
    loaded = MemoryPPO.load(tmp_path / "model.zip", env=make_tmaze_model(seed=1).get_env())
    loaded.set_logger(configure(None, []))
    cb2 = start(loaded, TMAZE_SPECS)
    assert cb2.stage == 1 and cb2.values() == {"slack": 0, "corridor_length": 16}
    assert task_of(loaded).live_corridor == (8, 16) and task_of(loaded).live_slack == 0


def test_a_state_saved_before_sequences_resumes():
    model = make_tmaze_model()
    spec = TMAZE_SPECS[0]
    model.curriculum_state = {"spec": asdict(spec), "value": 2, "history": [{"step": 5, "value": 8}]}
    cb = start(model, spec)
    assert cb.value == 2 and model.curriculum_state["stage"] == 0 and task_of(model).live_slack == 2


def test_learn_logs_every_param_of_a_sequence(tmp_path):
    model = make_tmaze_model(tensorboard_log=str(tmp_path))
    model.learn(2 * 17 * model.n_envs, callback=CurriculumCallback(TMAZE_SPECS))
    events = b"".join(f.read_bytes() for f in tmp_path.rglob("events.out.tfevents*"))
    assert b"curriculum/slack" in events and b"curriculum/corridor_length" in events


@pytest.mark.parametrize(
    "data, match",
    [
        ([], r"at least one spec, got \[\]"),
        ([{"param": "slack", "start": 5}, {"param": "slack", "start": 3}], "each param once"),
        ([{"param": "slack", "start": 5}, "x"], "curriculum must be a mapping"),
    ],
)
def test_bad_sequences_name_the_problem(data, match):
    with pytest.raises(ValueError, match=match):
        parse_curriculum(data)


def test_start_offset_curriculum_starts_passive_then_mixes_in_the_active_start():
    """A start_offset curriculum (TMazeActive): every episode starts on the cue cell until the
    turn follows the cue, then start_offset is drawn from [0, 1]; the slack shrinks after that."""
    from memory_agents.curriculum import build_kwargs

    specs = parse_curriculum(
        [
            {"param": "start_offset", "start": 0, "threshold": 0.8, "window": 8},
            {"param": "slack", "start": 20, "threshold": 0.8, "window": 8},
        ]
    )
    specs = tuple(s.with_target(t) for s, t in zip(specs, (1, 0)))
    env = make_vec_env(
        "MemoryGym/TMazeActive-v0",
        num_envs=4,
        seed=0,
        env_kwargs={"corridor_length": 10, **build_kwargs(specs)},
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8))
    model.set_logger(configure(None, []))
    cb = CurriculumCallback(specs)
    cb.init_callback(model)
    cb.on_training_start({}, {})
    task = env.venv.task
    assert task.live_start == (0, 0) and task.live_slack == 20
    feed(cb, [True] * 6 + [False] * 2)  # 0.75 < 0.8: hold
    assert task.live_start == (0, 0)
    feed(cb, [True] * 8)
    assert task.live_start == (0, 1) and task.live_slack == 20


def test_num_decoys_curriculum_grows_the_distractors_from_none():
    """A number-of-items parameter: DistractorNavigation's decoys grow from 0, each stage drawing
    the count from [0, stage] on the live env."""
    (spec,) = parse_curriculum({"param": "num_decoys", "start": 0, "threshold": 0.8})
    spec = spec.with_target(3)
    assert spec.build_kwargs() == {"num_decoys": (0, 3)}
    cb, task = _start_on_distractor_navigation(spec)
    assert task.decoy_range == (0, 0)
    feed(cb, [False] * 256)
    assert cb.value == 0
    feed(cb, [True] * 256)
    assert cb.value == 1 and task.decoy_range == (0, 1)


@pytest.mark.parametrize(
    "task, param, kwargs, steps",
    [
        ("CopyMemory", "length", {"vocab_size": 4, "delay": 6}, lambda n: 2 * n + 6),
        ("MultiCueDelay", "num_cues", {"num_tokens": 4, "window": 8, "delay": 6}, lambda n: 14 + n),
    ],
)
def test_item_curriculum_grows_the_items_and_the_rollout(task, param, kwargs, steps):
    """The number of items (copied tokens, flashed cues) grows from 1, each stage drawing the
    count from [1, stage] on the live env, and the auto rollout follows the stage's horizon."""
    (spec,) = parse_curriculum({"param": param, "start": 1, "threshold": 0.8})
    spec = spec.with_target(5)
    assert spec.build_kwargs() == {param: (1, 5)}
    env = make_vec_env(
        f"MemoryGym/{task}-v0", num_envs=4, seed=0, env_kwargs={**kwargs, **spec.build_kwargs()}
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=8))
    model.set_logger(configure(None, []))
    cb, live = start(model, spec), env.venv.task
    assert live.items_range == (1, 1) and live.live_max_steps == steps(1)
    feed(cb, [False] * 256)
    assert cb.value == 1
    feed(cb, [True] * 256)
    assert cb.value == 2 and live.items_range == (1, 2) and live.live_max_steps == steps(2)
    model.learn(steps(2) * 4)
    assert model.n_steps == steps(2)
