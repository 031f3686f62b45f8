"""Vectorised counter-based random numbers, one independent stream per env row.

Why counter-based: a row's numbers depend only on (row key, counter), never on how many rows are
stepped together, so row i of a vector env reset with seed s draws exactly what a single env reset
with seed s + i draws. Each value is splitmix64 of ``key + (counter + 1) * golden``, i.e. the
splitmix64 sequence started at the row key.
"""

from __future__ import annotations

import secrets

import numpy as np

__all__ = ["splitmix64", "hash_uniform", "hash_integers", "RowRNG", "fresh_seed"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of a uint64 array (wrapping arithmetic, new array)."""
    z = np.asarray(x, dtype=np.uint64)
    if z.ndim == 0:  # numpy warns on scalar wrap-around, never on arrays
        return splitmix64(z.reshape(1))[0]
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _to_unit(bits: np.ndarray) -> np.ndarray:
    """uint64 -> float64 uniform in [0, 1) from the top 53 bits."""
    return (bits >> _S11).astype(np.float64) * _TO_UNIT


def hash_uniform(keys: np.ndarray, counters: np.ndarray | int) -> np.ndarray:
    """Stateless uniform [0, 1) draw for (key, counter) pairs (broadcasting).

    Lets a task regenerate a long random stream on demand (e.g. NBack's token at time t) instead of
    storing it.
    """
    c = np.atleast_1d(np.asarray(counters).astype(np.uint64)) + np.uint64(1)
    k = np.atleast_1d(np.asarray(keys, dtype=np.uint64))
    return _to_unit(splitmix64(k + c * _GOLDEN))


_S32 = np.uint64(32)


def _mix_inplace(z: np.ndarray) -> None:
    """splitmix64 finaliser applied in place to a uint64 array of ndim >= 1 (no temporaries
    beyond one shifted copy per round)."""
    z += _GOLDEN
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31


def hash_integers(keys: np.ndarray, counters, high: int) -> np.ndarray:
    """Stateless int64 draw in [0, high) for (key, counter) pairs (broadcasting): the top 32 hash
    bits scaled by ``high`` in integer arithmetic (multiply-shift; bias < high / 2**32). Same
    stream convention as :func:`hash_uniform` (splitmix64 of key + (counter + 1) * golden)."""
    keys = np.asarray(keys, dtype=np.uint64)
    z = np.asarray(counters).astype(np.uint64)  # a fresh array: mixed in place below
    if z.shape != keys.shape or z.ndim == 0:
        z = np.array(np.broadcast_to(z, np.broadcast_shapes(z.shape, keys.shape)), ndmin=1)
    z += np.uint64(1)
    z *= _GOLDEN
    z += keys
    _mix_inplace(z)
    z >>= _S32
    z *= np.uint64(high)
    z >>= _S32
    return z.view(np.int64).reshape(np.broadcast_shapes(keys.shape, np.shape(counters)))


def fresh_seed() -> int:
    """A 63-bit seed from OS entropy (used by unseeded resets)."""
    return secrets.randbits(63)


def _seed_to_key(seeds: np.ndarray) -> np.ndarray:
    # Two mixing rounds so neighbouring seeds (s, s+1) give unrelated streams.
    return splitmix64(splitmix64(np.asarray(seeds).astype(np.uint64)))


class RowRNG:
    """N independent counter-based streams; every draw takes an index array of rows."""

    def __init__(self, num_envs: int):
        self.num_envs = int(num_envs)
        self.keys = np.zeros(self.num_envs, dtype=np.uint64)
        self.counters = np.zeros(self.num_envs, dtype=np.uint64)
        self.seeded = False

    def seed(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        """Restart the streams of ``rows`` from non-negative integer ``seeds`` (one per row)."""
        self.keys[rows] = _seed_to_key(np.asarray(seeds).astype(np.uint64))
        self.counters[rows] = 0
        self.seeded = True

    def bits(self, rows: np.ndarray, n: int) -> np.ndarray:
        """(len(rows), n) uint64 random bits; advances each row's counter by n."""
        c = self.counters[rows][:, None] + np.arange(1, n + 1, dtype=np.uint64)[None, :]
        self.counters[rows] += np.uint64(n)
        return splitmix64(self.keys[rows][:, None] + c * _GOLDEN)

    def random(self, rows: np.ndarray, n: int) -> np.ndarray:
        """(len(rows), n) float64 uniform in [0, 1)."""
        return _to_unit(self.bits(rows, n))

    def integers(self, rows: np.ndarray, high, n: int) -> np.ndarray:
        """(len(rows), n) int64 uniform in [0, high); ``high`` is a scalar or one value per row."""
        high = np.asarray(high)
        if high.ndim == 1:
            high = high[:, None]
        return (self.random(rows, n) * high).astype(np.int64)

    def in_range(self, rows: np.ndarray, low: int, high: int) -> np.ndarray:
        """(len(rows),) int64 uniform in [low, high]. Draws nothing when low == high, so a task
        parameter given as a fixed value keeps the random stream it had before ranges existed."""
        if high == low:
            return np.full(len(rows), low, dtype=np.int64)
        return low + self.integers(rows, high - low + 1, 1)[:, 0]

    def distinct(self, rows: np.ndarray, population, n: int, ordered: bool = False) -> np.ndarray:
        """(len(rows), n) distinct ints from range(population) per row, in random order, or
        ascending with ``ordered=True`` (cheaper when the caller wants them sorted anyway).
        ``population`` is a scalar or one value per row (each >= n): episodes of different
        lengths draw their event times from their own range."""
        per_row = np.ndim(population) == 1
        if not per_row and population <= 2 * n:  # close to a permutation: sort a row of random keys
            out = np.argsort(self.random(rows, population), axis=1, kind="stable")[:, :n]
            return np.sort(out, axis=1) if ordered else out
        # Otherwise Floyd's algorithm: n draws per row (not `population`), every n-subset equally
        # likely; then sort or shuffle.
        pop = np.asarray(population, dtype=np.int64)
        out = np.empty((len(rows), n), dtype=np.int64)
        for i in range(n):
            j = pop - n + i  # scalar, or one value per row
            r = self.integers(rows, j + 1, 1)[:, 0]
            out[:, i] = np.where((out[:, :i] == r[:, None]).any(axis=1), j, r)
        if ordered:
            return np.sort(out, axis=1)
        order = np.argsort(self.random(rows, n), axis=1, kind="stable")
        return np.take_along_axis(out, order, axis=1)
