"""AssociativeRecall: K key/value pairs, a delay, then the value of each queried key."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..validation import check_int
from .recall import StudyRecallTask


class AssociativeRecall(StudyRecallTask):
    """Study: K steps, each showing one pair (key one-hot of a ``num_keys`` alphabet, value one-hot
    of ``num_values``); keys are distinct, values i.i.d. D blank steps. Recall: Q steps, each
    showing a distinct studied key (random order) with the query flag; the action must be its
    value (reward 1/Q each; success = all Q right). Episode length K + D + Q.

    Observation ``[store_flag, query_flag, key one-hot, value one-hot]``; ``num_values`` actions.
    A query shows the key but never the value: memoryless success num_values^-Q.
    """

    name = "AssociativeRecall"
    description = "K key/value pairs one per step, D blank steps, then answer the value of Q queried keys"
    presets = {
        "easy": preset(0.9, num_pairs=4, num_keys=8, num_values=8, delay=50, num_queries=2),
        "medium": preset(0.8, num_pairs=8, num_keys=16, num_values=8, delay=300, num_queries=4),
        "hard": preset(0.6, num_pairs=16, num_keys=32, num_values=8, delay=2_000, num_queries=8),
        "extreme": preset(0.4, num_pairs=16, num_keys=32, num_values=8, delay=10_000, num_queries=8),
    }

    def __init__(
        self, num_envs: int, *, num_pairs: int, num_keys: int, num_values: int, delay: int, num_queries: int
    ):
        self.num_keys = check_int("num_keys", num_keys, 1, 1_024, owner=self.name)
        self.num_pairs = check_int("num_pairs", num_pairs, 1, self.num_keys, owner=self.name)
        self.num_values = check_int("num_values", num_values, 2, 1_024, owner=self.name)
        self.num_queries = check_int("num_queries", num_queries, 1, self.num_pairs, owner=self.name)
        delay = self._check_delay(delay)
        self._setup(
            num_envs,
            study_steps=self.num_pairs,
            delay=delay,
            recall_steps=self.num_queries,
            obs_size=2 + self.num_keys + self.num_values,
            num_actions=self.num_values,
            study_width=2,
            recall_width=1,
        )

    def _sample(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(rows)
        keys = self.rng.distinct(rows, self.num_keys, self.num_pairs)
        values = self.rng.integers(rows, self.num_values, self.num_pairs)
        asked = self.rng.distinct(rows, self.num_pairs, self.num_queries)  # pair index per query
        key_col = 2 + keys
        study = np.stack([key_col, 2 + self.num_keys + values], axis=2)
        r = np.arange(n)[:, None]
        return study, key_col[r, asked][:, :, None], values[r, asked]

    def render_state(self, row: int) -> dict:
        """Studied keys and values (pair by pair), the keys asked in recall order, then the answers."""
        return {
            "keys": self.study_cols[row, :, 0] - 2,
            "values": self.study_cols[row, :, 1] - 2 - self.num_keys,
            "asked": self.recall_cols[row, :, 0] - 2,
            **super().render_state(row),
        }
