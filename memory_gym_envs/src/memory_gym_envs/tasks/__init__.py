"""All native MemoryGym tasks. Adding a task = its own module + one entry in TASK_CLASSES."""

from __future__ import annotations

from typing import Any

from ..ids import short_name
from .associative_recall import AssociativeRecall
from .base import BatchedTask
from .copy_memory import CopyMemory
from .delayed_cue import DelayedCue
from .distractor_navigation import DistractorNavigation
from .multi_cue_delay import MultiCueDelay
from .nback import NBack
from .pattern_binding import PatternBinding
from .permuted_copy import PermutedCopy
from .tmaze import TMazeActive, TMazePassive

TASK_CLASSES: list[type[BatchedTask]] = [
    DelayedCue,
    CopyMemory,
    AssociativeRecall,
    NBack,
    PermutedCopy,
    TMazePassive,
    TMazeActive,
    MultiCueDelay,
    PatternBinding,
    DistractorNavigation,
]

__all__ = ["BatchedTask", "TASK_CLASSES", "task_class"] + [c.__name__ for c in TASK_CLASSES]


def task_class(task: Any) -> type[BatchedTask]:
    """Resolve a task class from itself, its name ("DelayedCue") or its gym id."""
    if isinstance(task, type) and issubclass(task, BatchedTask):
        return task
    name = short_name(str(task))
    for cls in TASK_CLASSES:
        if cls.name == name:
            return cls
    raise ValueError(f"unknown task {task!r}; valid tasks: {[c.name for c in TASK_CLASSES]}")
