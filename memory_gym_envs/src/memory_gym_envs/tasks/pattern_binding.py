"""PatternBinding: bind P pattern pairs (A_i, B_i); after a delay, given one A_j, output its B_j."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..validation import check_int
from .base import light
from .recall import StudyRecallTask

__all__ = ["PatternBinding"]

A_FLAG, B_FLAG, QUERY_FLAG, ANSWER_FLAG = range(4)
_MAX_PATTERNS = 2**53  # pattern codes are drawn as exact integers through float64 uniforms


class PatternBinding(StudyRecallTask):
    """Patterns are ``pattern_length`` (K) tokens of a ``num_tokens`` (V) alphabet. Steps: for each
    pair i in turn, A_i token by token (A flag) then B_i (B flag); ``delay`` (D) blank steps; A_j of
    a random pair j token by token (query flag); then K answer steps (answer flag) whose actions
    are scored against B_j in order (reward 1/K each). Episode length 2PK + D + 2K; success = the
    whole B_j right.

    The A patterns are distinct (every set of P distinct patterns equally likely, in random
    order), so the query names exactly one pair; the B patterns are independent uniform tokens.
    ``num_pairs`` (P) >= 2, so the query carries information and the agent must bind, not just
    remember the last B.

    Observation ``[A_flag, B_flag, query_flag, answer_flag, token one-hot (V)]``; V actions
    (ignored outside the answer). The answer observations are all alike and B_j is uniform, so
    without memory each answer token is right with probability 1/V: success ceiling V^-K,
    return 1/V.

    The answer phase (exact 1/K rewards, success, oracle, memoryless baseline) is
    StudyRecallTask's, with the query steps counted into its delay; this class draws the patterns
    and builds the observation.
    """

    name = "PatternBinding"
    description = "P pattern pairs (A_i, B_i), a delay, then A_j: output B_j token by token"
    presets = {
        "easy": preset(0.9, num_pairs=2, pattern_length=2, num_tokens=8, delay=60),
        "medium": preset(0.75, num_pairs=3, pattern_length=3, num_tokens=8, delay=300),
        "hard": preset(0.6, num_pairs=4, pattern_length=3, num_tokens=8, delay=1_500),
        "extreme": preset(0.4, num_pairs=4, pattern_length=4, num_tokens=8, delay=8_000),
    }

    def __init__(self, num_envs: int, *, num_pairs: int, pattern_length: int, num_tokens: int, delay: int):
        self.num_tokens = check_int("num_tokens", num_tokens, 2, 1024, owner=self.name)
        self.pattern_length = check_int("pattern_length", pattern_length, 1, 64, owner=self.name)
        delay = self._check_delay(delay)
        self.num_patterns = self.num_tokens**self.pattern_length
        if self.num_patterns > _MAX_PATTERNS:
            raise ValueError(
                f"{self.name}: num_tokens ** pattern_length must be in [num_pairs, 2**53], got "
                f"{self.num_tokens} ** {self.pattern_length} (lower pattern_length or num_tokens)"
            )
        # A patterns must be distinct: at most num_tokens ** pattern_length of them.
        self.num_pairs = check_int("num_pairs", num_pairs, 2, min(256, self.num_patterns), owner=self.name)
        p, k = self.num_pairs, self.pattern_length
        present = 2 * p * k
        # StudyRecallTask times study, delay and scored recall: the query steps sit in its delay.
        self._setup(
            num_envs,
            study_steps=present,
            delay=delay + k,
            recall_steps=k,
            obs_size=4 + self.num_tokens,
            num_actions=self.num_tokens,
            study_width=0,
            recall_width=0,
        )
        self.delay = delay
        self.query_start = present + delay
        self.answer_start = self.recall_start
        # Per-step schedule shared by all rows (index = t, one spare entry for t == horizon):
        # which flag is up, and which entry of a row's shown-token stream appears.
        steps = np.arange(self.horizon + 1)
        self.flag_at = np.full(self.horizon + 1, -1, dtype=np.int64)
        self.flag_at[:present] = (steps[:present] // k) % 2  # A_0, B_0, A_1, B_1, ...
        self.flag_at[self.query_start : self.answer_start] = QUERY_FLAG
        self.flag_at[self.answer_start : self.horizon] = ANSWER_FLAG
        self.stream_at = np.full(self.horizon + 1, -1, dtype=np.int64)
        self.stream_at[:present] = steps[:present]
        self.stream_at[self.query_start : self.answer_start] = present + np.arange(k)
        self.stream = np.zeros((self.num_envs, present + k), dtype=np.int64)  # A_0 B_0 ... A_j
        self.query = np.zeros(self.num_envs, dtype=np.int64)  # j

    def _new_episodes(self, rows: np.ndarray) -> None:
        p, k, v = self.num_pairs, self.pattern_length, self.num_tokens
        codes = self.rng.distinct(rows, self.num_patterns, p)  # (R, P) distinct, random order
        a = (codes[:, :, None] // v ** np.arange(k, dtype=np.int64)) % v  # (R, P, K) base-V digits
        b = self.rng.integers(rows, v, p * k).reshape(-1, p, k)
        j = self.rng.integers(rows, p, 1)[:, 0]
        pick = np.arange(len(rows))
        pairs = np.stack([a, b], axis=2).reshape(-1, 2 * p * k)  # A_0 B_0 A_1 B_1 ...
        self.stream[rows] = np.concatenate([pairs, a[pick, j]], axis=1)
        self.answers[rows] = b[pick, j]
        self.query[rows] = j
        self.num_correct[rows] = 0

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        flag = np.take(self.flag_at, self.t)
        rows = np.flatnonzero(flag >= 0)
        if rows.size:  # nothing to write during the delay
            light(obs, rows, flag[rows])
            idx = self.stream_at[self.t[rows]]
            shown = idx >= 0
            rows = rows[shown]
            light(obs, rows, 4 + self.stream[rows, idx[shown]])
        return obs

    def render_state(self, row: int) -> dict:
        """The pairs as shown (A_0 B_0 A_1 B_1 ...), the queried pair j; the answers are B_j."""
        pairs = self.stream[row, : 2 * self.num_pairs * self.pattern_length]
        return {"pairs": pairs.copy(), "query_pair": str(int(self.query[row])), **super().render_state(row)}
