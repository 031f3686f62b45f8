"""Generic contract of every registered MemoryGym task (envB's tasks are covered automatically)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from memory_gym_envs.evaluation import evaluate

import memory_gym_envs
from memory_gym_envs import DIFFICULTIES, HORIZON_BANDS, MemoryVectorEnv, get_preset, task_class

IDS = memory_gym_envs.list_tasks()


def test_native_tasks_registered():
    assert "MemoryGym/DelayedCue-v0" in IDS
    for env_id in IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point and spec.vector_entry_point


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_check_env_and_preset(env_id, difficulty):
    env = gym.make(env_id, difficulty=difficulty)
    check_env(env.unwrapped, skip_render_check=True)
    preset = get_preset(env_id, difficulty)
    low, high = HORIZON_BANDS[difficulty]
    assert low <= preset.horizon <= high
    assert env.unwrapped.task.horizon == preset.horizon
    assert 0.0 < preset.target_success <= 1.0
    assert isinstance(env.observation_space, gym.spaces.Box)
    assert env.observation_space.dtype == np.float32
    assert isinstance(env.action_space, gym.spaces.Discrete)


def test_presets_get_harder():
    for env_id in IDS:
        horizons = [get_preset(env_id, d).horizon for d in DIFFICULTIES]
        assert horizons == sorted(horizons), env_id


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_oracle_scores_one(env_id, difficulty):
    episodes = 2 if difficulty == "extreme" else 6
    result = evaluate(env_id, "oracle", episodes=episodes, difficulty=difficulty, seed=1)
    np.testing.assert_array_equal(result.successes, True)
    np.testing.assert_array_equal(result.returns, 1.0)  # exactly, not approximately


@pytest.mark.parametrize("env_id", IDS)
def test_memoryless_policy_at_its_ceiling_and_far_below_oracle(env_id):
    n = 300
    result = evaluate(env_id, "memoryless", episodes=n, difficulty="easy", seed=2)
    task = gym.make(env_id).unwrapped.task
    ceiling, mret = task.memoryless_ceiling, task.memoryless_return
    tol = 4 * np.sqrt(max(ceiling * (1 - ceiling), 1e-3) / n) + 0.02
    assert abs(result.success_rate - ceiling) <= tol, (result.success_rate, ceiling)
    assert result.mean_return <= mret + 0.05, (result.mean_return, mret)
    # A memory task: the best memoryless policy is far from the oracle's 1.0.
    assert ceiling <= 0.6 and mret <= 0.8


@pytest.mark.parametrize("env_id", IDS)
def test_random_policy_no_better_than_memoryless(env_id):
    n = 300
    result = evaluate(env_id, "random", episodes=n, difficulty="easy", seed=3)
    task = gym.make(env_id).unwrapped.task
    assert result.mean_return <= task.memoryless_return + 0.05
    assert result.success_rate <= task.memoryless_ceiling + 0.05


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_row_i_equals_single_env_seed_plus_i(env_id, mode):
    """Row i of a vector env seeded s replays a single env seeded s+i, step by step, with
    gymnasium's autoreset semantics: NEXT_STEP inserts a reset step (action ignored, reward 0)
    after each episode end; SAME_STEP returns the reset obs at once, the last one in final_obs."""
    n, seed = 3, 11
    venv = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode)
    assert isinstance(venv, MemoryVectorEnv)
    assert venv.metadata["autoreset_mode"] == mode
    steps = 2 * venv.task.horizon + 3  # at least two episodes per row
    actions = np.random.default_rng(0).integers(0, venv.single_action_space.n, size=(steps, n))
    singles = [gym.make(env_id).unwrapped for _ in range(n)]
    obs, _ = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(env.reset(seed=seed + i)[0], obs[i])
    pending = np.zeros(n, dtype=bool)
    ends = 0
    for t in range(steps):
        vo, vr, vte, vtr, info = venv.step(actions[t])
        for i, env in enumerate(singles):
            if pending[i]:  # NEXT_STEP reset step
                o, _ = env.reset()
                np.testing.assert_array_equal(vo[i], o)
                assert (vr[i], vte[i], vtr[i]) == (0.0, False, False)
                assert not info.get("_is_success", np.zeros(n, bool))[i]
                pending[i] = False
                continue
            o, r, te, tr, sinfo = env.step(int(actions[t, i]))
            assert (r, te, tr) == (vr[i], vte[i], vtr[i]), (t, i)
            if not (te or tr):
                np.testing.assert_array_equal(vo[i], o)
                assert not info.get("_is_success", np.zeros(n, bool))[i]
                assert not info.get("_final_obs", np.zeros(n, bool))[i]
                continue
            ends += 1
            if mode == AutoresetMode.NEXT_STEP:
                np.testing.assert_array_equal(vo[i], o)
                assert info["_is_success"][i] and info["is_success"][i] == sinfo["is_success"]
                pending[i] = True
            else:
                assert info["_final_obs"][i] and info["_final_info"][i]
                np.testing.assert_array_equal(info["final_obs"][i], o)
                assert info["final_info"]["_is_success"][i]
                assert info["final_info"]["is_success"][i] == sinfo["is_success"]
                assert "is_success" not in info
                np.testing.assert_array_equal(vo[i], env.reset()[0])
    assert ends >= 2 * n


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episodes_and_unseeded_reset_differs(env_id):
    a = gym.make_vec(env_id, num_envs=64)
    b = gym.make_vec(env_id, num_envs=64)
    np.testing.assert_array_equal(a.reset(seed=7)[0], b.reset(seed=7)[0])
    np.testing.assert_array_equal(a.task.oracle_action(), b.task.oracle_action())
    # Unseeded resets draw fresh entropy: two such envs play different episodes.
    trajectories = []
    for _ in range(2):
        env = gym.make_vec(env_id, num_envs=64)
        obs, _ = env.reset()
        traj = [obs]
        for _ in range(5):
            traj.append(env.step(env.oracle_action())[0])
        trajectories.append(np.stack(traj))
    assert not np.array_equal(*trajectories)


@pytest.mark.parametrize("env_id", IDS)
def test_partial_reset_with_reset_mask(env_id):
    venv = gym.make_vec(env_id, num_envs=4)
    venv.reset(seed=3)
    for _ in range(3):
        venv.step(venv.oracle_action())
    mask = np.array([False, True, False, True])
    obs, _ = venv.reset(seed=3, options={"reset_mask": mask})
    np.testing.assert_array_equal(venv.task.t, [3, 0, 3, 0])
    fresh, _ = gym.make_vec(env_id, num_envs=4).reset(seed=3)
    np.testing.assert_array_equal(obs[mask], fresh[mask])


@pytest.mark.parametrize("env_id", IDS)
def test_bad_inputs_raise_value_error_naming_them(env_id):
    with pytest.raises(ValueError, match="difficulty"):
        gym.make(env_id, difficulty="impossible")
    with pytest.raises(ValueError, match="no_such_param"):
        gym.make(env_id, no_such_param=3)
    with pytest.raises(ValueError, match="autoreset_mode"):
        gym.make_vec(env_id, num_envs=2, autoreset_mode="Sometimes")
    venv = gym.make_vec(env_id, num_envs=3)
    venv.reset(seed=0)
    n_act = venv.single_action_space.n
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=str(n_act)):
        venv.step(np.array([0, n_act, 0]))
    with pytest.raises(ValueError, match="-1"):
        venv.step(np.array([0, -1, 0]))
    with pytest.raises(ValueError, match="integers"):
        venv.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="seed"):
        venv.reset(seed=-1)
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(n_act)


@pytest.mark.parametrize("env_id", IDS)
def test_episode_contract_under_random_actions(env_id):
    """Episodes end by the horizon, returns lie in [0, 1], is_success appears exactly at the end."""
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(4)
    for ep in range(3):
        env.reset(seed=ep)
        total, steps, done = 0.0, 0, False
        while not done:
            _, r, te, tr, info = env.step(int(rng.integers(env.action_space.n)))
            assert 0.0 <= r <= 1.0
            total += r
            steps += 1
            done = te or tr
            assert ("is_success" in info) == done
        assert steps <= env.task.horizon
        assert -1e-9 <= total <= 1.0 + 1e-9
        if abs(total - 1.0) < 1e-9:  # a perfect episode is a success
            assert info["is_success"]


def test_get_preset_and_task_class_lookup():
    p = get_preset("DelayedCue", "hard")
    assert p == get_preset("MemoryGym/DelayedCue-v0", "hard")
    p.params["delay"] = -5  # callers get a copy
    assert get_preset("DelayedCue", "hard").params["delay"] != -5
    with pytest.raises(ValueError, match="unknown task"):
        task_class("NoSuchTask")
    with pytest.raises(ValueError, match="difficulty"):
        get_preset("DelayedCue", "trivial")


def test_make_vec_kwargs_override_preset():
    venv = gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, difficulty="medium", delay=7)
    assert venv.task.horizon == 9
    assert venv.task.num_cues == get_preset("DelayedCue", "medium").params["num_cues"]
    # difficulty=None means the default preset, easy
    env = gym.make("MemoryGym/DelayedCue-v0", difficulty=None).unwrapped
    assert env.task.horizon == get_preset("DelayedCue", "easy").horizon


@pytest.mark.filterwarnings("ignore:.*render_mode")
def test_seed_list_and_misuse_errors():
    a = gym.make_vec("MemoryGym/CopyMemory-v0", num_envs=3)
    b = gym.make_vec("MemoryGym/CopyMemory-v0", num_envs=3)
    np.testing.assert_array_equal(a.reset(seed=[4, 5, 6])[0], b.reset(seed=4)[0])
    np.testing.assert_array_equal(a.task.answers, b.task.answers)
    with pytest.raises(ValueError, match="num_envs=3"):
        a.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec("MemoryGym/CopyMemory-v0", num_envs=0)
    with pytest.raises(
        ValueError, match="render_mode"
    ):  # "human": gymnasium's HumanRendering, see test_render
        gym.make("MemoryGym/CopyMemory-v0", render_mode="bogus")
    with pytest.raises(ValueError, match="reset_mask"):
        a.reset(options={"reset_mask": np.ones(2, dtype=bool)})
    env = gym.make("MemoryGym/DelayedCue-v0", delay=0).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    env.step(0)  # episode over
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_gymnasium_vector_wrappers_work():
    """RecordEpisodeStatistics (NEXT_STEP) sees the oracle's return 1.0 and the episode length."""
    venv = gym.wrappers.vector.RecordEpisodeStatistics(gym.make_vec("MemoryGym/CopyMemory-v0", num_envs=3))
    venv.reset(seed=0)
    horizon = venv.unwrapped.task.horizon
    for _t in range(horizon):
        _, _, te, _, info = venv.step(venv.unwrapped.oracle_action())
    assert te.all() and "episode" in info
    np.testing.assert_allclose(info["episode"]["r"], 1.0)
    np.testing.assert_array_equal(info["episode"]["l"], horizon)
    listed = gym.wrappers.vector.DictInfoToList(
        gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, delay=0, autoreset_mode="SameStep")
    )
    listed.reset(seed=0)
    listed.step(np.zeros(2, dtype=np.int64))
    _, _, te, _, infos = listed.step(listed.unwrapped.oracle_action())
    assert te.all() and all(i["final_info"]["is_success"] for i in infos)
