"""SB3's env-id paths on MemoryGym ids: SB3 builds envs with ``gym.make(id, render_mode="rgb_array")``
(retrying without it only on TypeError), so every task must accept that mode."""

import numpy as np
import pytest
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import memory_gym_envs
from memory_agents import MemoryPPO, TrialReplayDQN

torch.set_num_threads(1)
TASKS = memory_gym_envs.list_tasks()
TWO_TASKS = ["MemoryGym/DelayedCue-v0", "MemoryGym/TMazePassive-v0"]


def render_mode_of(model) -> str:
    return model.get_env().get_attr("render_mode")[0]


@pytest.mark.parametrize("env_id", TASKS)
def test_sb3_make_vec_env_from_id(env_id):
    venv = make_vec_env(env_id, n_envs=2, seed=0)
    assert venv.num_envs == 2
    assert venv.get_attr("render_mode") == ["rgb_array", "rgb_array"]
    obs = venv.reset()
    assert obs.shape == (2, *venv.observation_space.shape)
    obs, reward, done, infos = venv.step(np.zeros(2, dtype=np.int64))
    assert obs.shape == (2, *venv.observation_space.shape) and reward.shape == (2,)
    tiled = venv.render()  # SB3 tiles the rows' rgb frames into one image
    assert tiled.dtype == np.uint8 and tiled.ndim == 3 and tiled.shape[2] == 3
    venv.close()


@pytest.mark.parametrize("env_id", TWO_TASKS)
def test_sb3_ppo_trains_from_id(env_id):
    model = PPO(
        "MlpPolicy", env_id, n_steps=64, batch_size=32, n_epochs=1, seed=0, policy_kwargs=dict(net_arch=[16])
    )
    assert render_mode_of(model) == "rgb_array"
    model.learn(256)
    assert model.num_timesteps >= 256


@pytest.mark.parametrize("env_id", TWO_TASKS)
def test_sb3_contrib_recurrent_ppo_trains_from_id(env_id):
    model = RecurrentPPO(
        "MlpLstmPolicy",
        env_id,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        policy_kwargs=dict(lstm_hidden_size=16, net_arch=[16]),
    )
    assert render_mode_of(model) == "rgb_array"
    model.learn(256)
    assert model.num_timesteps >= 256


def test_memory_ppo_learns_from_id():
    model = MemoryPPO(
        "MemoryPolicy",
        "MemoryGym/DelayedCue-v0",
        n_steps=64,
        n_epochs=1,
        seed=0,
        policy_kwargs=dict(hidden_dim=16),
    )
    assert render_mode_of(model) == "rgb_array"
    model.learn(200)
    assert model.num_timesteps >= 200


def test_trial_replay_dqn_learns_from_id():
    model = TrialReplayDQN(
        "MemoryQPolicy",
        "MemoryGym/DelayedCue-v0",
        learning_starts=1,
        seed=0,
        policy_kwargs=dict(hidden_dim=16),
    )
    assert render_mode_of(model) == "rgb_array"
    model.learn(200)
    assert model.num_timesteps >= 200


def test_unsupported_render_mode_is_not_swallowed_by_sb3_retry():
    """SB3 retries only on TypeError; a bad mode must stay a clear ValueError, not a silent retry."""
    with (
        pytest.warns(UserWarning, match="render_mode='bogus'"),
        pytest.raises(ValueError, match="render_mode must be one of"),
    ):
        make_vec_env("MemoryGym/DelayedCue-v0", n_envs=1, env_kwargs={"render_mode": "bogus"})
