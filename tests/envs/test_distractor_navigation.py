"""DistractorNavigation: decoys really flash (distinct steps, never on the goal, same channel as
the goal); reward only at the last step; oracle 1.0; memoryless at 1/S^2; remembering the first
marker solves it while remembering the latest marker (almost) never does."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks.distractor_navigation import (
    DOWN,
    LEFT,
    RIGHT,
    STAY,
    UP,
    DistractorNavigation,
)
from memory_gym_envs.vector import MemoryVectorEnv

SMALL = dict(grid_size=4, episode_length=12, num_decoys=4)


def _marker_memory(keep="first"):
    """Policy from observations only: remember the first (or latest) marker, walk there, stay."""
    state = {}

    def policy(env, obs, rng):
        s = env.task.grid_size
        seen = obs[:, 0] > 0
        mx, my = obs[:, 1 + 2 * s : 1 + 3 * s].argmax(1), obs[:, 1 + 3 * s :].argmax(1)
        if not state:
            state.update(x=mx.copy(), y=my.copy())
        elif keep == "latest":
            state["x"][seen], state["y"][seen] = mx[seen], my[seen]
        x, y = obs[:, 1 : 1 + s].argmax(1), obs[:, 1 + s : 1 + 2 * s].argmax(1)
        gx, gy = state["x"], state["y"]
        return np.select([x < gx, x > gx, y < gy, y > gy], [RIGHT, LEFT, DOWN, UP], STAY)

    return policy


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_oracle_scores_one(difficulty):
    res = evaluate(DistractorNavigation, "oracle", episodes=100, difficulty=difficulty, seed=1)
    assert res.success_rate == 1.0 and np.all(res.returns == 1.0)


def test_oracle_scores_one_with_the_tightest_time_limit():
    res = evaluate(DistractorNavigation, "oracle", episodes=300, grid_size=4, episode_length=7, num_decoys=6)
    assert res.success_rate == 1.0


def test_remembering_the_first_marker_solves_it_the_latest_does_not():
    first = evaluate(DistractorNavigation, _marker_memory("first"), episodes=300, seed=2, **SMALL)
    assert first.success_rate == 1.0
    latest = evaluate(DistractorNavigation, _marker_memory("latest"), episodes=300, seed=2, **SMALL)
    # The last marker is always a decoy; only a late one the agent cannot reach in time can leave
    # it on the goal by chance.
    assert latest.success_rate < 0.05


@pytest.mark.parametrize("num_decoys", [0, 2])
def test_memoryless_policy_at_its_ceiling(num_decoys):
    params = dict(grid_size=2, episode_length=6, num_decoys=num_decoys)
    res = evaluate(DistractorNavigation, "memoryless", episodes=1000, seed=3, **params)
    assert DistractorNavigation(1, **params).memoryless_ceiling == 0.25
    assert abs(res.success_rate - 0.25) < 0.06  # sd 0.014
    easy = evaluate(DistractorNavigation, "memoryless", episodes=300, difficulty="easy", seed=3)
    assert easy.success_rate < 0.1


def test_decoys_flash_at_distinct_steps_away_from_the_goal():
    n = 400
    env = MemoryVectorEnv(DistractorNavigation, num_envs=n, **SMALL)
    obs, _ = env.reset(seed=4)
    task = env.task
    s, goal = task.grid_size, task.goal.copy()
    markers = []
    for _t in range(task.horizon):
        cell = obs[:, 1 + 3 * s :].argmax(1) * s + obs[:, 1 + 2 * s : 1 + 3 * s].argmax(1)
        markers.append(np.where(obs[:, 0] > 0, cell, -1))
        assert np.all(obs[:, 1 + 2 * s :].sum(1) == 2 * obs[:, 0])  # marker x and y only with the flag
        obs, *_ = env.step(env.oracle_action())
    markers = np.array(markers).T  # (N, T)
    np.testing.assert_array_equal(markers[:, 0], goal)  # step 0 shows the true goal
    later = markers[:, 1:]
    assert np.all((later >= 0).sum(1) == SMALL["num_decoys"])  # every decoy appears once
    assert np.all(later[later >= 0] != np.repeat(goal, SMALL["num_decoys"]))
    decoy_steps = np.array([1 + np.flatnonzero(r >= 0) for r in later])
    np.testing.assert_array_equal(decoy_steps, task.markers.times[:, 1 : 1 + SMALL["num_decoys"]])
    # decoys land on every non-goal cell and at every step, not on a fixed pattern
    assert len(np.unique(later[later >= 0])) == s * s
    assert len(np.unique(decoy_steps)) == SMALL["episode_length"] - 1


def test_step_zero_ignores_the_action_then_moves_clip_at_walls():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=64, **SMALL)
    env.reset(seed=5)
    task = env.task
    x0, y0 = task.x.copy(), task.y.copy()
    obs, *_ = env.step(np.full(64, RIGHT))
    np.testing.assert_array_equal(task.x, x0)
    np.testing.assert_array_equal(task.y, y0)
    for _ in range(task.grid_size):
        obs, *_ = env.step(np.full(64, RIGHT))
    assert np.all(task.x == task.grid_size - 1)
    np.testing.assert_array_equal(obs[:, 1 : 1 + task.grid_size].argmax(1), task.x)
    np.testing.assert_array_equal(obs[:, 1 + task.grid_size : 1 + 2 * task.grid_size].argmax(1), y0)


def test_reward_only_at_the_last_step():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=50, **SMALL)
    env.reset(seed=6)
    for t in range(SMALL["episode_length"]):
        _, r, term, trunc, _ = env.step(env.oracle_action())
        last = t == SMALL["episode_length"] - 1
        assert np.all(term == last) and not trunc.any()
        assert np.all(r == float(last))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(SMALL, grid_size=1), "grid_size"),
        (dict(SMALL, episode_length=6), "episode_length"),  # 4x4 needs 6 moves + the display step
        (dict(SMALL, num_decoys=12), "num_decoys"),
        (dict(SMALL, num_decoys=-1), "num_decoys"),
    ],
)
def test_bad_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DistractorNavigation(2, **kwargs)


@settings(max_examples=25, deadline=None)
@given(
    grid_size=st.integers(2, 7),
    episode_length=st.integers(13, 60),
    num_decoys=st.integers(0, 12),
    seed=st.integers(0, 2**32),
    oracle=st.booleans(),
)
def test_property_fixed_length_reward_bounds_success(grid_size, episode_length, num_decoys, seed, oracle):
    task = DistractorNavigation(8, grid_size=grid_size, episode_length=episode_length, num_decoys=num_decoys)
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


RANGED = dict(grid_size=4, episode_length=(7, 30), num_decoys=5)


def _episodes(env, policy, steps):
    """Play ``steps`` vector steps; (row, length, success) of every finished episode (the step
    after an episode's end is the autoreset step, not counted)."""
    out, length = [], np.zeros(env.num_envs, dtype=int)
    pending = np.zeros(env.num_envs, dtype=bool)
    for _ in range(steps):
        _, _, term, trunc, infos = env.step(policy())
        length += ~pending
        done = term | trunc
        for i in np.flatnonzero(done):
            out.append((i, length[i], bool(infos["is_success"][i])))
        length[done] = 0
        pending = done
    return out


def test_episode_length_range_is_drawn_per_episode_and_oracle_scores_one():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=32, **RANGED)
    env.reset(seed=7)
    episodes = _episodes(env, env.oracle_action, 600)
    lengths = np.array([n for _, n, _ in episodes])
    assert lengths.min() == 7 and lengths.max() == 30 and len(np.unique(lengths)) == 24
    assert all(ok for *_, ok in episodes)
    assert env.task.max_steps == env.task.horizon == 30
    # The decoys of every row flash inside its own episode.
    task = env.task
    decoys = task.markers.times[:, 1 : 1 + RANGED["num_decoys"]]
    assert np.all(decoys >= 1) and np.all(decoys < task.length[:, None])


