"""Gymnasium ids of the package: ``MemoryGym/<Task>-v0``, built and parsed here only.

A leaf module, so the registration, the task lookup and ``memory_agents`` read ids one way.
"""

from __future__ import annotations

__all__ = ["NAMESPACE", "VERSION", "env_id", "short_name", "in_namespace"]

NAMESPACE = "MemoryGym"
VERSION = 0


def env_id(name: str) -> str:
    """'DelayedCue' -> 'MemoryGym/DelayedCue-v0' (NeuroGym wrappers: 'NeuroGym-<Task>')."""
    return f"{NAMESPACE}/{name}-v{VERSION}"


def short_name(gym_id: str) -> str:
    """'MemoryGym/DelayedCue-v0' -> 'DelayedCue': namespace and version dropped where present."""
    name = gym_id.split("/", 1)[1] if "/" in gym_id else gym_id
    head, sep, version = name.rpartition("-v")
    return head if sep and version.isdigit() else name


def in_namespace(gym_id: str) -> bool:
    """Whether ``gym_id`` is one of this package's ids (native tasks and NeuroGym wrappers)."""
    return isinstance(gym_id, str) and gym_id.startswith(f"{NAMESPACE}/")
