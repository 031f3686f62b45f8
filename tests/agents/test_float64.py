"""Float64 networks stay float64: the policy's carried state and the Q-network's input follow the core's dtype."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from memory_agents.dqn import TrialReplayDQN
from memory_agents.policies import MemoryActorCriticPolicy
from stable_baselines3.common.utils import FloatSchedule

from .test_dqn import CueTrials


@pytest.mark.parametrize("memory", ["gru", "lstm", "mpn"])
def test_actor_critic_predict_keeps_a_float64_state(memory):
    obs_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
    policy = MemoryActorCriticPolicy(
        obs_space, spaces.Discrete(2), FloatSchedule(1e-3), memory=memory, hidden_dim=8
    ).double()
    obs = np.random.default_rng(0).uniform(-1, 1, (4, 3)).astype(np.float32)
    _, state = policy.predict(obs, None, np.ones(4, bool))
    assert all(s.dtype == np.float64 for s in state)
    ref = tuple(torch.as_tensor(s) for s in state)
    _, state2 = policy.predict(obs, state, np.zeros(4, bool))
    # the carried state went in as float64: a float32 round trip would differ in the low bits
    with torch.no_grad():
        _, _, expected = policy.forward_latent(torch.as_tensor(obs)[None], ref, torch.zeros(1, 4))
    for got, want in zip(state2, expected):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, want.numpy())


def test_trial_replay_dqn_learns_and_predicts_in_float64():
    model = TrialReplayDQN(
        "MemoryQPolicy",
        CueTrials(),
        policy_kwargs=dict(memory="gru", hidden_dim=8),
        seed=0,
        learning_starts=2,
    )
    model.policy.double()
    model.learn(120)
    assert model._n_updates > 0
    assert all(p.dtype == torch.float64 for p in model.policy.parameters())
    actions, state = model.predict(np.zeros((2, 3), np.float32), None, np.ones(2, bool), deterministic=True)
    assert actions.shape == (2,) and all(s.dtype == np.float64 for s in state)
    q, _ = model.policy.q_net(torch.zeros(1, 2, 3))
    assert q.dtype == torch.float64
