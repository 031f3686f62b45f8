"""Training budgets: the env steps and PPO settings each task x difficulty is trained with by default.

A budget belongs to a preset (DESIGN.md, "Training at long horizons"): ``memory-suite train
--task T --difficulty D`` and ``python -m memory_agents`` use it when given no other flags, and
the results row records the settings used. The rollout length is not stored here: it follows
the training env's horizon (``rollout_length``, MemoryPPO's n_steps="auto"), so full BPTT
always re-runs whole episodes.

How the figures were found and what they reached is in the README's budget table and results/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["Budget", "preset_budget", "rollout_length", "DEFAULT_BUDGET", "BUDGETS"]


@dataclass(frozen=True)
class Budget:
    """``steps`` env steps with ``num_envs`` envs; ``ppo``: MemoryPPO kwargs besides ``n_steps``;
    ``curriculum``: a ``memory_agents.curriculum.CurriculumSpec`` as a dict, or None."""

    steps: int
    num_envs: int
    ppo: Mapping[str, Any] = field(default_factory=dict)
    curriculum: Mapping[str, Any] | None = None

    def algo_kwargs(self) -> dict[str, Any]:
        """MemoryPPO kwargs. No ``n_steps``: MemoryPPO's "auto" takes the training env's horizon."""
        return dict(self.ppo)


def _b(steps: int, num_envs: int = 64, curriculum: dict | None = None, **ppo: Any) -> Budget:
    return Budget(steps, num_envs, MappingProxyType(dict(ppo)),
                  None if curriculum is None else MappingProxyType(dict(curriculum)))


#: Settings for runs without a measured budget (other tasks, env_kwargs overrides, NeuroGym).
DEFAULT_BUDGET = _b(300_000, 32, learning_rate=1e-3)

#: (task, difficulty) -> Budget. Measured on the 2-vCPU dev machine (README, "Training budgets").
BUDGETS: dict[tuple[str, str], Budget] = {
    ("DelayedCue", "easy"): _b(1_000_000, 64, learning_rate=2e-3),
}


def preset_budget(task: str, difficulty: str | None) -> Budget:
    """The budget of a task (short name) at a difficulty; DEFAULT_BUDGET where none is published."""
    return BUDGETS.get((task, difficulty or "easy"), DEFAULT_BUDGET)


def rollout_length(horizon: int) -> int:
    """Rollout length that makes full BPTT re-run whole episodes: the task's horizon (its longest
    episode). Fixed-length tasks keep their envs aligned, so each rollout is exactly one episode
    per env; a shorter rollout can never carry a gradient from a query back to its cue."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    return int(horizon)
