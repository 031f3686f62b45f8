"""StudyRecallTask: the shared skeleton of CopyMemory, PermutedCopy and AssociativeRecall.

An episode is a study phase (P steps, each lighting a few one-hot columns), D blank steps, and a
recall phase (Q steps, each optionally lighting cue columns) where each step's action is scored
against a hidden answer (reward 1/Q per correct answer, see ``count_reward``; success = all Q correct). Subclasses only
say what is shown and what the answers are (``_sample``); timing, observation, scoring, oracle and
the memoryless baseline live here once.

Observation columns 0 and 1 are the study and recall flags; the rest is the subclass's layout.
Answers are drawn i.i.d. uniformly from the ``num_actions`` values and recall cues never show
them, so a memoryless policy is right with probability 1/num_actions per recall step.
"""

from __future__ import annotations

import numpy as np

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
    ) -> None:
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

    def _sample(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (study_cols (r, P, Ws), recall_cols (r, Q, Wr), answers (r, Q)) for ``rows``:
        absolute observation columns to light at each study / recall step, and the answers."""
        raise NotImplementedError

    def _new_episodes(self, rows: np.ndarray) -> None:
        study, recall, answers = self._sample(rows)
        self.study_cols[rows] = study
        self.recall_cols[rows] = recall
        self.answers[rows] = answers
        self.num_correct[rows] = 0

    def _recall_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(recall step index clipped to [0, Q-1], whether the row is in the recall phase)."""
        j = self.t - self.recall_start
        in_recall = j.view(np.uint64) < self.recall_steps  # negatives wrap to huge values
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
        terminated = self.t == self.horizon - 1
        j, in_recall = self._recall_index()
        if not np.count_nonzero(in_recall):  # study / delay steps: nothing to score
            return np.zeros(self.num_envs), terminated
        correct = in_recall & (actions == self._answer(j))
        before = self.num_correct.copy()
        self.num_correct += correct
        return count_reward(before, self.num_correct, self.recall_steps), terminated

    def _success(self) -> np.ndarray:
        return self.num_correct == self.recall_steps

    def oracle_action(self):
        return self._answer(self._recall_index()[0])

    def memoryless_action(self, obs):
        # Answers are uniform and never visible at recall time: any fixed guess is optimal.
        return np.zeros(len(obs), dtype=np.int64)

    @property
    def memoryless_ceiling(self):
        return float(self.num_actions) ** -self.recall_steps

    @property
    def memoryless_return(self):
        return 1.0 / self.num_actions

    def render_state(self, row: int) -> dict:
        """The answers due in the recall phase and how many came right so far (drawn by
        memory_gym_envs.render); subclasses add what was studied."""
        return {
            "answers": self.answers[row].copy(),
            "correct": f"{self.num_correct[row]}/{self.recall_steps}",
        }
