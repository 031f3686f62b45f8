"""DelayedCue: remember one of C cues across D blank steps, answer it when queried."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..validation import check_int
from .base import BatchedTask, light


class DelayedCue(BatchedTask):
    """t=0 shows cue c (one-hot of C); t=1..D are blank; t=D+1 raises the query flag and the
    action taken there is scored: reward 1 if it equals c. Episode length D+2.

    Observation ``[cue_flag, query_flag, cue one-hot (C)]``; C actions. The query observation is
    the same whatever the cue, so without memory the best success is 1/C.
    """

    name = "DelayedCue"
    description = "one of C cues at t=0, D blank steps, then a query: answer the cue"
    presets = {
        "easy": preset(0.95, num_cues=4, delay=60),
        "medium": preset(0.9, num_cues=8, delay=400),
        "hard": preset(0.8, num_cues=16, delay=2_000),
        "extreme": preset(0.6, num_cues=16, delay=10_000),
    }

    def __init__(self, num_envs: int, *, num_cues: int, delay: int | tuple[int, int]):
        self.num_cues = check_int("num_cues", num_cues, 2, 1024, owner=self.name)
        self.delay = self._check_delay(delay)
        super().__init__(num_envs)
        self.obs_size = 2 + self.num_cues
        self.num_actions = self.num_cues
        self.horizon = self.delay + 2
        self.query_time = self.delay + 1
        self.hold_time = 1
        self.cue = np.zeros(self.num_envs, dtype=np.int64)
        self.correct = np.zeros(self.num_envs, dtype=bool)

    def _new_episodes(self, rows: np.ndarray) -> None:
        self.cue[rows] = self.rng.integers(rows, self.num_cues, 1)[:, 0]
        self.correct[rows] = False

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        rows = np.flatnonzero(self.t == 0)
        if rows.size:
            obs[rows, 0] = 1.0
            light(obs, rows, 2 + self.cue[rows])
        obs[:, 1] = self.t == self.query_time
        return obs

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at_query = self.t == self.query_time
        if not np.count_nonzero(at_query):  # cue / delay steps: nothing to score
            return np.zeros(self.num_envs), at_query
        hit = at_query & (actions == self.cue)
        self.correct |= hit
        return hit.astype(np.float64), at_query

    def _success(self) -> np.ndarray:
        return self.correct.copy()

    def oracle_action(self):
        return self.cue.copy()

    def memoryless_action(self, obs):
        # The visible cue if any (t=0, where the action is not scored), else cue 0.
        return np.asarray(obs)[:, 2:].argmax(axis=1)

    @property
    def memoryless_ceiling(self):
        return 1.0 / self.num_cues

    @property
    def memoryless_return(self):
        return 1.0 / self.num_cues

    def render_state(self, row: int) -> dict:
        """The cue the query must be answered with (drawn by memory_gym_envs.render)."""
        return {"cue": int(self.cue[row])}
