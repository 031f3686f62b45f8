"""MultiCueDelay: cue times distinct, inside the window and uniform; recall is scored in order of
appearance; oracle 1.0; memoryless at V^-N; a memory policy from observations solves it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks.multi_cue_delay import MultiCueDelay
from memory_gym_envs.vector import MemoryVectorEnv

SMALL = dict(num_cues=3, num_tokens=4, window=6, delay=5)


def _recorder(order=1):
    """Memory policy from observations only: store each shown token, replay them in order (or reversed)."""
    state = {}

    def policy(env, obs, rng):
        n = len(obs)
        if not state:
            state.update(seen=[[] for _ in range(n)], k=np.zeros(n, dtype=np.int64))
        action = np.zeros(n, dtype=np.int64)
        for i in range(n):  # test-side bookkeeping only
            if obs[i, 0]:
                state["seen"][i].append(int(obs[i, 2:].argmax()))
            if obs[i, 1]:
                seq = state["seen"][i][::order]
                action[i] = seq[state["k"][i]]
                state["k"][i] += 1
        return action

    return policy


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_oracle_scores_one(difficulty):
    res = evaluate(MultiCueDelay, "oracle", episodes=100, difficulty=difficulty, seed=1)
    assert res.success_rate == 1.0
    np.testing.assert_allclose(res.returns, 1.0, atol=1e-12)


def test_memory_policy_recalls_in_order_of_appearance():
    res = evaluate(MultiCueDelay, _recorder(), episodes=200, seed=2, **SMALL)
    assert res.success_rate == 1.0
    backwards = evaluate(MultiCueDelay, _recorder(order=-1), episodes=200, seed=2, **SMALL)
    assert backwards.success_rate < 0.3  # only palindromic cue sequences survive reversal


def test_memoryless_policy_at_its_ceiling():
    params = dict(num_cues=2, num_tokens=2, window=4, delay=3)
    res = evaluate(MultiCueDelay, "memoryless", episodes=800, seed=3, **params)
    task = MultiCueDelay(1, **params)
    assert task.memoryless_ceiling == 0.25 and task.memoryless_return == 0.5
    assert abs(res.success_rate - 0.25) < 0.07  # 800 episodes: sd 0.015
    assert abs(res.mean_return - 0.5) < 0.05
    easy = evaluate(MultiCueDelay, "memoryless", episodes=300, difficulty="easy", seed=3)
    assert easy.success_rate < 0.05 and easy.mean_return < 0.25


def test_cue_times_distinct_sorted_in_window_and_shown_once():
    env = MemoryVectorEnv(MultiCueDelay, num_envs=500, **SMALL)
    obs, _ = env.reset(seed=4)
    task = env.task
    times = task.cues.times[:, : task.num_cues]
    assert np.all(np.diff(times, axis=1) > 0)  # distinct and in order
    assert times.min() >= 0 and times.max() < task.window
    flags, tokens = [], []
    for _ in range(task.horizon):
        flags.append(obs[:, 0].copy())
        tokens.append(obs[:, 2:].argmax(axis=1))
        assert np.all(obs[:, 2:].sum(axis=1) == obs[:, 0])  # a token exactly when the cue flag is up
        obs, *_ = env.step(np.zeros(500, dtype=np.int64))
    flags, tokens = np.array(flags).T, np.array(tokens).T  # (N, T)
    assert np.all(flags.sum(axis=1) == task.num_cues)
    shown_at = np.array([np.flatnonzero(f) for f in flags])
    np.testing.assert_array_equal(shown_at, times)
    np.testing.assert_array_equal(np.take_along_axis(tokens, shown_at, 1), task.answers)


@pytest.mark.parametrize("window", [4, 20])  # window <= 2 cues: argsort sampler; larger: Floyd's
def test_cue_time_subsets_are_uniform(window):
    subsets = window * (window - 1) // 2
    env = MemoryVectorEnv(
        MultiCueDelay, num_envs=100 * subsets, num_cues=2, num_tokens=2, window=window, delay=0
    )
    env.reset(seed=5)
    t = env.task.cues.times[:, :2]
    counts = np.bincount(t[:, 0] * window + t[:, 1], minlength=window * window)
    pairs = counts[counts > 0]
    assert len(pairs) == subsets  # every 2-subset of the window occurs
    assert np.all(np.abs(pairs - 100) < 45)  # sd 10


def test_recall_phase_layout():
    task = MultiCueDelay(1, **SMALL)
    assert task.horizon == 6 + 5 + 3
    env = MemoryVectorEnv(MultiCueDelay, num_envs=2, **SMALL)
    obs, _ = env.reset(seed=0)
    recall = []
    for _ in range(task.horizon):
        recall.append(obs[:, 1].copy())
        obs, r, term, trunc, info = env.step(np.zeros(2, dtype=np.int64))
    assert np.all(np.array(recall)[:, 0] == [0] * 11 + [1] * 3)
    assert term.all() and not trunc.any()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(SMALL, num_cues=0), "num_cues"),
        (dict(SMALL, num_cues=(3, 2)), "num_cues"),
        (dict(SMALL, num_cues=(1, 7)), "window"),  # the window must hold the most cues
        (dict(SMALL, num_tokens=1), "num_tokens"),
        (dict(SMALL, window=2), "window"),
        (dict(SMALL, delay=-1), "delay"),
    ],
)
def test_bad_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiCueDelay(2, **kwargs)


@settings(max_examples=25, deadline=None)
@given(
    num_cues=st.integers(1, 6),
    num_tokens=st.integers(2, 9),
    window=st.integers(6, 40),
    delay=st.integers(0, 30),
    seed=st.integers(0, 2**32),
    oracle=st.booleans(),
)
def test_property_fixed_length_reward_bounds_success(num_cues, num_tokens, window, delay, seed, oracle):
    task = MultiCueDelay(8, num_cues=num_cues, num_tokens=num_tokens, window=window, delay=delay)
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
