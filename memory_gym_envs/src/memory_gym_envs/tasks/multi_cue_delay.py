"""MultiCueDelay: N cues flash at random distinct times in a presentation window; after a delay,
recall all of them in the order they appeared."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..validation import check_int, check_int_range
from .base import light
from .recall import StudyRecallTask
from .schedule import EventSchedule

__all__ = ["MultiCueDelay"]

CUE_FLAG, RECALL_FLAG = 0, 1


class MultiCueDelay(StudyRecallTask):
    """Steps 0..W-1 (the window) show ``num_cues`` (N) tokens of a ``num_tokens`` (V) alphabet, one
    each at N distinct random times (every N-subset of the window equally likely), blank otherwise;
    then ``delay`` (D) blank steps; then N recall steps whose actions are scored against the cues in
    order of appearance (reward 1/N each). Episode length W + D + N; success = all N correct.

    ``num_cues=(low, high)`` draws each episode's count l: l cues in the window, l recall steps,
    scored out of l (``StudyRecallTask``'s item ranges; a curriculum grows it: ``param: num_cues``).

    Observation ``[cue_flag, recall_flag, token one-hot (V)]``; V actions (ignored outside recall).
    Cue tokens are independent and uniform, and the recall observations are all alike, so without
    memory every recalled token is right with probability 1/V: success ceiling V^-N, return 1/V.

    The recall phase (exact 1/N rewards, success, oracle, memoryless baseline) is StudyRecallTask's;
    this class adds the random cue schedule and its observation.
    """

    name = "MultiCueDelay"
    description = "N cues at random distinct times in a window, a delay, then recall all N in order"
    presets = {
        "easy": preset(0.9, num_cues=3, num_tokens=8, window=20, delay=40),
        "medium": preset(0.8, num_cues=4, num_tokens=8, window=100, delay=300),
        "hard": preset(0.6, num_cues=5, num_tokens=8, window=500, delay=1_500),
        "extreme": preset(0.4, num_cues=6, num_tokens=8, window=2_000, delay=8_000),
    }

    extra_live_params = ("num_cues",)

    def __init__(self, num_envs: int, *, num_cues, num_tokens: int, window: int, delay):
        counts = check_int_range("num_cues", num_cues, 1, 256, owner=self.name)
        self.num_cues = counts[1]  # the arrays' width; a range draws each episode's from counts
        self.num_tokens = check_int("num_tokens", num_tokens, 2, 1024, owner=self.name)
        # The window must hold num_cues distinct times.
        self.window = check_int("window", window, self.num_cues, 1_000_000, owner=self.name)
        delay = self._check_delay(delay)
        self._setup(
            num_envs,
            study_steps=self.window,
            delay=delay,
            recall_steps=self.num_cues,
            obs_size=2 + self.num_tokens,
            num_actions=self.num_tokens,
            study_width=0,
            recall_width=0,
            items=counts,
            study_per_item=False,
        )
        self.cues = EventSchedule(self.num_envs, self.num_cues)

    def _set_num_cues(self, value) -> None:
        self._set_items("num_cues", value)

    def _new_episodes(self, rows: np.ndarray) -> None:
        self._draw_items(rows)
        counts = self.items[rows] if self._items_vary else None  # fixed: the draws as before ranges
        self.cues.sample(self.rng, rows, 0, self.window, counts=counts)
        self.answers[rows] = self.rng.integers(rows, self.num_tokens, self.num_cues)  # in order shown
        self.num_correct[rows] = 0

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        rows = np.flatnonzero(self.cues.due(self.t))
        if rows.size:
            token = self.answers[rows, self.cues.index[rows]]
            light(obs, rows, np.stack([np.full_like(token, CUE_FLAG), 2 + token], axis=1))
        rows = np.flatnonzero(self.t >= self.recall_start)
        if rows.size:
            obs[rows, RECALL_FLAG] = 1.0
        return obs

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.cues.advance(np.flatnonzero(self.cues.due(self.t)))  # past the cue seen at this step
        return super()._step(actions)

    def render_state(self, row: int) -> dict:
        """When the cues flash (the answers are the cue tokens in that order)."""
        times = ",".join(str(int(t)) for t in self.cues.times[row, : self.items[row]])
        return {"cue_times": f"[{times}]", **super().render_state(row)}
