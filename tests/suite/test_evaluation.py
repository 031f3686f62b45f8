"""The suite's evaluation reports the share of correct trials on tasks that score trials (NeuroGym)."""

import numpy as np
import pytest
from memory_agents.suite.evaluation import evaluate_agent, summarize

from memory_agents import make_vec_env


class ConstantModel:
    """Always the same action, memory state untouched."""

    def __init__(self, action: int):
        self.action = action

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.full(len(obs), self.action), state


def test_trial_accuracy_counts_trials_not_episodes():
    trials = np.array([[1.0, 2.0], [3.0, 3.0]])  # 1 of 2, 3 of 3 correct
    res = summarize(np.array([0.0, 1.0]), np.array([1.0, 3.0]), trials)
    assert res["trial_accuracy"] == pytest.approx(4 / 5)  # not the mean of 0.5 and 1.0
    assert summarize(np.array([1.0]), np.array([1.0]))["trial_accuracy"] is None


def test_neurogym_trial_accuracy_and_none_elsewhere():
    pytest.importorskip("neurogym")
    env = make_vec_env(
        "MemoryGym/NeuroGym-PerceptualDecisionMaking-v0",
        num_envs=2,
        seed=0,
        env_kwargs={"trials_per_episode": 3},
    )
    # always fixating never answers: every trial is wrong
    assert evaluate_agent(ConstantModel(0), env, 4)["trial_accuracy"] == 0.0
    # always answering choice 1 is right on the trials whose answer is 1: strictly between
    acc = evaluate_agent(ConstantModel(1), env, 20)["trial_accuracy"]
    assert 0.0 < acc < 1.0
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, seed=0, env_kwargs={"num_cues": 2, "delay": 2})
    assert evaluate_agent(ConstantModel(0), env, 4)["trial_accuracy"] is None
