"""How a task class declares its difficulty presets: ``presets = {"easy": preset(0.95, delay=60), ...}``.

A leaf module (no imports from the package), so task modules can declare presets while
``difficulty`` (the registry that reads them) imports the tasks: no import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["DIFFICULTIES", "HORIZON_BANDS", "PresetSpec", "preset"]

DIFFICULTIES = ("easy", "medium", "hard", "extreme")
#: Horizon (longest episode) band each difficulty's presets fall in (tested for every task).
HORIZON_BANDS = {
    "easy": (50, 200),
    "medium": (200, 1_000),
    "hard": (1_000, 5_000),
    "extreme": (5_000, 20_000),
}


@dataclass(frozen=True)
class PresetSpec:
    """A preset as a task class declares it: target success and parameters (the horizon follows)."""

    target_success: float
    params: Mapping[str, Any]


def preset(target_success: float, **params: Any) -> PresetSpec:
    """Declare a preset in a task class: ``presets = {"easy": preset(0.95, delay=60), ...}``."""
    return PresetSpec(float(target_success), MappingProxyType(dict(params)))
