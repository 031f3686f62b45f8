"""Memory span: the span a core's timescales are initialised for. By default the task's (its
whole episode); budgets set a shorter one where the memory needed is shorter (NBack beyond easy:
n + 1) or where a curriculum starts short (T-mazes beyond easy)."""

from __future__ import annotations

import gymnasium as gym
import pytest
from memory_agents.vec_env import episode_horizon, memory_span

import memory_gym_envs  # noqa: F401
from memory_agents import MemoryPPO, make_vec_env


def test_tasks_report_their_memory_span():
    cue = gym.make("MemoryGym/DelayedCue-v0", delay=(10, 40)).unwrapped.task
    assert cue.memory_span == cue.max_steps == 42  # a delay task needs the whole episode
    nback = gym.make("MemoryGym/NBack-v0", n=3, vocab_size=8, length=500).unwrapped.task
    assert nback.memory_span == 500


def test_nback_budget_sizes_chrono_init_by_the_look_back_not_the_horizon():
    from memory_agents.budgets import preset_budget

    assert "memory_span" not in preset_budget("NBack", "easy").ppo
    kwargs = preset_budget("NBack", "medium").algo_kwargs()
    assert kwargs["memory_span"] == 4
    long_nback = make_vec_env(
        "MemoryGym/NBack-v0", num_envs=2, env_kwargs=dict(n=20, vocab_size=4, length=300)
    )
    assert episode_horizon(long_nback) == memory_span(long_nback) == 300
    model = MemoryPPO("MemoryPolicy", long_nback, policy_kwargs=dict(hidden_dim=8), memory_span=21)
    assert model.policy.memory_kwargs == {"max_timescale": 21}
    assert model.n_steps == 300  # the rollout still spans whole episodes
    # Below the chrono threshold the core keeps torch's default init.
    assert (
        MemoryPPO(
            "MemoryPolicy", long_nback, policy_kwargs=dict(hidden_dim=8), memory_span=4
        ).policy.memory_kwargs
        == {}
    )
    cue = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, env_kwargs={"delay": 30})
    assert MemoryPPO("MemoryPolicy", cue, policy_kwargs=dict(hidden_dim=8)).policy.memory_kwargs == {
        "max_timescale": 32
    }


def test_memory_span_kwarg_overrides_the_tasks():
    """A curriculum that starts short sizes the core for its first stage (the T-maze budgets beyond
    easy: the easy maze with its slack), not for the target corridor."""
    from memory_agents.budgets import preset_budget

    maze = make_vec_env(
        "MemoryGym/TMazePassive-v0", num_envs=2, env_kwargs={"corridor_length": (100, 2500), "slack": 100}
    )
    assert memory_span(maze) == 2601
    kwargs = preset_budget("TMazePassive", "hard").algo_kwargs()
    assert kwargs["memory_span"] == 201 and "memory_span" not in preset_budget("TMazePassive", "easy").ppo
    model = MemoryPPO("MemoryPolicy", maze, policy_kwargs=dict(hidden_dim=8), **kwargs)
    assert model.policy.memory_kwargs == {"max_timescale": 201} and model.n_steps == 2601
    given = dict(hidden_dim=8, memory_kwargs={"max_timescale": 50})  # explicit core kwargs still win
    assert MemoryPPO("MemoryPolicy", maze, policy_kwargs=given, memory_span=201).policy.memory_kwargs == {
        "max_timescale": 50
    }
    with pytest.raises(ValueError, match="memory_span.*got 0"):
        MemoryPPO("MemoryPolicy", maze, memory_span=0)
