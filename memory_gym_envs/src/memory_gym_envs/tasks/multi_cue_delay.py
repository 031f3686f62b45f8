"""MultiCueDelay: N cues flash at random distinct times in a presentation window; after a delay,
recall all of them in the order they appeared."""
from __future__ import annotations

import numpy as np

from ..difficulty import preset
from .base import BatchedTask, check_int
from .schedule import EventSchedule

__all__ = ["MultiCueDelay"]


class MultiCueDelay(BatchedTask):
    """Steps 0..W-1 (the window) show ``num_cues`` (N) tokens of a ``num_tokens`` (V) alphabet, one
    each at N distinct random times (every N-subset of the window equally likely), blank otherwise;
    then ``delay`` (D) blank steps; then N recall steps whose actions are scored against the cues in
    order of appearance (reward 1/N each). Episode length W + D + N; success = all N correct.

    Observation ``[cue_flag, recall_flag, token one-hot (V)]``; V actions (ignored outside recall).
    Cue tokens are independent and uniform, and the recall observations are all alike, so without
    memory every recalled token is right with probability 1/V: success ceiling V^-N, return 1/V.
    """

    name = "MultiCueDelay"
    description = "N cues at random distinct times in a window, a delay, then recall all N in order"
    presets = {
        "easy": preset(0.9, num_cues=3, num_tokens=8, window=20, delay=40),
        "medium": preset(0.8, num_cues=4, num_tokens=8, window=100, delay=300),
        "hard": preset(0.6, num_cues=5, num_tokens=8, window=500, delay=1_500),
        "extreme": preset(0.4, num_cues=6, num_tokens=8, window=2_000, delay=8_000),
    }

    def __init__(self, num_envs: int, *, num_cues: int, num_tokens: int, window: int, delay: int):
        self.num_cues = check_int(self.name, "num_cues", num_cues, 2, 256)
        self.num_tokens = check_int(self.name, "num_tokens", num_tokens, 2, 1024)
        # The window must hold num_cues distinct times.
        self.window = check_int(self.name, "window", window, self.num_cues, 1_000_000)
        self.delay = check_int(self.name, "delay", delay, 0, 1_000_000)
        super().__init__(num_envs)
        n, c = self.num_envs, self.num_cues
        self.obs_size = 2 + self.num_tokens
        self.num_actions = self.num_tokens
        self.recall_start = self.window + self.delay
        self.horizon = self.recall_start + c
        self.cues = EventSchedule(n, c)
        self.tokens = np.zeros((n, c + 1), dtype=np.int64)  # token of cue i (last column unused)
        self.num_correct = np.zeros(n, dtype=np.int64)

    def _new_episodes(self, rows):
        self.cues.sample(self.rng, rows, 0, self.window)
        self.tokens[rows, : self.num_cues] = self.rng.integers(rows, self.num_tokens, self.num_cues)
        self.num_correct[rows] = 0

    def _observe(self):
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        show = self.cues.due(self.t)
        obs[:, 0] = show
        obs[:, 1] = self.t >= self.recall_start
        rows = np.flatnonzero(show)
        obs[rows, 2 + self.tokens[rows, self.cues.index[rows]]] = 1.0
        return obs

    def _step(self, actions):
        self.cues.advance(np.flatnonzero(self.cues.due(self.t)))  # past the cue seen at this step
        k = self.t - self.recall_start
        recall = k >= 0
        if recall.any():
            target = np.take_along_axis(self.tokens, np.clip(k, 0, self.num_cues - 1)[:, None], 1)[:, 0]
            hit = recall & (actions == target)
            self.num_correct += hit
            reward = hit / self.num_cues
        else:
            reward = np.zeros(self.num_envs)
        return reward, k >= self.num_cues - 1

    def _success(self):
        return self.num_correct == self.num_cues

    def oracle_action(self):
        k = np.clip(self.t - self.recall_start, 0, self.num_cues - 1)
        return np.take_along_axis(self.tokens, k[:, None], 1)[:, 0]

    def memoryless_action(self, obs):
        # Nothing seen at recall time says which token comes next: any fixed guess is optimal.
        return np.zeros(len(obs), dtype=np.int64)

    @property
    def memoryless_ceiling(self):
        return float(self.num_tokens) ** -self.num_cues

    @property
    def memoryless_return(self):
        return 1.0 / self.num_tokens
