"""Gymnasium ids `MemoryGym/NeuroGym-<Task>-v0`, registered without importing neurogym."""

from __future__ import annotations

import gymnasium as gym

from .. import ids

ENTRY_POINT = "memory_gym_envs.neurogym.env:NeuroGymEnv"
VECTOR_ENTRY_POINT = "memory_gym_envs.neurogym.env:make_vector_env"

# neurogym's native tasks that construct with default kwargs, have Discrete actions and a
# per-step ground truth (so `oracle_action` works). The rest is listed in the README.
TASKS = (
    "AntiReach",
    "ContextDecisionMaking",
    "DelayComparison",
    "DelayMatchCategory",
    "DelayMatchSample",
    "DelayMatchSampleDistractor1D",
    "DelayPairedAssociation",
    "DualDelayMatchSample",
    "GoNogo",
    "HierarchicalReasoning",
    "IntervalDiscrimination",
    "MotorTiming",
    "MultiSensoryIntegration",
    "OneTwoThreeGo",
    "PerceptualDecisionMaking",
    "PerceptualDecisionMakingDelayResponse",
    "ProbabilisticReasoning",
    "PulseDecisionMaking",
    "ReadySetGo",
)


def env_id(task: str) -> str:
    """The registered gymnasium id of a neurogym task name."""
    return ids.env_id(f"NeuroGym-{task}")


def register_neurogym_envs() -> list[str]:
    """Register every id in TASKS (idempotent); returns the ids. Does not import neurogym."""
    ids = []
    for task in TASKS:
        gym_id = env_id(task)
        if gym_id not in gym.registry:
            gym.register(
                id=gym_id,
                entry_point=ENTRY_POINT,
                vector_entry_point=VECTOR_ENTRY_POINT,
                kwargs={"neurogym_id": f"{task}-v0"},
            )
        ids.append(gym_id)
    return ids
