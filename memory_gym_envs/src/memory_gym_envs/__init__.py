"""memory_gym_envs: long-horizon memory tasks as Gymnasium environments.

``import memory_gym_envs`` registers ``MemoryGym/<Task>-v0`` for every task; then use
``gym.make(id, difficulty="hard", **overrides)`` or ``gym.make_vec(id, num_envs=N, ...)``.
"""

from .difficulty import DIFFICULTIES, HORIZON_BANDS, Preset, get_preset
from .env import MemoryEnv
from .registration import env_id, list_tasks, register_envs
from .tasks import TASK_CLASSES, BatchedTask, task_class
from .vector import MemoryVectorEnv

register_envs()

__all__ = [
    "DIFFICULTIES",
    "HORIZON_BANDS",
    "Preset",
    "get_preset",
    "MemoryEnv",
    "MemoryVectorEnv",
    "BatchedTask",
    "TASK_CLASSES",
    "task_class",
    "env_id",
    "list_tasks",
    "register_envs",
]
