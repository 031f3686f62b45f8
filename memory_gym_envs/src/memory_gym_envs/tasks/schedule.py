"""EventSchedule: per-row events at random distinct times, stepped through in time order.

Shared by the tasks whose observations flash things at random moments (MultiCueDelay's cues,
DistractorNavigation's decoys): each row keeps its sorted event times and the index of the next
event, so a step only compares one time per row.
"""

from __future__ import annotations

import numpy as np

from ..rng import RowRNG

__all__ = ["EventSchedule"]


class EventSchedule:
    """``count`` events per row; ``index`` = events already passed (the next one's position)."""

    def __init__(self, num_envs: int, count: int):
        self.count = count
        self.times = np.full((num_envs, count + 1), -1, dtype=np.int64)  # last column: never due
        self.index = np.zeros(num_envs, dtype=np.int64)
        self.next_time = np.full(num_envs, -1, dtype=np.int64)

    def sample(
        self, rng: RowRNG, rows: np.ndarray, low: int, high, first: int | None = None, counts=None
    ) -> None:
        """New events for ``rows`` at distinct times in [low, high), each set equally likely; with
        ``first`` (< low), event 0 is fixed at that time and only the other count - 1 are drawn.
        ``high`` is a scalar or one value per row (episodes of different lengths). ``counts`` (a
        scalar or one value per row, <= count): each row has only that many events, the rest never
        due; a row keeps the first of its times in random draw order, a uniform subset, so its
        times stay uniform too."""
        fixed = 0 if first is None else 1
        if fixed:
            self.times[rows, 0] = first
        if self.count > fixed:
            times = low + rng.distinct(rows, high - low, self.count - fixed, ordered=counts is None)
            if counts is not None:
                keep = np.arange(self.count - fixed) < np.reshape(np.asarray(counts) - fixed, (-1, 1))
                never = np.iinfo(np.int64).max
                times = np.sort(np.where(keep, times, never), axis=1)
                times[times == never] = -1  # never due, after every kept event
            self.times[rows, fixed : self.count] = times
        self.index[rows] = 0
        self.next_time[rows] = self.times[rows, 0]

    def due(self, t: np.ndarray) -> np.ndarray:
        """Bool (N,): the row's next event happens at its time ``t``."""
        return self.next_time == t

    def advance(self, rows: np.ndarray) -> None:
        """Move ``rows`` past their current event (call once the step that showed it is taken)."""
        if rows.size:
            self.index[rows] += 1
            self.next_time[rows] = self.times[rows, self.index[rows]]
