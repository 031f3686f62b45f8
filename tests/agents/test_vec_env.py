"""GymnasiumVecEnv / make_vec_env: arrays through, SB3 info dicts at episode ends, terminal obs,
time-limit truncation, seeding; other ids fall back to SB3's DummyVecEnv."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import memory_gym_envs  # noqa: F401
from memory_agents import GymnasiumVecEnv, make_vec_env

CUE = "MemoryGym/DelayedCue-v0"


def test_delayed_cue_oracle_through_adapter():
    env = make_vec_env(CUE, num_envs=5, seed=0, env_kwargs=dict(num_cues=4, delay=3))
    assert isinstance(env, GymnasiumVecEnv) and env.num_envs == 5
    obs = env.reset()
    assert obs.shape == (5, 6) and obs.dtype == np.float32
    episodes = 0
    for step in range(15):  # 3 episodes of length delay + 2 = 5
        actions = env.venv.oracle_action()
        obs, rewards, dones, infos = env.step(actions)
        assert rewards.shape == (5,) and dones.shape == (5,) and len(infos) == 5
        if (step + 1) % 5 == 0:
            assert dones.all()
            for info in infos:
                assert info["is_success"] is True or info["is_success"] == np.True_
                assert info["TimeLimit.truncated"] is False
                assert info["episode"]["r"] == 1.0 and info["episode"]["l"] == 5
                # terminal obs is the blank post-query observation; the returned obs is the next cue
                assert info["terminal_observation"].shape == (6,) and not info["terminal_observation"].any()
            assert (obs[:, 0] == 1.0).all()
            episodes += 1
        else:
            assert not dones.any()
            assert all(info == {} for info in infos)
    assert episodes == 3


def test_failed_episodes_report_failure_and_zero_return():
    env = make_vec_env(CUE, num_envs=8, seed=1, env_kwargs=dict(num_cues=4, delay=0))
    env.reset()
    cue = env.venv.oracle_action()
    env.step(cue)
    _, rewards, dones, infos = env.step((cue + 1) % 4)  # wrong answer at the query
    assert dones.all() and (rewards == 0).all()
    assert not any(info["is_success"] for info in infos)
    assert all(info["episode"]["r"] == 0.0 for info in infos)


def test_same_seed_same_episodes_and_rows_differ():
    def run(seed):
        env = make_vec_env(CUE, num_envs=4, seed=seed, env_kwargs=dict(num_cues=8, delay=1))
        obs = [env.reset()]
        for _ in range(9):
            obs.append(env.step(np.zeros(4, dtype=np.int64))[0])
        return np.stack(obs)

    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    cues = a[0, :, 2:].argmax(1)
    assert len(set(cues.tolist())) > 1 or len(set(a[3, :, 2:].argmax(1).tolist())) > 1


def test_difficulty_is_passed_to_the_task():
    env = make_vec_env(CUE, num_envs=2, seed=0, difficulty="medium")
    preset = memory_gym_envs.get_preset(CUE, "medium")
    assert env.venv.task.delay == preset.params["delay"]


def test_time_limit_truncation_gives_terminal_obs_and_flag():
    venv = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1", max_episode_steps=3)] * 2, autoreset_mode=AutoresetMode.SAME_STEP
    )
    env = GymnasiumVecEnv(venv)
    env.seed(0)
    env.reset()
    last = None
    for _ in range(3):
        obs, _, dones, infos = env.step(np.array([0, 1]))
        if not dones.any():
            last = obs
    assert dones.all()
    for i, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is True
        assert info["episode"]["l"] == 3
        term = info["terminal_observation"]
        assert term.shape == (4,) and not np.array_equal(term, obs[i]) and not np.array_equal(term, last[i])


def test_next_step_vector_env_is_rejected():
    venv = gym.make_vec(CUE, num_envs=2)  # NEXT_STEP default
    with pytest.raises(ValueError, match="autoreset_mode=SAME_STEP"):
        GymnasiumVecEnv(venv)


def test_monitor_semantics_and_attrs():
    env = make_vec_env(CUE, num_envs=3, seed=0, env_kwargs=dict(num_cues=2, delay=0))
    assert env.env_is_wrapped(Monitor) == [True] * 3
    assert env.get_attr("num_envs") == [3, 3, 3]


def test_other_ids_use_sb3_dummy_vec_env():
    env = make_vec_env("CartPole-v1", num_envs=2, seed=0)
    assert isinstance(env, DummyVecEnv) and env.num_envs == 2


def test_bad_num_envs():
    with pytest.raises(ValueError, match=r"num_envs must be an integer in \[1, 2147483647\], got 0"):
        make_vec_env(CUE, num_envs=0)