def test_set_episode_length_on_a_live_env_applies_at_episode_boundaries():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=8, **RANGED)
    env.reset(seed=10)
    env.set_task_param("episode_length", (7, 10))
    assert env.task.live_max_steps == 10
    episodes = _episodes(env, env.oracle_action, 200)
    # Each row's first episode was drawn from the built range; every later one from [7, 10].
    seen, later = set(), []
    for i, n, _ in episodes:
        if i in seen:
            later.append(n)
        seen.add(i)
    assert len(seen) == 8 and later and all(7 <= n <= 10 for n in later)
    assert all(ok for *_, ok in episodes)
    with pytest.raises(ValueError, match=r"episode_length \(within the built range \[7, 30\]\).*got 31"):
        env.set_task_param("episode_length", (7, 31))


@pytest.mark.parametrize(
    "length, match",
    [
        ((6, 20), r"episode_length \(low end of the range\)' must be an integer in \[7, 1000000\], got 6"),
        ((20, 9), r"episode_length \(high end of the range\)' must be an integer in \[20, 1000000\], got 9"),
        ((7, 8, 9), r"'episode_length' must be an int or a \(low, high\) pair"),
    ],
)
def test_bad_episode_length_ranges_name_the_value(length, match):
    with pytest.raises(ValueError, match=match):
        DistractorNavigation(2, **dict(RANGED, episode_length=length))


