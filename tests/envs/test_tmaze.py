"""T-maze (passive / active): oracle, memoryless ceiling, a memory policy from observations only,
time limit, wrong arm, observation aliasing and parameter errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks.tmaze import DOWN, LEFT, RIGHT, UP, TMazeActive, TMazePassive
from memory_gym_envs.vector import MemoryVectorEnv

TASKS = [TMazePassive, TMazeActive]


def _memory_policy(active):
    """Remembers the cue from the observation (no hidden state): the policy a memory agent should find."""
    state = {"t": 0, "cue": None}

    def policy(env, obs, rng):
        if state["cue"] is None:
            state["cue"] = np.zeros(len(obs), dtype=np.int64)
        seen = obs[:, 0] > 0
        state["cue"][seen] = obs[seen, 2].astype(np.int64)
        if active and state["t"] == 0:
            action = np.full(len(obs), LEFT)
        else:
            action = np.where(obs[:, 4] > 0, UP + state["cue"], RIGHT)
        state["t"] += 1
        return action

    return policy


@pytest.mark.parametrize("cls", TASKS)
@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_oracle_scores_exactly_one(cls, difficulty):
    res = evaluate(cls, "oracle", episodes=100, difficulty=difficulty, seed=3)
    assert res.success_rate == 1.0
    assert np.all(res.returns == 1.0)  # dyadic progress rewards sum exactly


@pytest.mark.parametrize("cls", TASKS)
@pytest.mark.parametrize("progress_reward", [0.0, 0.1, 0.5])
def test_oracle_exact_for_any_progress_reward(cls, progress_reward):
    res = evaluate(cls, "oracle", episodes=50, corridor_length=37, progress_reward=progress_reward)
    assert np.all(res.returns == 1.0)


@pytest.mark.parametrize("cls", TASKS)
def test_memoryless_policy_sits_at_one_half(cls):
    # The memoryless policy never steps onto the cue cell in the active maze.
    res = evaluate(cls, "memoryless", episodes=600, difficulty="easy", seed=11)
    task = cls(1, **cls.presets["easy"].params)
    assert task.memoryless_ceiling == 0.5
    assert abs(res.success_rate - 0.5) < 0.07  # 600 episodes: sd 0.02
    assert abs(res.mean_return - task.memoryless_return) < 0.07 * task.arm_reward
    assert res.success_rate < 0.6


@pytest.mark.parametrize("cls", TASKS)
def test_memory_policy_from_observations_solves_it(cls):
    res = evaluate(cls, _memory_policy(cls.active), episodes=100, difficulty="easy", seed=5)
    assert res.success_rate == 1.0


def test_active_without_looking_back_is_chance_even_with_memory():
    """A memory policy that skips the cue cell never sees the cue: 0.5 in the active maze."""
    pol = _memory_policy(active=False)
    res = evaluate(TMazeActive, pol, episodes=600, difficulty="easy", seed=2)
    assert abs(res.success_rate - 0.5) < 0.07


def test_active_start_hides_the_cue_passive_start_shows_it():
    for cls, visible in ((TMazePassive, True), (TMazeActive, False)):
        env = MemoryVectorEnv(cls, num_envs=64, corridor_length=4)
        obs, _ = env.reset(seed=0)
        assert np.all(obs[:, 0] == visible)
        assert np.all(obs[:, 1] + obs[:, 2] == visible)
        if visible:  # both cues occur across rows
            assert 0 < obs[:, 1].sum() < 64


def test_corridor_observations_do_not_depend_on_the_cue():
    env = MemoryVectorEnv(TMazeActive, num_envs=200, corridor_length=5)
    obs, _ = env.reset(seed=1)
    cue = env.task.cue.copy()
    assert 0 < cue.sum() < 200
    seen = []
    for a in [LEFT] + [RIGHT] * 6:
        obs, *_ = env.step(np.full(200, a))
        seen.append(obs)
    seen = np.stack(seen)  # (7, N, 5): cue cell, start, corridor..., junction
    assert np.all(seen[0, :, 1] == (cue == 0)) and np.all(seen[0, :, 2] == (cue == 1))
    assert np.all(seen[1:] == seen[1:, :1])  # after leaving the cue cell all rows look alike
    assert np.all(seen[-1, :, 4] == 1)


@pytest.mark.parametrize("cls", TASKS)
def test_time_limit_ends_a_dawdling_agent_as_a_failure(cls):
    env = MemoryVectorEnv(cls, num_envs=8, corridor_length=3)
    env.reset(seed=0)
    assert env.task.horizon == 3 + 1 + 2 * cls.active
    env.step(np.full(8, UP))  # wastes the only spare step (up in the corridor stays put)
    for _ in range(env.task.horizon - 2):
        _, _, term, trunc, info = env.step(np.full(8, RIGHT))
        assert not term.any() and not trunc.any()
    _, r, term, trunc, info = env.step(np.full(8, RIGHT))  # time is up before any turn
    assert term.all() and not trunc.any()  # the limit is part of the task: no bootstrapping past it
    assert not info["is_success"].any()
    assert np.all(r < env.task.arm_reward)


@pytest.mark.parametrize("cls", TASKS)
def test_slack_extends_the_limit(cls):
    task = cls(1, corridor_length=10, slack=7)
    assert task.horizon == 10 + 1 + 2 * cls.active + 7


def test_wrong_arm_ends_the_episode_without_the_arm_reward():
    env = MemoryVectorEnv(TMazePassive, num_envs=32, corridor_length=2, progress_reward=0.5)
    env.reset(seed=4)
    cue = env.task.cue.copy()
    total = np.zeros(32)
    for _ in range(2):
        total += env.step(np.full(32, RIGHT))[1]
    _, r, term, trunc, info = env.step(np.where(cue == 0, DOWN, UP))
    total += r
    assert term.all() and not trunc.any()
    assert not info["is_success"].any()
    assert np.all(total == 0.5)  # progress only: two cells of 0.25


def test_cell_reward_is_a_power_of_two():
    task = TMazePassive(1, corridor_length=100, progress_reward=0.25)
    assert task.cell_reward == 2.0**-9  # largest power of two <= 0.0025
    assert task.arm_reward == 1.0 - 100 * 2.0**-9
    assert TMazePassive(1, corridor_length=5, progress_reward=0.0).arm_reward == 1.0
    assert TMazePassive(1, corridor_length=3, progress_reward=0.375).cell_reward == 0.125  # exact 2**-3


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(corridor_length=0), "corridor_length"),
        (dict(corridor_length=2.5), "corridor_length"),
        (dict(corridor_length=5, slack=-1), "slack"),
        (dict(corridor_length=5, progress_reward=0.6), "progress_reward"),
        (dict(corridor_length=5, progress_reward=-0.1), "progress_reward"),
        (dict(corridor_length=1024, progress_reward=1e-9), "progress_reward"),  # < 1024 * 2**-30
    ],
)
@pytest.mark.parametrize("cls", TASKS)
def test_bad_parameters_raise(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(2, **kwargs)


@settings(max_examples=30, deadline=None)
@given(
    active=st.booleans(),
    length=st.integers(1, 30),
    slack=st.integers(0, 6),
    progress=st.one_of(st.just(0.0), st.floats(30 * 2.0**-30, 0.5)),
    seed=st.integers(0, 2**32),
    oracle=st.booleans(),
)
def test_property_episode_lengths_reward_bounds_success(active, length, slack, progress, seed, oracle):
    cls = TMazeActive if active else TMazePassive
    task = cls(8, corridor_length=length, slack=slack, progress_reward=progress)
    rows = np.arange(8)
    task.seed(rows, seed + rows.astype(np.uint64))
    task.reset(rows)
    rng = np.random.default_rng(seed)
    total, ended, success = np.zeros(8), np.zeros(8, dtype=bool), np.zeros(8, dtype=bool)
    for _ in range(task.horizon):
        a = task.oracle_action() if oracle else rng.integers(0, 4, 8)
        r, te, tr = task.step(a)
        assert np.all((r >= 0) & (r <= 1)) and not tr.any()
        total += np.where(ended, 0.0, r)
        done = (te | tr) & ~ended
        success[done] = task.success()[done]
        ended |= done
    assert ended.all()  # every episode ends within the horizon
    assert np.all((total >= 0) & (total <= 1 + 1e-12))
    assert np.all(success == (total > length * task.cell_reward))  # only the correct arm pays more
    if oracle:
        assert success.all() and np.all(total == 1.0)


@pytest.mark.parametrize("cls", TASKS)
def test_no_stochastic_memoryless_policy_beats_one_half(cls):
    """Random observation -> action-distribution tables (with slack to dawdle or look back) stay
    at chance: the cue is visible only on the cue cell, never where the arm is chosen."""
    rng = np.random.default_rng(0)
    for _ in range(4):
        # rows: cue cell showing up, cue cell showing down, corridor, junction
        probs = rng.dirichlet(np.full(4, 0.5), size=4)
        probs[:3, RIGHT] += 1.0  # reach the junction often enough to matter
        probs /= probs.sum(1, keepdims=True)

        def policy(env, obs, _rng, probs=probs):
            kind = np.where(obs[:, 0] > 0, obs[:, 2], np.where(obs[:, 3] > 0, 2, 3)).astype(np.int64)
            u = _rng.random(len(obs))[:, None]
            return np.minimum((u > probs[kind].cumsum(1)).sum(1), 3)

        res = evaluate(cls, policy, episodes=1500, seed=int(rng.integers(1000)), corridor_length=3, slack=4)
        assert 0.05 < res.success_rate <= 0.5 + 0.05  # episodes do end at arms; 1500: sd <= 0.013


@pytest.mark.parametrize("cls", TASKS)
def test_corridor_range_is_sampled_per_episode_and_the_oracle_scores_one(cls):
    res = evaluate(cls, "oracle", episodes=300, corridor_length=(3, 40), seed=1)
    assert res.success_rate == 1.0 and np.all(res.returns == 1.0)  # each episode's rewards are exact
    task = cls(300, corridor_length=(3, 40))
    rows = np.arange(300)
    task.seed(rows, rows.astype(np.uint64))
    task.reset(rows)
    assert task.length.min() >= 3 and task.length.max() <= 40 and len(np.unique(task.length)) > 20
    # a short corridor pays more per cell: the progress reward is spread over the episode's own L
    short, long = task.length == task.length.min(), task.length == task.length.max()
    assert task.row_cell_reward[short][0] > task.row_cell_reward[long][0]
    assert task.horizon == 40 + 1 + 2 * cls.active and task.cell_reward == task.row_cell_reward[long][0]


@pytest.mark.parametrize("cls", TASKS)
def test_memoryless_policy_sits_at_one_half_on_a_corridor_range(cls):
    res = evaluate(cls, "memoryless", episodes=800, corridor_length=(20, 200), seed=7)
    task = cls(1, corridor_length=(20, 200))
    assert task.memoryless_ceiling == 0.5 and abs(res.success_rate - 0.5) < 0.06
    assert abs(res.mean_return - task.memoryless_return) < 0.06


def test_corridor_range_narrows_on_a_live_env():
    env = MemoryVectorEnv(TMazePassive, num_envs=64, corridor_length=(5, 50))
    env.reset(seed=0)
    assert env.task.live_max_steps == 51
    env.task.set_param("corridor_length", (5, 8))
    assert env.task.live_max_steps == 9
    env.reset(seed=1)
    assert set(np.unique(env.task.length)) == {5, 6, 7, 8}
    env.task.set_param("corridor_length", 12)  # one length
    env.reset(seed=2)
    assert np.all(env.task.length == 12) and np.all(env.task.limit == 13)
    with pytest.raises(ValueError, match=r"within the built range \[5, 50\]\).*got 60"):
        env.task.set_param("corridor_length", (10, 60))


def test_fixed_corridor_keeps_its_random_streams():
    """A range draws an extra number per episode; a fixed corridor must not (same episodes as before)."""
    fixed = MemoryVectorEnv(TMazePassive, num_envs=32, corridor_length=9)
    ranged = MemoryVectorEnv(TMazePassive, num_envs=32, corridor_length=(9, 9))
    fixed.reset(seed=3), ranged.reset(seed=3)
    assert np.array_equal(fixed.task.cue, ranged.task.cue)


@pytest.mark.parametrize(
    "value, match",
    [((5, 3), r"high end of the range\)' must be an integer in \[5, 1000000\], got 3"), ((1, 2, 3), "pair")],
)
def test_bad_corridor_range_names_the_problem(value, match):
    with pytest.raises(ValueError, match=match):
        TMazePassive(2, corridor_length=value)


def test_start_offset_range_mixes_passive_and_active_starts_and_the_oracle_scores_one():
    res = evaluate(TMazeActive, "oracle", episodes=300, corridor_length=(3, 20), start_offset=(0, 3), seed=2)
    assert res.success_rate == 1.0 and np.all(res.returns == 1.0)
    task = TMazeActive(400, corridor_length=10, start_offset=(0, 1))
    rows = np.arange(400)
    task.seed(rows, rows.astype(np.uint64))
    task.reset(rows)
    assert set(np.unique(task.row_start)) == {0, 1} and abs(task.row_start.mean() - 0.5) < 0.1
    np.testing.assert_array_equal(task.pos, task.row_start)
    np.testing.assert_array_equal(task.limit, 10 + 1 + 2 * task.row_start)  # no slack: the shortest path
    assert task.horizon == 13 and task.start_offset == 1
    obs = task.observe()
    np.testing.assert_array_equal(obs[:, 0] > 0, task.row_start == 0)  # only passive starts see the cue


def test_memoryless_policy_sits_at_one_half_with_mixed_starts():
    res = evaluate(TMazeActive, "memoryless", episodes=800, corridor_length=12, start_offset=(0, 1), seed=4)
    assert abs(res.success_rate - 0.5) < 0.06


def test_start_offset_narrows_on_a_live_env_and_fixed_starts_keep_their_streams():
    env = MemoryVectorEnv(TMazeActive, num_envs=64, corridor_length=10, start_offset=(0, 1))
    env.reset(seed=0)
    assert env.task.live_max_steps == 13
    env.task.set_param("start_offset", 0)
    assert env.task.live_max_steps == 11
    env.reset(seed=1)
    assert np.all(env.task.row_start == 0)
    with pytest.raises(ValueError, match=r"start_offset \(within the built range \[0, 1\]\).*got 2"):
        env.task.set_param("start_offset", (0, 2))
    fixed = MemoryVectorEnv(TMazeActive, num_envs=32, corridor_length=9)
    ranged = MemoryVectorEnv(TMazeActive, num_envs=32, corridor_length=9, start_offset=(1, 1))
    fixed.reset(seed=3), ranged.reset(seed=3)
    assert np.array_equal(fixed.task.cue, ranged.task.cue) and np.all(fixed.task.row_start == 1)
    with pytest.raises(ValueError, match=r"start_offset.*must be an integer in \[0, 1000\], got -1"):
        TMazeActive(2, corridor_length=5, start_offset=-1)
