"""PatternBinding: distinct A patterns, P > 1 so the query matters, B_j scored token by token in
order; oracle 1.0; memoryless at V^-K; a binding memory policy from observations solves it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks.pattern_binding import PatternBinding
from memory_gym_envs.vector import MemoryVectorEnv

SMALL = dict(num_pairs=3, pattern_length=2, num_tokens=4, delay=3)


def _binder(mode="bind"):
    """Policy from observations only. "bind": store the pairs, look up the queried A, answer its B.
    "reversed": same but answer B backwards. "last": ignore the query, answer the last B shown."""
    state = {}

    def policy(env, obs, rng):
        n = len(obs)
        if not state:
            state.update(rows=[{"a": [], "b": [], "q": [], "k": 0} for _ in range(n)])
        action = np.zeros(n, dtype=np.int64)
        for i in range(n):  # test-side bookkeeping only
            s, flags, tok = state["rows"][i], obs[i, :4], int(obs[i, 4:].argmax())
            for f, key in ((0, "a"), (1, "b"), (2, "q")):
                if flags[f]:
                    s[key].append(tok)
            if flags[3]:
                k = env.task.pattern_length
                pairs = {tuple(s["a"][m : m + k]): s["b"][m : m + k] for m in range(0, len(s["a"]), k)}
                answer = s["b"][-k:] if mode == "last" else pairs[tuple(s["q"])]
                if mode == "reversed":
                    answer = answer[::-1]
                action[i] = answer[s["k"]]
                s["k"] += 1
        return action

    return policy


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_oracle_scores_one(difficulty):
    res = evaluate(PatternBinding, "oracle", episodes=100, difficulty=difficulty, seed=1)
    assert res.success_rate == 1.0
    np.testing.assert_allclose(res.returns, 1.0, atol=1e-12)


def test_binding_policy_from_observations_solves_it():
    res = evaluate(PatternBinding, _binder(), episodes=200, seed=2, **SMALL)
    assert res.success_rate == 1.0


def test_b_is_scored_in_order():
    res = evaluate(PatternBinding, _binder("reversed"), episodes=400, seed=2, **SMALL)
    assert res.success_rate < 0.45  # right only when B_j is a palindrome (1/4 here)


def test_query_carries_information():
    """With P = 3 pairs, remembering only the last B is right about 1/P of the time."""
    res = evaluate(PatternBinding, _binder("last"), episodes=600, seed=3, **SMALL)
    expected = 1 / 3 + (2 / 3) * 4.0**-2
    assert abs(res.success_rate - expected) < 0.08


def test_memoryless_policy_at_its_ceiling():
    params = dict(num_pairs=2, pattern_length=2, num_tokens=2, delay=2)
    res = evaluate(PatternBinding, "memoryless", episodes=800, seed=4, **params)
    task = PatternBinding(1, **params)
    assert task.memoryless_ceiling == 0.25 and task.memoryless_return == 0.5
    assert abs(res.success_rate - 0.25) < 0.07
    assert abs(res.mean_return - 0.5) < 0.05


@pytest.mark.parametrize("tokens, length", [(2, 2), (8, 3)])  # whole pattern space / Floyd sampler
def test_a_patterns_distinct_and_query_uniform(tokens, length):
    p = 4
    env = MemoryVectorEnv(
        PatternBinding, num_envs=2000, num_pairs=p, pattern_length=length, num_tokens=tokens, delay=0
    )
    env.reset(seed=5)
    task = env.task
    stream = task.stream[:, : 2 * p * length].reshape(-1, p, 2, length)
    a = stream[:, :, 0]  # (N, P, K)
    codes = (a * tokens ** np.arange(length)).sum(axis=2)
    assert all(len(set(r)) == p for r in codes.tolist())
    np.testing.assert_array_equal(task.stream[:, 2 * p * length :], a[np.arange(2000), task.query])
    np.testing.assert_array_equal(task.answers, stream[np.arange(2000), task.query, 1])
    counts = np.bincount(task.query, minlength=p)
    assert np.all(np.abs(counts - 500) < 100)
    if tokens**length == p:  # every pattern is used; pairs come in random order
        first = np.bincount(codes[:, 0], minlength=p)
        assert np.all(np.abs(first - 500) < 100)


def test_phase_layout_and_flags():
    task = PatternBinding(1, **SMALL)
    assert task.horizon == 2 * 3 * 2 + 3 + 2 + 2
    env = MemoryVectorEnv(PatternBinding, num_envs=1, **SMALL)
    obs, _ = env.reset(seed=0)
    flags = []
    for _ in range(task.horizon):
        flags.append(obs[0, :4].argmax() if obs[0, :4].any() else -1)
        assert obs[0, 4:].sum() == (obs[0, :3].sum())  # a token with A/B/query flags only
        obs, r, term, trunc, _ = env.step(env.oracle_action())
    assert flags == [0, 0, 1, 1] * 3 + [-1] * 3 + [2, 2, 3, 3]
    assert term.all() and not trunc.any()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(SMALL, num_pairs=1), "num_pairs"),
        (dict(num_pairs=5, pattern_length=2, num_tokens=2, delay=0), "num_pairs"),  # > 2**2 patterns
        (dict(SMALL, pattern_length=0), "pattern_length"),
        (dict(SMALL, num_tokens=1), "num_tokens"),
        (dict(SMALL, delay=-1), "delay"),
        (dict(SMALL, num_tokens=1024, pattern_length=6), "pattern_length"),  # 2**60 patterns
    ],
)
def test_bad_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PatternBinding(2, **kwargs)


@settings(max_examples=25, deadline=None)
@given(
    num_pairs=st.integers(2, 4),
    pattern_length=st.integers(1, 4),
    num_tokens=st.integers(4, 9),
    delay=st.integers(0, 30),
    seed=st.integers(0, 2**32),
    oracle=st.booleans(),
)
def test_property_fixed_length_reward_bounds_success(
    num_pairs, pattern_length, num_tokens, delay, seed, oracle
):
    task = PatternBinding(
        8, num_pairs=num_pairs, pattern_length=pattern_length, num_tokens=num_tokens, delay=delay
    )
    rows = np.arange(8)
    task.seed(rows, seed + rows.astype(np.uint64))
    task.reset(rows)
    rng = np.random.default_rng(seed)
    total = np.zeros(8)
    for t in range(task.horizon):
        a = task.oracle_action() if oracle else rng.integers(0, task.num_actions, 8)
        r, te, tr = task.step(a)
        assert np.all((r >= 0) & (r <= 1)) and not tr.any()
        assert np.all(te == (t == task.horizon - 1))  # every episode lasts exactly the horizon
        total += r
    assert np.all((total >= 0) & (total <= 1 + 1e-9))
    np.testing.assert_array_equal(task.success(), np.abs(total - 1) < 1e-9)  # success = perfect
    if oracle:
        assert task.success().all()
