"""CopyMemory: reproduce a sequence of L tokens, in order, after D blank steps."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..validation import check_int, check_int_range
from .recall import StudyRecallTask


class CopyMemory(StudyRecallTask):
    """Study: L steps each showing one token of a V-token alphabet (write flag). D blank steps.
    Recall: L steps with the read flag only; step k's action must be token k (reward 1/L each;
    success = all L right). Episode length 2L + D.

    Observation ``[write_flag, read_flag, token one-hot (V)]``; V actions. Every read step looks
    the same, so without memory each answer is a 1/V guess: memoryless success V^-L.
    """

    name = "CopyMemory"
    description = "L tokens with a write flag, D blank steps, then reproduce them in order"
    presets = {
        "easy": preset(0.9, length=5, vocab_size=8, delay=50),
        "medium": preset(0.8, length=10, vocab_size=8, delay=300),
        "hard": preset(0.6, length=20, vocab_size=8, delay=2_000),
        "extreme": preset(0.4, length=20, vocab_size=8, delay=10_000),
    }

    extra_live_params = ("length",)
    #: PermutedCopy: each read step also shows a position one-hot (L more columns).
    _position_cues = False

    def _set_length(self, value) -> None:
        self._set_items("length", value)

    def __init__(self, num_envs: int, *, length, vocab_size: int, delay):
        lengths = check_int_range("length", length, 1, 1_000, owner=self.name)
        self.length = lengths[1]  # the arrays' width; a range draws each episode's from lengths
        self.vocab_size = check_int("vocab_size", vocab_size, 2, 1_024, owner=self.name)
        delay = self._check_delay(delay)
        self._setup(
            num_envs,
            study_steps=self.length,
            delay=delay,
            recall_steps=self.length,
            obs_size=2 + self.vocab_size + (self.length if self._position_cues else 0),
            num_actions=self.vocab_size,
            study_width=1,
            recall_width=int(self._position_cues),
            items=lengths,
        )

    def _sample(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tokens = self.rng.integers(rows, self.vocab_size, self.length)
        recall = np.zeros((len(rows), self.length, 0), dtype=np.int64)
        return (2 + tokens)[:, :, None], recall, tokens
