"""StudyRecallTask: the shared skeleton of CopyMemory, PermutedCopy and AssociativeRecall.

An episode is a study phase (P steps, each lighting a few one-hot columns), D blank steps, and a
recall phase (Q steps, each optionally lighting cue columns) where each step's action is scored
against a hidden answer (reward 1/Q per correct answer, see ``count_reward``; success = all Q correct). Subclasses only
say what is shown and what the answers are (``_sample``); timing, observation, scoring, oracle and
the memoryless baseline live here once.

Observation columns 0 and 1 are the study and recall flags; the rest is the subclass's layout.
Answers are drawn i.i.d. uniformly from the ``num_actions`` values and recall cues never show
them, so a memoryless policy is right with probability 1/num_actions per recall step.

Item ranges (the copy tasks' ``length=(low, high)``, MultiCueDelay's ``num_cues=(low, high)``):
each episode draws its number of items l and recalls l, scored out of l. Where the study phase
is one step per item (the copy tasks), it studies the first l and skips the unused study steps
(the clock jumps to the delay, so the delay stays D); MultiCueDelay keeps its window and flashes
l cues in it. The number of items is what PPO finds hard on these tasks (README, long horizons),
so a curriculum grows it like a delay: ``param: length`` / ``param: num_cues``.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int_range
from .base import BatchedTask, count_reward, light

STUDY_FLAG, RECALL_FLAG = 0, 1


class StudyRecallTask(BatchedTask):
    """Subclass: validate params, call ``_setup(...)``, implement ``_sample(rows)``."""

    def _setup(
        self,
        num_envs: int,
        *,
        study_steps: int,
        delay: int,
        recall_steps: int,
        obs_size: int,
        num_actions: int,
        study_width: int,
        recall_width: int,
        items: tuple[int, int] | None = None,
        study_per_item: bool = True,
    ) -> None:
        """``items``: the built (low, high) range of a per-episode item count (high ==
        recall_steps); None for a fixed count. ``study_per_item``: the study phase is one step per
        item (high == study_steps), so an episode of fewer items skips the unused ones."""
        super().__init__(num_envs)
        self.study_steps, self.delay, self.recall_steps = study_steps, delay, recall_steps
        self.recall_start = study_steps + delay
        self.hold_time = study_steps  # first blank delay step (delay ranges insert extra ones here)
        self.obs_size = obs_size
        self.num_actions = num_actions
        self.horizon = study_steps + delay + recall_steps
        n = self.num_envs
        self.study_cols = np.zeros((n, study_steps, study_width), dtype=np.int64)
        self.recall_cols = np.zeros((n, recall_steps, recall_width), dtype=np.int64)
        self.answers = np.zeros((n, recall_steps), dtype=np.int64)
        self.num_correct = np.zeros(n, dtype=np.int64)
        self._row_base = np.arange(n) * recall_steps  # flat index of each row's answer 0
        self._items_bounds = items
        self._items_vary = items is not None and items[0] < items[1]
        self._study_per_item = study_per_item
        self.items_range = items  # live: narrowed by _set_items
        #: Each row's number of items this episode (recall_steps unless an item range is built).
        self.items = np.full(n, recall_steps, dtype=np.int64)
        #: What a row's count is scored against: its items (updated in place) or the fixed count.
        self._count = self.items if self._items_vary else recall_steps

    def _set_items(self, name: str, value) -> None:
        """Narrow the live item count (the task's ``_set_<name>`` for its item parameter)."""
        lo, hi = self._items_bounds
        self.items_range = check_int_range(
            f"{name} (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name
        )

    @property
    def live_max_steps(self) -> int:
        steps = super().live_max_steps
        if self._items_bounds is not None:  # the recall (and a per-item study) phase shrinks
            steps -= (1 + self._study_per_item) * (self._items_bounds[1] - self.items_range[1])
        return steps

    def _sample(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (study_cols (r, P, Ws), recall_cols (r, Q, Wr), answers (r, Q)) for ``rows``:
        absolute observation columns to light at each study / recall step, and the answers."""
        raise NotImplementedError

    def _draw_items(self, rows: np.ndarray) -> None:
        """Each row's item count for its new episode (only where a range is built)."""
        if self._items_vary:
            self.items[rows] = self.rng.in_range(rows, *self.items_range)

    def _new_episodes(self, rows: np.ndarray) -> None:
        self._draw_items(rows)  # before _sample reads it
        study, recall, answers = self._sample(rows)
        self.study_cols[rows] = study
        self.recall_cols[rows] = recall
        self.answers[rows] = answers
        self.num_correct[rows] = 0

    def _recall_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(recall step index clipped to [0, Q-1], whether the row is in the recall phase)."""
        j = self.t - self.recall_start
        in_recall = j.view(np.uint64) < self._count  # negatives wrap to huge values
        np.minimum(np.maximum(j, 0, out=j), self.recall_steps - 1, out=j)
        return j, in_recall

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        t = self.t
        rows = np.flatnonzero(t < self.study_steps)
        if rows.size:
            obs[rows, STUDY_FLAG] = 1.0
            light(obs, rows, self.study_cols[rows, t[rows]])
        j, in_recall = self._recall_index()
        rows = np.flatnonzero(in_recall)
        if rows.size:
            obs[rows, RECALL_FLAG] = 1.0
            if self.recall_cols.shape[2]:
                light(obs, rows, self.recall_cols[rows, j[rows]])
        return obs

    def _answer(self, j: np.ndarray) -> np.ndarray:
        return self.answers.ravel().take(self._row_base + j)

    def scored(self) -> np.ndarray:
        """Whether each row's current step is a recall step, the only steps whose action counts
        (e.g. for a probe that clones the oracle on the steps that matter)."""
        return self._recall_index()[1]

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terminated = self.t == self.recall_start + self._count - 1
        if self._items_vary and self._study_per_item:
            # rows past their last item skip the unused study steps (the base adds the 1)
            skip = (self.t == self.items - 1) & (self.items < self.study_steps)
            if np.count_nonzero(skip):
                self.t[skip] = self.study_steps - 1
        j, in_recall = self._recall_index()
        if not np.count_nonzero(in_recall):  # study / delay steps: nothing to score
            return np.zeros(self.num_envs), terminated
        correct = in_recall & (actions == self._answer(j))
        before = self.num_correct.copy()
        self.num_correct += correct
        return count_reward(before, self.num_correct, self._count), terminated

    def _success(self) -> np.ndarray:
        return self.num_correct == self._count

    def oracle_action(self):
        return self._answer(self._recall_index()[0])

    def memoryless_action(self, obs):
        # Answers are uniform and never visible at recall time: any fixed guess is optimal.
        return np.zeros(len(obs), dtype=np.int64)

    @property
    def memoryless_ceiling(self):
        lo, hi = self._items_bounds or (self.recall_steps, self.recall_steps)
        return float(np.mean(float(self.num_actions) ** -np.arange(lo, hi + 1)))

    @property
    def memoryless_return(self):
        return 1.0 / self.num_actions

    def render_state(self, row: int) -> dict:
        """The answers due in the recall phase and how many came right so far (drawn by
        memory_gym_envs.render); subclasses add what was studied."""
        return {
            "answers": self.answers[row, : self.items[row]].copy(),
            "correct": f"{self.num_correct[row]}/{self.items[row]}",
        }
