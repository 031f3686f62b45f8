"""Ground-truth ("oracle") actions for single and vector NeuroGym envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def ground_truth_actions(env: gym.Env | gym.vector.VectorEnv) -> int | np.ndarray:
    """The ground-truth action for the step about to be taken.

    A single env (any gymnasium wrappers around a `NeuroGymEnv`) gives an int; a sync vector
    env (what `gym.make_vec` builds for these ids), also behind adapters that keep it as
    `.venv` (e.g. memory_agents' SB3 adapter), gives an int64 array, one action per sub-env.
    """
    vec = env
    while not hasattr(vec, "envs") and hasattr(vec, "venv"):
        vec = vec.venv
    sub_envs = getattr(vec, "envs", None)
    if sub_envs is not None:
        return np.array([sub.unwrapped.oracle_action() for sub in sub_envs], dtype=np.int64)
    return env.unwrapped.oracle_action()
