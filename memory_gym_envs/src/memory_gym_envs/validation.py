"""Argument checks shared by every constructor and entry point of both packages.

Each check returns the value in its plain Python type or raises a ``ValueError`` whose message
names the parameter, what is allowed and the value given (DESIGN: every user-facing failure
names the bad input). They live here once, so every message reads the same way, and
``memory_agents.validation`` builds on them. This module imports numpy only (a leaf).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np

__all__ = [
    "MAX_SIZE",
    "SEED_LIMIT",
    "is_int",
    "is_real",
    "check_int",
    "check_int_range",
    "check_float",
    "check_choice",
    "check_seed",
]

#: Largest size (rows, hidden units, steps per rollout, capacity) a C int holds: numpy, torch and
#: deque fail past it with errors that do not name the parameter.
MAX_SIZE = 2**31 - 1
#: The row RNG keys its streams by uint64 seeds.
SEED_LIMIT = 2**64


def is_int(value: Any) -> bool:
    """An int or numpy integer, and not a bool (``True`` is an int to Python, never a size here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """An int or float (numpy's too), not a bool: complex numbers, strings and arrays are not."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _subject(name: str, owner: str | None) -> str:
    return f"{owner}: parameter {name!r}" if owner else name


def _num(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    low_s, high_s = _num(low), _num(high)
    if high == math.inf and not high_open:
        high_open = True
    if low == -math.inf and high == math.inf:
        return ""
    if low == -math.inf:
        return f"{'<' if high_open else '<='} {high_s}"
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low_s}"
    return f"in {'(' if low_open else '['}{low_s}, {high_s}{')' if high_open else ']'}"


def check_int(
    name: str,
    value: Any,
    low: int | None,
    high: int | None = None,
    *,
    owner: str | None = None,
    optional: bool = False,
) -> int | None:
    """``value`` as an int in [low, high] (None: unbounded on that side, said explicitly; ``optional``:
    None passes through),
    else ValueError: "<owner>: parameter 'name' must be an integer in [low, high], got value"."""
    if optional and value is None:
        return None
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        lo = -math.inf if low is None else low
        hi = math.inf if high is None else high
        allowed = "" if low is None and high is None else " " + _interval(lo, hi, False, False)
        none = " or None" if optional else ""
        raise ValueError(f"{_subject(name, owner)} must be an integer{allowed}{none}, got {value!r}")
    return int(value)


def check_int_range(
    name: str, value: Any, low: int, high: int, *, owner: str | None = None
) -> tuple[int, int]:
    """``value`` as (a, b): an int in [low, high] gives (v, v); a pair gives low <= a <= b <= high.

    Why: task parameters that a curriculum grows (a delay, an episode length) are drawn per
    episode from a range, so that timing alone cannot solve them; every such parameter takes
    either form and fails with the same wording."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{_subject(name, owner)} must be an int or a (low, high) pair, got {value!r}")
        a = check_int(f"{name} (low end of the range)", value[0], low, high, owner=owner)
        b = check_int(f"{name} (high end of the range)", value[1], a, high, owner=owner)
        return a, b
    v = check_int(name, value, low, high, owner=owner)
    return v, v


def check_float(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    owner: str | None = None,
    optional: bool = False,
) -> float | None:
    """``value`` as a finite float in the interval (closed unless ``low_open`` / ``high_open``),
    else ValueError naming the parameter, the interval and the value."""
    if optional and value is None:
        return None
    ok = is_real(value) and math.isfinite(float(value))
    if ok:
        x = float(value)
        ok = (low < x if low_open else low <= x) and (x < high if high_open else x <= high)
    if not ok:
        none = " or None" if optional else ""
        kind = "a number" if math.isfinite(low) and math.isfinite(high) else "a finite number"
        interval = _interval(low, high, low_open, high_open)
        interval = f" {interval}" if interval else ""
        raise ValueError(f"{_subject(name, owner)} must be {kind}{interval}{none}, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable, *, optional: bool = False) -> Any:
    """``value`` if it is one of ``choices`` (None too when ``optional``), else ValueError listing them.

    Unhashable values (lists, arrays) are rejected before any comparison, so an array never reaches
    numpy's ambiguous truth value."""
    choices = tuple(choices)
    if optional and value is None:
        return None
    if not isinstance(value, Hashable) or value not in choices:
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be one of {list(choices)}{none}, got {value!r}")
    return value


def check_seed(seed: Any, count: int = 1) -> int:
    """``seed`` as an int, or ValueError naming the range: ``count`` rows are seeded
    seed, seed + 1, ..., and each must be a uint64."""
    if not is_int(seed) or not 0 <= int(seed) <= SEED_LIMIT - count:
        rows = f" (row i of {count} is seeded seed + i)" if count > 1 else ""
        raise ValueError(f"seed must be an int in [0, 2**64 - {count}]{rows} or None, got {seed!r}")
    return int(seed)
