"""Difficulty presets: one registry, declared by each task class in its ``presets`` attribute
(with ``presets.preset``).

A preset fixes a task's parameters and a target success rate (what a good memory agent should
reach); its horizon (maximum episode length) is computed from the parameters. Horizons per
difficulty fall in ``HORIZON_BANDS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .presets import DIFFICULTIES, HORIZON_BANDS
from .tasks import task_class
from .validation import check_choice

__all__ = [
    "DIFFICULTIES",
    "HORIZON_BANDS",
    "Preset",
    "get_preset",
    "build_task",
    "task_params",
]


@dataclass(frozen=True)
class Preset:
    """A task's settings at one difficulty."""

    horizon: int
    params: Mapping[str, Any]
    target_success: float


def check_difficulty(difficulty: Any) -> str:
    return check_choice("difficulty", difficulty, DIFFICULTIES)


def task_params(cls) -> list[str]:
    """Names of a task class's keyword parameters (everything but num_envs)."""
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters if p not in ("self", "num_envs")]


def build_task(task: Any, num_envs: int, difficulty: str | None = "easy", overrides: Mapping | None = None):
    """Instantiate a task: preset parameters (``difficulty``; None means "easy"), then explicit
    ``overrides`` on top."""
    cls = task_class(task)
    spec = cls.presets[check_difficulty("easy" if difficulty is None else difficulty)]
    overrides = dict(overrides or {})
    valid = task_params(cls)
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(
            f"{cls.name}: unknown parameter(s) {unknown}; valid parameters: {valid} "
            f"(plus 'difficulty' in {DIFFICULTIES})"
        )
    return cls(num_envs, **{**spec.params, **overrides})


_CACHE: dict[tuple[str, str], Preset] = {}


def get_preset(task: Any, difficulty: str) -> Preset:
    """The Preset of a task (class name, gym id or class) at a difficulty."""
    cls = task_class(task)
    key = (cls.name, check_difficulty(difficulty))
    if key not in _CACHE:
        spec = cls.presets[difficulty]
        horizon = cls(1, **spec.params).horizon
        _CACHE[key] = Preset(int(horizon), dict(spec.params), spec.target_success)
    cached = _CACHE[key]
    return Preset(cached.horizon, dict(cached.params), cached.target_success)
