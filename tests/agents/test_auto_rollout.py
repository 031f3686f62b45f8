"""n_steps='auto': rollouts cover whole episodes, so full BPTT reaches from every query to its cue."""

from __future__ import annotations

import warnings

import pytest
import torch
from memory_agents.ppo import FALLBACK_N_STEPS
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

import memory_gym_envs
from memory_agents import MemoryPPO, make_vec_env

torch.set_num_threads(1)


@pytest.mark.parametrize("task", [t.split("/")[1][:-3] for t in memory_gym_envs.list_tasks()])
@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_auto_rollout_is_one_whole_episode_per_env(task, difficulty):
    env = make_vec_env(f"MemoryGym/{task}-v0", num_envs=3, seed=0, difficulty=difficulty)
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(hidden_dim=4))
    assert model.n_steps == memory_gym_envs.get_preset(task, difficulty).horizon
    if difficulty == "easy":  # fixed-length tasks stay aligned: episodes start only at t = 0
        callback = model._init_callback(None)
        model._setup_learn(model.n_steps * 3, callback)
        for _ in range(2):
            assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
            starts = model.rollout_buffer.episode_starts
            assert starts[0].all() and not starts[1:].any()


def test_delay_range_takes_the_longest_episode():
    env = make_vec_env("MemoryGym/CopyMemory-v0", num_envs=2, env_kwargs={"length": 3, "delay": (5, 40)})
    assert MemoryPPO("MemoryPolicy", env).n_steps == 3 + 40 + 3


def test_short_rollouts_in_full_mode_warn_and_say_why():
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, env_kwargs={"delay": 60})
    with pytest.warns(
        UserWarning, match=r"n_steps=16 is shorter than the episodes of this env \(up to 62 steps\)"
    ):
        MemoryPPO("MemoryPolicy", env, n_steps=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MemoryPPO("MemoryPolicy", env, n_steps=16, recurrent_mode="truncated", bptt_len=16)  # its choice
        MemoryPPO("MemoryPolicy", env, n_steps=62)


def test_envs_without_a_horizon_fall_back():
    env = sb3_make_vec_env("MemoryGym/NeuroGym-PerceptualDecisionMaking-v0", n_envs=2)
    assert MemoryPPO("MemoryPolicy", env).n_steps == FALLBACK_N_STEPS
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1 or 'auto', got 'long'"):
        MemoryPPO("MemoryPolicy", env, n_steps="long")


def test_time_limit_of_other_envs_is_their_horizon():
    env = sb3_make_vec_env("CartPole-v1", n_envs=2)
    assert MemoryPPO("MemoryPolicy", env).n_steps == 500


@pytest.mark.parametrize(
    "n_seq, seq_len, expected",
    [
        (64, 62, 64),  # short whole-episode rollouts: one minibatch
        (64, 402, 16),  # long ones: about 4096 steps, at least 16 sequences -> 4 minibatches
        (64, 2002, 16),
        (64, 101, 32),  # 4096 // 101 = 40 -> largest divisor of 64 below it
        (8, 2002, 8),  # fewer sequences than the floor: one minibatch
        (48, 300, 16),
        (4096, 402, 512),  # thousands of envs (GPU): at most 8 minibatches
        (1000, 402, 125),
    ],
)
def test_auto_batch_size(n_seq, seq_len, expected):
    from memory_agents.ppo import auto_sequences_per_batch

    assert auto_sequences_per_batch(n_seq, seq_len) == expected


def test_auto_batch_size_in_the_model_and_bad_values():
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=64, env_kwargs={"delay": 400})
    assert MemoryPPO("MemoryPolicy", env)._sequences_per_batch == 16
    assert MemoryPPO("MemoryPolicy", env, batch_size=None)._sequences_per_batch == 64
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, 'auto' or None .*got 'big'"):
        MemoryPPO("MemoryPolicy", env, batch_size="big")


@pytest.mark.parametrize(("task", "window"), [("PatternBinding", 72), ("DelayedCue", 64)])
def test_transformer_window_covers_the_episode(task, window):
    """The last step of an episode attends to its first: the window grows to a longer horizon."""
    env = make_vec_env(f"MemoryGym/{task}-v0", num_envs=2, seed=0, difficulty="easy")
    kw = dict(n_epochs=1, policy_kwargs=dict(hidden_dim=8, memory="transformer"))
    assert MemoryPPO("MemoryPolicy", env, **kw).policy.memory_core.window == window  # horizons 72 / 62
    kw["policy_kwargs"]["memory_kwargs"] = {"window": 16}
    assert MemoryPPO("MemoryPolicy", env, **kw).policy.memory_core.window == 16  # given wins
