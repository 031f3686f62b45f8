"""CopyMemory, PermutedCopy, AssociativeRecall: layouts, blank delays, scoring, parameter checks."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks import AssociativeRecall, CopyMemory, PermutedCopy


def _episode(env_id, seed=0, actions=None, **kw):
    """Run one episode with oracle (or given) actions; return observations, rewards, final info."""
    env = gym.make(env_id, **kw).unwrapped
    obs, _ = env.reset(seed=seed)
    observations, rewards, answers = [obs], [], []
    done, t = False, 0
    while not done:
        a = env.oracle_action() if actions is None else actions(t, env)
        answers.append(env.oracle_action())
        obs, r, te, tr, info = env.step(a)
        observations.append(obs)
        rewards.append(r)
        done, t = te or tr, t + 1
    return np.array(observations), np.array(rewards), info, answers


def test_copy_memory_layout_and_answers():
    L, V, D = 4, 6, 3
    obs, rew, info, answers = _episode("MemoryGym/CopyMemory-v0", length=L, vocab_size=V, delay=D)
    assert len(rew) == 2 * L + D and info["is_success"]
    written = obs[:L, 2:].argmax(1)
    assert np.all(obs[:L, 0] == 1) and np.all(obs[:L].sum(1) == 2)
    assert np.all(obs[L : L + D].sum(1) == 0)  # blank delay
    read = obs[L + D : 2 * L + D]
    np.testing.assert_array_equal(read, np.tile(np.eye(2 + V, dtype=np.float32)[1], (L, 1)))
    np.testing.assert_array_equal(answers[L + D :], written)
    np.testing.assert_array_equal(rew[: L + D], 0)
    np.testing.assert_array_equal(rew[L + D :], 1 / L)
    assert rew.sum() == 1.0


def test_copy_memory_partial_credit():
    L = 5

    def half_right(t, env):  # wrong on the first two read steps only
        a = env.oracle_action()
        return (a + 1) % 8 if t in (L + 10, L + 11) else a

    _, rew, info, _ = _episode(
        "MemoryGym/CopyMemory-v0", actions=half_right, length=L, vocab_size=8, delay=10
    )
    assert rew.sum() == pytest.approx(3 / 5) and not info["is_success"]


def test_permuted_copy_read_steps_name_each_position_once():
    L, V, D = 6, 5, 2
    obs, rew, info, answers = _episode("MemoryGym/PermutedCopy-v0", seed=3, length=L, vocab_size=V, delay=D)
    written = obs[:L, 2 : 2 + V].argmax(1)
    assert np.all(obs[:L, 2 + V :] == 0)  # positions are not shown while writing
    read = obs[L + D : 2 * L + D]
    assert np.all(read[:, 1] == 1) and np.all(read[:, 2 : 2 + V] == 0)
    positions = read[:, 2 + V :].argmax(1)
    assert sorted(positions) == list(range(L))
    np.testing.assert_array_equal(answers[L + D :], written[positions])
    assert rew.sum() == 1.0 and info["is_success"]


def test_permuted_copy_order_is_random():
    env = gym.make_vec("MemoryGym/PermutedCopy-v0", num_envs=200, length=4, delay=0)
    env.reset(seed=0)
    firsts = env.task.recall_cols[:, 0, 0] - 2 - env.task.vocab_size
    assert set(firsts.tolist()) == {0, 1, 2, 3}


def test_associative_recall_layout_and_answers():
    K, NK, NV, D, Q = 5, 9, 4, 3, 3
    obs, rew, info, answers = _episode(
        "MemoryGym/AssociativeRecall-v0",
        seed=1,
        num_pairs=K,
        num_keys=NK,
        num_values=NV,
        delay=D,
        num_queries=Q,
    )
    assert len(rew) == K + D + Q and info["is_success"] and rew.sum() == 1.0
    keys = obs[:K, 2 : 2 + NK].argmax(1)
    values = obs[:K, 2 + NK :].argmax(1)
    assert len(set(keys.tolist())) == K and np.all(obs[:K].sum(1) == 3)
    assert np.all(obs[K : K + D].sum(1) == 0)
    queries = obs[K + D : K + D + Q]
    assert np.all(queries[:, 2 + NK :] == 0)  # the value is never shown at query time
    qkeys = queries[:, 2 : 2 + NK].argmax(1)
    assert len(set(qkeys.tolist())) == Q and set(qkeys) <= set(keys)
    lookup = dict(zip(keys.tolist(), values.tolist()))
    assert answers[K + D :] == [lookup[k] for k in qkeys.tolist()]


@pytest.mark.parametrize(
    "task, policy",
    [("CopyMemory", "random"), ("AssociativeRecall", "memoryless"), ("PermutedCopy", "memoryless")],
)
def test_chance_level_return(task, policy):
    res = evaluate(task, policy, episodes=1500, seed=5)
    v = gym.make(f"MemoryGym/{task}-v0").unwrapped.task.num_actions
    assert abs(res.mean_return - 1 / v) < 0.02


@pytest.mark.parametrize(
    "env_id, kwargs, name",
    [
        ("CopyMemory", {"delay": -1}, "delay"),
        ("CopyMemory", {"length": 0}, "length"),
        ("CopyMemory", {"vocab_size": 1}, "vocab_size"),
        ("PermutedCopy", {"length": 1.5}, "length"),
        ("AssociativeRecall", {"num_pairs": 9, "num_keys": 8}, "num_pairs"),
        ("AssociativeRecall", {"num_queries": 5, "num_pairs": 4}, "num_queries"),
        ("AssociativeRecall", {"num_values": 0}, "num_values"),
        ("AssociativeRecall", {"delay": -3}, "delay"),
    ],
)
def test_bad_params(env_id, kwargs, name):
    with pytest.raises(ValueError, match=rf"'{name}'.*got"):
        gym.make(f"MemoryGym/{env_id}-v0", **kwargs)


_params = {
    CopyMemory: st.fixed_dictionaries(
        {"length": st.integers(1, 12), "vocab_size": st.integers(2, 10), "delay": st.integers(0, 20)}
    ),
    PermutedCopy: st.fixed_dictionaries(
        {"length": st.integers(1, 12), "vocab_size": st.integers(2, 10), "delay": st.integers(0, 20)}
    ),
    AssociativeRecall: st.integers(1, 10).flatmap(
        lambda k: st.fixed_dictionaries(
            {
                "num_pairs": st.just(k),
                "num_keys": st.integers(k, 16),
                "num_values": st.integers(2, 8),
                "delay": st.integers(0, 20),
                "num_queries": st.integers(1, k),
            }
        )
    ),
}


@pytest.mark.parametrize("cls", list(_params))
@settings(max_examples=20, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_property_lengths_rewards_success(cls, data, seed):
    params = data.draw(_params[cls])
    task = cls(16, **params)
    rows = np.arange(16)
    task.seed(rows, seed + rows.astype(np.uint64))
    task.reset(rows)
    rng = np.random.default_rng(seed)
    total = np.zeros(16)
    for t in range(task.horizon):
        oracle = task.oracle_action()
        a = np.where(rng.random(16) < 0.5, oracle, rng.integers(0, task.num_actions, 16))
        r, te, tr = task.step(a)
        assert np.all((r >= 0) & (r <= 1)) and not tr.any()
        assert te.all() == (t == task.horizon - 1)
        total += r
    assert np.all((total >= 0) & (total <= 1))
    np.testing.assert_array_equal(task.success(), total == 1.0)
