"""PermutedCopy: CopyMemory where each read step names which source position to output."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from .copy_memory import CopyMemory


class PermutedCopy(CopyMemory):
    """Study: L steps each showing one token (V-token alphabet) with the write flag; positions
    are not shown, so the agent must keep the order. D blank steps. Recall: L steps, each with
    the read flag and a position one-hot (a random permutation of 0..L-1); the action must be
    the token written at that position (reward 1/L each; success = all L right). Length 2L + D.

    Observation ``[write_flag, read_flag, token one-hot (V), position one-hot (L)]``; V actions.
    A read step shows only a position, never a token: memoryless success V^-L.

    Parameters, validation, the length range and the live ``length`` are CopyMemory's; this
    class adds the position cues (its observation columns and the read order).
    """

    name = "PermutedCopy"
    description = "L tokens, D blank steps, then output the token at each named source position"
    presets = {
        "easy": preset(0.9, length=5, vocab_size=8, delay=50),
        "medium": preset(0.8, length=10, vocab_size=8, delay=300),
        "hard": preset(0.6, length=20, vocab_size=8, delay=2_000),
        "extreme": preset(0.4, length=20, vocab_size=8, delay=10_000),
    }

    _position_cues = True

    def _sample(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tokens = self.rng.integers(rows, self.vocab_size, self.length)
        order = self.rng.distinct(rows, self.length, self.length)  # position asked at read step k
        if self._items_vary:  # a row of l items asks its positions 0..l-1 first, in random order
            keep = np.argsort(order >= self.items[rows][:, None], axis=1, kind="stable")
            order = np.take_along_axis(order, keep, axis=1)
        answers = tokens[np.arange(len(rows))[:, None], order]
        return (2 + tokens)[:, :, None], (2 + self.vocab_size + order)[:, :, None], answers

    def render_state(self, row: int) -> dict:
        """Tokens in written order and the source position each read step asks for, then the answers."""
        return {
            "tokens": self.study_cols[row, :, 0] - 2,
            "order": self.recall_cols[row, :, 0] - 2 - self.vocab_size,
            **super().render_state(row),
        }
