"""NBack specifics: the answer is the token n steps back, scoring, success threshold, checks."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks import NBack
from memory_gym_envs.tasks.nback import _binomial_tail


def test_oracle_answers_token_n_steps_back():
    n, V, T = 3, 5, 40
    env = gym.make("MemoryGym/NBack-v0", n=n, vocab_size=V, length=T).unwrapped
    obs, _ = env.reset(seed=2)
    seen, total = [], 0.0
    for t in range(T):
        seen.append(obs[1:].argmax())
        assert obs[0] == (t >= n) and obs[1:].sum() == 1
        a = env.oracle_action()
        if t >= n:
            assert a == seen[t - n]
        obs, r, te, tr, info = env.step(a)
        assert r == (0.0 if t < n else pytest.approx(1 / (T - n), rel=1e-12))
        total += r
        assert te == (t == T - 1)
    assert total == 1.0 and info["is_success"]
    assert len(set(seen)) == V  # all tokens occur


def test_success_threshold():
    n, T = 2, 22  # 20 answers
    env = gym.make("MemoryGym/NBack-v0", n=n, vocab_size=4, length=T, success_threshold=0.9).unwrapped
    for wrong, expect in ((2, True), (3, False)):
        env.reset(seed=0)
        for t in range(T):
            a = env.oracle_action()
            if n <= t < n + wrong:
                a = (a + 1) % 4
            *_, info = env.step(a)
        assert info["is_success"] is expect


def test_memoryless_and_random_at_one_over_v():
    for policy in ("random", "memoryless"):
        res = evaluate("NBack", policy, episodes=300, seed=1, n=2, vocab_size=4, length=100)
        assert abs(res.mean_return - 0.25) < 0.02 and res.success_rate == 0.0


def test_binomial_tail():
    assert _binomial_tail(10, 0.5, 0) == 1.0
    assert _binomial_tail(10, 0.5, 11) == 0.0
    assert _binomial_tail(10, 0.5, 10) == pytest.approx(2**-10)
    assert _binomial_tail(2, 0.5, 1) == pytest.approx(0.75)
    # a low threshold makes the memoryless policy succeed, and the ceiling says so
    task = NBack(1, n=1, vocab_size=2, length=21, success_threshold=0.5)
    assert task.memoryless_ceiling == pytest.approx(_binomial_tail(20, 0.5, 10))
    res = evaluate(
        NBack, "random", episodes=1000, seed=0, n=1, vocab_size=2, length=21, success_threshold=0.5
    )
    assert abs(res.success_rate - task.memoryless_ceiling) < 0.06


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n": 0}, "n"),
        ({"length": 2, "n": 2}, "length"),
        ({"vocab_size": 1}, "vocab_size"),
        ({"success_threshold": 1.5}, "success_threshold"),
    ],
)
def test_bad_params(kwargs, name):
    with pytest.raises(ValueError, match=rf"'{name}'.*got"):
        gym.make("MemoryGym/NBack-v0", **kwargs)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), vocab=st.integers(2, 9), extra=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_property_lengths_rewards(n, vocab, extra, seed):
    task = NBack(8, n=n, vocab_size=vocab, length=n + extra, success_threshold=1.0)
    rows = np.arange(8)
    task.seed(rows, seed + rows.astype(np.uint64))
    task.reset(rows)
    rng = np.random.default_rng(seed)
    total = np.zeros(8)
    for t in range(task.horizon):
        a = np.where(rng.random(8) < 0.7, task.oracle_action(), rng.integers(0, vocab, 8))
        r, te, tr = task.step(a)
        total += r
        assert te.all() == (t == task.horizon - 1) and not tr.any()
    assert np.all((total >= 0) & (total <= 1))
    np.testing.assert_array_equal(task.success(), total == 1.0)
