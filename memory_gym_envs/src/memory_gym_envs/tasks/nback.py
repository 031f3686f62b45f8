"""NBack: a token stream; from step n on, output the token seen n steps earlier."""

from __future__ import annotations

import math

import numpy as np

from ..presets import preset
from ..rng import hash_integers
from ..validation import check_float, check_int
from .base import BatchedTask, count_reward, light


def _binomial_tail(trials: int, p: float, k: int) -> float:
    """P(Binomial(trials, p) >= k), summed in log space (trials up to ~1e6)."""
    if k <= 0:
        return 1.0
    if k > trials:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(trials + 1)
        - math.lgamma(i + 1)
        - math.lgamma(trials - i + 1)
        + i * lp
        + (trials - i) * lq
        for i in range(k, trials + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in terms))


class NBack(BatchedTask):
    """Step t shows token x_t (one-hot, V i.i.d. uniform tokens); from t = n on the answer flag is
    up and the action must be x_{t-n} (reward 1/(T-n) each). T steps; success = at least
    ``success_threshold`` of the T-n answers right.

    Observation ``[answer_flag, token one-hot (V)]``; V actions. x_{t-n} is independent of what
    step t shows, so a memoryless policy answers right 1/V of the time; its success is the
    binomial tail P(Bin(T-n, 1/V) >= threshold * (T-n)), ~0 for every preset. Token x_t is a
    counter-based hash of (episode key, t), so nothing of length T is stored; the last n shown
    tokens sit in a ring buffer for scoring.
    """

    name = "NBack"
    description = "token stream; from step n on, output the token seen n steps earlier"
    presets = {
        "easy": preset(0.9, n=2, vocab_size=4, length=100, success_threshold=0.9),
        "medium": preset(0.8, n=3, vocab_size=8, length=500, success_threshold=0.9),
        "hard": preset(0.7, n=5, vocab_size=8, length=2_000, success_threshold=0.9),
        "extreme": preset(0.5, n=8, vocab_size=16, length=10_000, success_threshold=0.9),
    }

    def __init__(self, num_envs: int, *, n: int, vocab_size: int, length: int, success_threshold: float):
        self.n = check_int("n", n, 1, 1_024, owner=self.name)  # the ring buffer holds N x n tokens
        self.vocab_size = check_int("vocab_size", vocab_size, 2, 1_024, owner=self.name)
        self.length = check_int("length", length, self.n + 1, 10_000_000, owner=self.name)
        self.success_threshold = check_float(
            "success_threshold", success_threshold, 0.0, 1.0, owner=self.name
        )
        super().__init__(num_envs)
        self.obs_size = 1 + self.vocab_size
        self.num_actions = self.vocab_size
        self.horizon = self.length
        self.num_answers = self.length - self.n
        n_rows = self.num_envs
        self.key = np.zeros(n_rows, dtype=np.uint64)  # per-episode stream key
        self.current = np.zeros(n_rows, dtype=np.int64)  # token shown at time t
        # ring[:, s & mask] holds the token shown at time s, for at least the last n steps
        # (power-of-two size: a bit mask instead of a modulo)
        size = 1 << (self.n - 1).bit_length()
        self._mask = size - 1
        self.ring = np.zeros((n_rows, size), dtype=np.int64)
        self.num_correct = np.zeros(n_rows, dtype=np.int64)
        self._arange = np.arange(n_rows)
        self._row_base = self._arange * size

    def _token(self, t) -> np.ndarray:
        return hash_integers(self.key, t, self.vocab_size)

    def _new_episodes(self, rows: np.ndarray) -> None:
        self.key[rows] = self.rng.bits(rows, 1)[:, 0]
        self.current[rows] = hash_integers(self.key[rows], 0, self.vocab_size)
        self.ring[rows] = -1  # "no token": matches no action before step n
        self.num_correct[rows] = 0

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.obs_size), dtype=np.float32)
        obs[:, 0] = self.t >= self.n
        light(obs, self._arange, 1 + self.current)
        return obs

    def _slot(self, t: np.ndarray) -> np.ndarray:
        return self._row_base + (t & self._mask)

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ring = self.ring.reshape(-1)
        correct = actions == ring.take(self._slot(self.t - self.n))  # token n steps back (-1 before n)
        ring[self._slot(self.t)] = self.current
        self.current = self._token(self.t + 1)
        before = self.num_correct.copy()
        self.num_correct += correct
        return count_reward(before, self.num_correct, self.num_answers), self.t == self.length - 1

    def _success(self) -> np.ndarray:
        return self.num_correct >= self.success_threshold * self.num_answers

    def oracle_action(self):
        # Before step n no answer is due; any action (0) is fine.
        return np.maximum(self.ring.reshape(-1).take(self._slot(self.t - self.n)), 0)

    def memoryless_action(self, obs):
        # Repeat the visible token: right with probability 1/V, like any memoryless guess.
        return np.asarray(obs)[:, 1:].argmax(axis=1)

    @property
    def memoryless_ceiling(self):
        need = math.ceil(self.success_threshold * self.num_answers - 1e-9)
        return _binomial_tail(self.num_answers, 1.0 / self.vocab_size, need)

    @property
    def memoryless_return(self):
        return 1.0 / self.vocab_size

    def render_state(self, row: int) -> dict:
        """The last n tokens shown, oldest first (the oldest is the answer due now; -1 before step
        n), the token shown now and the answers right so far."""
        times = int(self.t[row]) + np.arange(-self.n, 0)
        recent = np.where(times >= 0, self.ring[row, times & self._mask], -1)
        return {
            "recent": recent,
            "current": int(self.current[row]),
            "correct": f"{self.num_correct[row]}/{self.num_answers}",
        }
