"""BatchedTask: one task stepping N independent episodes with array operations.

Every task is written once against this class; `MemoryEnv` (N=1) and `MemoryVectorEnv` (N rows)
are thin shells around it, which is why single and vector envs give the same episodes.

A subclass implements (all array-at-once over rows, no Python loop over rows):

- ``__init__(self, num_envs, *, <params>)``: validate params with ``validation.check_int`` /
  ``check_float`` and ``owner=self.name`` (ValueError naming task, parameter, range and value), call
  ``super().__init__(num_envs)`` and set ``self.obs_size``, ``self.num_actions``, ``self.horizon``
  (the maximum episode length) and the hidden-state arrays.
- ``_new_episodes(rows)``: sample hidden episode data for the index array ``rows`` with
  ``self.rng`` (RowRNG draws for exactly those rows, so streams stay per-row).
- ``_observe() -> (N, obs_size) float32``: a fresh array, observation at time ``self.t``.
- ``_step(actions) -> (reward float64 (N,), terminated bool (N,))``: score ``actions`` taken at
  time ``self.t`` (the base then advances ``self.t`` and truncates rows reaching ``horizon``).
  Both arrays must be fresh, never views of the task's state: the base and the vector env write
  into them (held and ending rows are zeroed). ``_step`` also runs on rows whose episode already
  ended (vector NEXT_STEP autoreset; their results are discarded and the rows reset right
  after). There it must not fail (clip indices) and must not draw from ``self.rng``: a draw
  would move the row's stream, so its next episode would no longer be the one a single env with
  that seed plays. Draw in ``_new_episodes`` (or only for rows still in their episode).
  ``tests/envs/test_task_contract.py`` checks every task.
- ``_success() -> bool (N,)``: whether each row's episode succeeded (read at episode end).
- ``oracle_action() -> int (N,)``: reads hidden state; scores return 1.0.
- ``memoryless_action(obs) -> int (N,)``: best policy that sees only the current observation.
- properties ``memoryless_ceiling`` (its success rate) and ``memoryless_return`` (its expected
  episode return), from the task's parameters.
- class attributes ``name`` (gym id is ``MemoryGym/<name>-v0``), ``description`` (one line) and
  ``presets`` ({difficulty: presets.preset(target_success, **params)}).

Delay ranges. A task whose difficulty is a blank delay validates it with ``self._check_delay``
(before ``super().__init__``), which accepts an int or a ``(low, high)`` range, builds the task
for ``low`` and sets ``self.hold_time``, the time of its first blank delay step. Each episode
then draws an extra ``0..high-low`` blank steps per row (only when high > low, so fixed delays
keep their random streams), which the base inserts before ``hold_time`` by holding the row's
clock ``t`` there: the task code never sees them, and a fixed delay cannot be solved by timing.
``max_steps`` is the longest episode including them; ``set_param('delay', ...)`` narrows the sampled range
on a live env (it takes effect at each row's next episode), which is what a curriculum uses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..rng import RowRNG
from ..validation import MAX_SIZE, check_int, check_int_range

__all__ = ["BatchedTask", "count_reward", "light"]


def light(obs: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """``obs[rows, cols] = 1`` for a fresh C-contiguous 2-D obs, through flat indices (several
    times faster than 2-D fancy assignment). ``cols`` is (k,) or (k, w) for k = len(rows)."""
    rows = rows * obs.shape[1]
    flat = rows + cols if cols.ndim == 1 else rows[:, None] + cols
    obs.reshape(-1)[flat] = 1.0


def count_reward(count_before: np.ndarray, count_after: np.ndarray, total: float) -> np.ndarray:
    """Reward for raising a score count from ``count_before`` to ``count_after`` out of ``total``.

    Paid as ``after/total - before/total`` (not ``1/total`` per point) so that summing the rewards
    in float64 gives exactly ``count/total`` at every step (Sterbenz: the difference of two floats
    within a factor 2 is exact), hence a perfect episode returns exactly 1.0.
    """
    return count_after / total - count_before / total


class BatchedTask:
    """Base of every task: time, truncation, row RNG and action checking live here, once."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    presets: ClassVar[dict[str, Any]] = {}

    obs_size: int
    num_actions: int
    horizon: int
    #: Time of the first blank delay step (delay tasks only): held there for the extra delay.
    hold_time: int = -1
    _delay_bounds: tuple[int, int] | None = None

    def __init__(self, num_envs: int):
        self.num_envs = check_int("num_envs", num_envs, 1, MAX_SIZE, owner=type(self).__name__)
        self.rng = RowRNG(self.num_envs)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        #: Blank steps still to insert at ``hold_time`` in each row's episode (delay ranges).
        self.extra_delay = np.zeros(self.num_envs, dtype=np.int64)
        self.delay_range = self._delay_bounds

    # ---- delay ranges ---------------------------------------------------------------------------
    def _check_delay(self, value: Any, low: int = 0, high: int = 1_000_000) -> int:
        """Validate ``delay`` (an int in [low, high], or a pair (a, b) with 1 <= a <= b <= high);
        return the delay the task is built for (a). Call before ``super().__init__``."""
        pair = isinstance(value, (list, tuple, np.ndarray))
        a, b = check_int_range("delay", value, max(low, 1) if pair else low, high, owner=self.name)
        self._delay_bounds = (a, b)
        return a

    @property
    def max_steps(self) -> int:
        """Longest episode in steps: ``horizon`` plus the largest extra delay of a delay range."""
        bounds = self._delay_bounds
        return self.horizon + (bounds[1] - bounds[0] if bounds else 0)

    @property
    def live_max_steps(self) -> int:
        """Longest episode under the live parameters (``set_param``): what a rollout must span
        to hold whole episodes at the current curriculum stage (<= ``max_steps``)."""
        if self._delay_bounds is None:
            return self.horizon
        return self.horizon + (self.delay_range[1] - self._delay_bounds[0])

    @property
    def memory_span(self) -> int:
        """How many steps back an action may need to look, which is what MemoryPPO sizes a core's
        memory timescales for by default: the whole episode. A task may say less; NBack does not,
        because NBack easy learned less reliably with torch's init at span 3 than with chrono
        init to its horizon (README, long horizons); its budgets beyond easy set the span."""
        return self.max_steps

    @property
    def live_params(self) -> tuple[str, ...]:
        """Parameters ``set_param`` can change on a live env: 'delay' for delay tasks, plus the
        task's ``extra_live_params`` (each with a ``_set_<name>`` method)."""
        return (("delay",) if self._delay_bounds is not None else ()) + tuple(self.extra_live_params)

    extra_live_params: ClassVar[tuple[str, ...]] = ()

    def set_param(self, name: str, value: Any) -> None:
        """Change a live parameter; it applies from each row's next episode on (rows mid-episode
        finish the episode they drew), so a vector env never needs a rebuild."""
        if name not in self.live_params:
            raise ValueError(
                f"{self.name}: parameter {name!r} cannot change on a live env; "
                f"live parameters: {list(self.live_params)}"
            )
        getattr(self, f"_set_{name}")(value)

    def _set_delay(self, value: Any) -> None:
        """Sample delays from ``value`` (int or (low, high)), within the range the task was built with."""
        lo, hi = self._delay_bounds
        a, b = check_int_range(f"delay (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name)
        self.delay_range = (a, b)

    def _draw_extra_delay(self, rows: np.ndarray) -> None:
        a, b = self.delay_range or (0, 0)
        base = self._delay_bounds[0] if self._delay_bounds else 0
        self.extra_delay[rows] = self.rng.in_range(rows, a, b) - base

    # ---- driven by MemoryEnv / MemoryVectorEnv -------------------------------------------------
    def seed(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        """Restart the random streams of ``rows`` from ``seeds``."""
        self.rng.seed(rows, seeds)

    def reset(self, rows: np.ndarray) -> None:
        """Start new episodes in ``rows`` (index array)."""
        self.t[rows] = 0
        self._new_episodes(rows)
        if self._delay_bounds is not None:
            self._draw_extra_delay(rows)

    def observe(self) -> np.ndarray:
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply checked actions; returns (reward, terminated, truncated) arrays."""
        reward, terminated = self._step(actions)
        if self._delay_bounds is not None and self._delay_bounds[1] > self._delay_bounds[0]:
            # Held rows sit on a blank, unscored delay step (t == hold_time): the task's step there
            # changes nothing, and their clock waits while the extra delay counts down.
            held = (self.t == self.hold_time) & (self.extra_delay > 0)
            if np.count_nonzero(held):
                reward[held] = 0.0
                terminated[held] = False
                self.extra_delay[held] -= 1
                self.t -= held  # undone below: held rows keep their clock
        self.t += 1
        truncated = self.t >= self.horizon
        if np.count_nonzero(truncated):
            truncated &= ~terminated
        return reward, terminated, truncated

    def success(self) -> np.ndarray:
        return self._success()

    def check_actions(self, actions: Any) -> np.ndarray:
        """Actions as an int64 (N,) array; ValueError for a wrong shape, dtype or range."""
        arr = np.asarray(actions)
        if arr.shape != (self.num_envs,):
            raise ValueError(
                f"{self.name}: actions must have shape ({self.num_envs},), got shape {arr.shape}"
            )
        if arr.dtype != np.int64:
            if arr.dtype.kind not in "iu":
                raise ValueError(f"{self.name}: actions must be integers, got dtype {arr.dtype}")
            arr = arr.astype(np.int64)
        # One reduction checks both ends: negatives wrap to huge unsigned values.
        if arr.view(np.uint64).max() >= self.num_actions:
            bad = arr[(arr < 0) | (arr >= self.num_actions)][0]
            raise ValueError(f"{self.name}: actions must be in [0, {self.num_actions - 1}], got {bad}")
        return arr

    # ---- implemented by each task ---------------------------------------------------------------
    def _new_episodes(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _observe(self) -> np.ndarray:
        raise NotImplementedError

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _success(self) -> np.ndarray:
        raise NotImplementedError

    def oracle_action(self) -> np.ndarray:
        raise NotImplementedError

    def memoryless_action(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def memoryless_ceiling(self) -> float:
        raise NotImplementedError

    @property
    def memoryless_return(self) -> float:
        raise NotImplementedError