def test_decoys_must_fit_the_shortest_episode():
    with pytest.raises(ValueError, match="num_decoys"):
        DistractorNavigation(2, grid_size=4, episode_length=(7, 30), num_decoys=7)


DECOY_RANGED = dict(grid_size=4, episode_length=20, num_decoys=(0, 6))


def _decoys_shown(env, steps):
    """Play the oracle for ``steps`` steps; (decoys flashed, success) of every finished episode."""
    out, shown = [], np.zeros(env.num_envs, dtype=int)
    obs, _ = env.reset(seed=11)
    for _ in range(steps):
        shown += (obs[:, 0] > 0) & (env.task.t > 0)  # marker flag after the goal's step 0
        obs, _, term, trunc, infos = env.step(env.oracle_action())
        for i in np.flatnonzero(term | trunc):
            out.append((shown[i], bool(infos["is_success"][i])))
            shown[i] = 0
    return out


def test_decoy_count_range_is_drawn_per_episode_and_oracle_scores_one():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=32, **DECOY_RANGED)
    episodes = _decoys_shown(env, 400)
    counts = np.array([n for n, _ in episodes])
    assert set(counts) == set(range(7)) and all(ok for _, ok in episodes)
    # Kept decoys stay uniform over the episode: a few episodes' single decoys land late too.
    task = env.task
    times = task.markers.times[:, 1:-1]
    kept = times[times >= 0]
    assert kept.min() >= 1 and kept.max() < 20 and kept.max() >= 15


@pytest.mark.parametrize("ranged", [RANGED, DECOY_RANGED], ids=["length_range", "decoy_range"])
def test_memoryless_policy_stays_at_its_ceiling_with_a_range(ranged):
    res = evaluate(DistractorNavigation, "memoryless", episodes=1000, seed=8, **dict(ranged, grid_size=2))
    assert abs(res.success_rate - 0.25) < 0.06  # sd 0.014


@pytest.mark.parametrize("one_value", [{"episode_length": (12, 12)}, {"num_decoys": (4, 4)}])
def test_fixed_value_draws_nothing_extra(one_value):
    """A fixed length or decoy count (or a one-value range) gives the same episodes as before
    ranges existed."""
    a = MemoryVectorEnv(DistractorNavigation, num_envs=16, **SMALL)
    b = MemoryVectorEnv(DistractorNavigation, num_envs=16, **dict(SMALL, **one_value))
    a.reset(seed=9)
    b.reset(seed=9)
    np.testing.assert_array_equal(a.task.markers.times, b.task.markers.times)
    np.testing.assert_array_equal(a.task.goal, b.task.goal)
    np.testing.assert_array_equal(a.task.marker_cell, b.task.marker_cell)


def test_set_num_decoys_on_a_live_env_applies_at_episode_boundaries():
    env = MemoryVectorEnv(DistractorNavigation, num_envs=8, **DECOY_RANGED)
    env.reset(seed=10)
    env.set_task_param("num_decoys", 0)
    episodes = _decoys_shown(env, 200)
    assert all(n == 0 for n, _ in episodes[8:])  # after each row's first (built-range) episode
    with pytest.raises(ValueError, match=r"num_decoys \(within the built range \[0, 6\]\).*got 7"):
        env.set_task_param("num_decoys", (0, 7))
