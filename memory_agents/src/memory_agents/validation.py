"""Argument checks of the agents package: the env package's checks plus the ones only agents need.

The number and choice checks are ``memory_gym_envs.validation``'s (one implementation, one
message style for both packages); what SB3 takes unchecked and fails on deep inside (a schedule
that is not a number, keyword arguments that are not a dict) is checked here.
"""

from __future__ import annotations

import math
from typing import Any

from memory_gym_envs.validation import MAX_SIZE, check_choice, check_float, check_int, is_int, is_real

__all__ = [
    "MAX_SIZE",
    "SB3_SEED_LIMIT",
    "is_int",
    "is_real",
    "check_int",
    "check_float",
    "check_choice",
    "check_positive_int",
    "check_kwargs_dict",
    "check_schedule",
    "LinearSchedule",
]

#: SB3 seeds numpy's legacy RNG, which takes seeds below 2**32.
SB3_SEED_LIMIT = 2**32


def check_positive_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """``check_int`` for sizes: at least ``minimum`` (1 unless told), at most ``maximum`` if given."""
    return check_int(name, value, minimum, maximum)


def check_kwargs_dict(name: str, value: Any) -> dict:
    """``value`` (a dict or None) as a new dict, or a TypeError naming the parameter and the value."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict of keyword arguments or None, got {value!r}")
    return dict(value)


class LinearSchedule:
    """rl-zoo's ``"lin_<start>"``: from ``start`` at the first step down to 0 at the last step of
    the run's ``total_timesteps`` (SB3's ``progress_remaining`` times ``start``). A class, not a
    closure, so a saved agent and a results row show the schedule as written; not SB3's
    ``LinearSchedule``, because this module must not import stable_baselines3 (light modules)."""

    def __init__(self, start: float):
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.start

    def __repr__(self) -> str:
        return f"lin_{self.start:g}"


def check_schedule(
    name: str, value: Any, low: float = 0.0, high: float = math.inf, *, optional: bool = False
) -> Any:
    """A constant in (low, high], ``"lin_<start>"`` (rl-zoo's linear decay to 0, for text
    settings: YAML, JSON), or a callable schedule (SB3's ``progress_remaining -> value``); SB3
    itself only asserts on anything else."""
    if callable(value) or (optional and value is None):
        return value
    if isinstance(value, str):
        try:
            start = float(value[4:]) if value.startswith("lin_") else None
        except ValueError:
            start = None
        if start is None or not low < start <= high:
            raise ValueError(
                f"{name} must be a number or a linear schedule 'lin_<start>' with start in "
                f"({low:g}, {high:g}] (e.g. 'lin_2e-3'), got {value!r}"
            )
        return LinearSchedule(start)
    return check_float(name, value, low, high, low_open=True, optional=optional)
