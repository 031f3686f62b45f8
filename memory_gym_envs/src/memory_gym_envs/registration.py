"""Gymnasium registration of every task: ``MemoryGym/<Task>-v0`` with entry_point (MemoryEnv)
and vector_entry_point (MemoryVectorEnv), so ``gym.make`` / ``gym.make_vec`` build them."""

from __future__ import annotations

import gymnasium as gym

from .ids import NAMESPACE, env_id
from .tasks import TASK_CLASSES

__all__ = ["NAMESPACE", "env_id", "register_envs", "list_tasks"]


def register_envs() -> None:
    """Register all native tasks (idempotent)."""
    for cls in TASK_CLASSES:
        if env_id(cls.name) in gym.registry:
            continue
        gym.register(
            id=env_id(cls.name),
            entry_point="memory_gym_envs.env:MemoryEnv",
            vector_entry_point="memory_gym_envs.vector:MemoryVectorEnv",
            kwargs={"task": cls.name},
        )
    from .neurogym.registration import register_neurogym_envs  # NeuroGym ids; imports no neurogym

    register_neurogym_envs()


def list_tasks(include_neurogym: bool = False) -> list[str]:
    """Gym ids of the native MemoryGym tasks (plus the NeuroGym wrappers if asked)."""
    ids = [env_id(cls.name) for cls in TASK_CLASSES]
    if include_neurogym:
        ids += sorted(k for k in gym.registry if k.startswith(f"{NAMESPACE}/NeuroGym-"))
    return ids
