"""NeuroGym tasks with trial boundaries (needs the `neurogym` extra only when an env is built).

import gymnasium as gym, memory_gym_envs
env = gym.make("MemoryGym/NeuroGym-DelayMatchSample-v0", trials_per_episode=20)
env = memory_gym_envs.neurogym.make("ContextDecisionMaking-v0", dt=50, pass_reward=True)
"""

from memory_gym_envs.neurogym.env import INSTALL_HINT, NeuroGymEnv, make, make_vector_env, neurogym_task_ids
from memory_gym_envs.neurogym.policies import ground_truth_actions
from memory_gym_envs.neurogym.registration import TASKS, env_id, register_neurogym_envs

__all__ = [
    "INSTALL_HINT",
    "NeuroGymEnv",
    "TASKS",
    "env_id",
    "ground_truth_actions",
    "make",
    "make_vector_env",
    "neurogym_task_ids",
    "register_neurogym_envs",
]
