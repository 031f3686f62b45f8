"""The counter-based row RNG: per-row streams independent of batch size, roughly uniform."""

import numpy as np
from memory_gym_envs.rng import RowRNG, hash_uniform


def test_row_stream_does_not_depend_on_batch():
    big = RowRNG(5)
    big.seed(np.arange(5), 100 + np.arange(5, dtype=np.uint64))
    small = RowRNG(1)
    small.seed(np.array([0]), np.array([103], dtype=np.uint64))
    a = big.random(np.array([3, 1]), 4)  # rows 3 and 1 only
    b = small.random(np.array([0]), 4)
    np.testing.assert_array_equal(a[0], b[0])
    # Drawing for other rows does not move row 3's counter.
    big.random(np.array([0, 1, 2]), 7)
    np.testing.assert_array_equal(big.random(np.array([3]), 2)[0], small.random(np.array([0]), 2)[0])


def test_neighbouring_seeds_give_unrelated_streams():
    rng = RowRNG(2)
    rng.seed(np.arange(2), np.array([0, 1], dtype=np.uint64))
    x = rng.random(np.arange(2), 2000)
    assert abs(np.corrcoef(x[0], x[1])[0, 1]) < 0.1


def test_integers_uniform_and_distinct_is_a_permutation_prefix():
    rng = RowRNG(1000)
    rows = np.arange(1000)
    rng.seed(rows, rows.astype(np.uint64))
    ints = rng.integers(rows, 8, 10)
    counts = np.bincount(ints.ravel(), minlength=8)
    assert ints.min() == 0 and ints.max() == 7
    assert np.all(np.abs(counts / counts.sum() - 1 / 8) < 0.01)
    d = rng.distinct(rows, 10, 6)
    assert all(len(set(r)) == 6 for r in d.tolist()) and d.max() < 10
    per_row_high = rng.integers(rows, np.arange(1, 1001), 1)[:, 0]
    assert np.all(per_row_high < np.arange(1, 1001))


def test_hash_uniform_is_stateless_and_in_unit_interval():
    keys = np.array([1, 2, 3], dtype=np.uint64)
    u = hash_uniform(keys, 5)
    np.testing.assert_array_equal(u, hash_uniform(keys, np.array([5, 5, 5])))
    assert np.all((u >= 0) & (u < 1))
    assert len(set(hash_uniform(np.uint64(9), np.arange(100)).tolist())) == 100


def test_distinct_with_one_population_per_row():
    """Per-row populations (episodes of different lengths): values distinct and inside each row's
    range, every value of the range reachable, and a scalar population gives the old draws."""
    from memory_gym_envs.rng import RowRNG

    n, k = 2000, 3
    rng = RowRNG(n)
    rng.seed(np.arange(n), np.arange(n))
    pop = np.arange(n) % 8 + 3  # 3..10
    out = rng.distinct(np.arange(n), pop, k, ordered=True)
    assert np.all(np.diff(out, axis=1) > 0) and np.all(out >= 0) and np.all(out < pop[:, None])
    for p in (3, 10):
        assert set(np.unique(out[pop == p])) == set(range(p))
    a, b = RowRNG(4), RowRNG(4)
    for r in (a, b):
        r.seed(np.arange(4), np.arange(4))
    np.testing.assert_array_equal(a.distinct(np.arange(4), 50, 3), b.distinct(np.arange(4), np.int64(50), 3))
