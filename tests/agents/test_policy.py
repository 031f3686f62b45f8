"""MemoryActorCriticPolicy: construction, predict() state semantics, rollout step == sequence re-run."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from memory_agents.policies import memory_names

from memory_agents import MemoryActorCriticPolicy

torch.set_num_threads(1)

OBS = spaces.Box(0.0, 1.0, (6,), np.float32)
ACT = spaces.Discrete(4)


def make_policy(**kwargs) -> MemoryActorCriticPolicy:
    torch.manual_seed(0)
    return MemoryActorCriticPolicy(OBS, ACT, lambda _: 1e-3, **kwargs)


def random_obs(rng, n):
    return rng.random((n, 6)).astype(np.float32)


def test_unknown_memory_lists_valid_names():
    with pytest.raises(ValueError, match="unknown memory 'nope'.*gru"):
        make_policy(memory="nope")


def test_bad_hidden_dim_is_rejected():
    with pytest.raises(ValueError, match=r"hidden_dim must be an integer in \[1, 2147483647\], got 0"):
        make_policy(hidden_dim=0)


def test_memory_names_include_registered_cores_and_mlp():
    names = memory_names()
    assert "gru" in names and "lstm" in names and "mlp" in names


@pytest.mark.parametrize("memory", ["gru", "lstm"])
def test_first_action_of_new_episode_ignores_previous_episode(memory):
    """After episode_start=True the state (and so the action distribution) is the fresh one."""
    policy = make_policy(memory=memory)
    rng = np.random.default_rng(0)
    states = []
    for history in range(2):  # two different previous episodes
        state = None
        for _ in range(5 + history):
            _, state = policy.predict(random_obs(rng, 3), state, episode_start=np.zeros(3, bool))
        states.append(state)
    assert not all(np.allclose(a, b) for a, b in zip(*states)), "histories should give different states"

    obs = random_obs(rng, 3)
    out = []
    for state in states:
        _, new_state = policy.predict(obs, state, episode_start=np.ones(3, bool))
        with torch.no_grad():
            obs_t = torch.as_tensor(obs)
            st = tuple(torch.as_tensor(s) for s in state)
            latent_pi, _, _ = policy.forward_latent(obs_t[None], st, torch.ones(1, 3))
            probs = torch.softmax(policy.action_net(latent_pi[0]), -1)
        out.append((new_state, probs))
    for a, b in zip(out[0][0], out[1][0]):
        np.testing.assert_array_equal(a, b)
    torch.testing.assert_close(out[0][1], out[1][1], rtol=0, atol=0)
    # and the fresh state equals the one predict builds with state=None
    _, from_none = policy.predict(obs, None, episode_start=np.ones(3, bool))
    for a, b in zip(out[0][0], from_none):
        np.testing.assert_array_equal(a, b)


def test_predict_state_round_trip_and_single_obs():
    policy = make_policy(memory="lstm")
    rng = np.random.default_rng(1)
    actions, state = policy.predict(random_obs(rng, 4))
    assert actions.shape == (4,) and isinstance(state, tuple) and len(state) == 2
    assert all(isinstance(s, np.ndarray) and s.shape[0] == 4 for s in state)
    action, single_state = policy.predict(random_obs(rng, 1)[0])  # non-vectorised observation
    assert np.ndim(action) == 0 and single_state[0].shape[0] == 1
    with pytest.raises(ValueError, match=r"state\[0\] must have shape \(4, 1, 64\)"):
        policy.predict(random_obs(rng, 4), (state[0][:2], state[1][:2]))
    with pytest.raises(ValueError, match="tuple of 2 arrays"):
        policy.predict(random_obs(rng, 4), (state[0],))


def test_deterministic_predict_is_reproducible_and_stochastic_varies():
    policy = make_policy()
    obs = np.tile(random_obs(np.random.default_rng(2), 1), (256, 1))
    a1, _ = policy.predict(obs, deterministic=True)
    a2, _ = policy.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    assert len(set(a1.tolist())) == 1
    sampled, _ = policy.predict(obs, deterministic=False)
    assert len(set(sampled.tolist())) > 1  # near-uniform initial policy over 4 actions


@pytest.mark.parametrize("shared", [True, False])
def test_rollout_steps_equal_sequence_rerun(shared):
    """The T=1 rollout path and the (T, B) training path give the same values and log-probs,
    including resets at episode starts in the middle of the sequence."""
    policy = make_policy(memory="gru", shared_memory=shared)
    assert len(policy.state_shapes()) == (1 if shared else 2)
    T, B = 9, 3
    gen = torch.Generator().manual_seed(3)
    obs = torch.rand(T, B, 6, generator=gen)
    starts = torch.zeros(T, B)
    starts[0] = 1
    starts[4, 1] = 1
    starts[6, 0] = 1
    state0 = tuple(torch.randn(B, *s, generator=gen) for s in policy.state_shapes())
    state = state0
    step_values, step_logp, step_actions = [], [], []
    with torch.no_grad():
        for t in range(T):
            actions, values, logp, state = policy(obs[t], state, starts[t])
            step_actions.append(actions)
            step_values.append(values.flatten())
            step_logp.append(logp)
        actions = torch.stack(step_actions)
        values, logp, entropy = policy.evaluate_actions(obs, actions, state0, starts)
    torch.testing.assert_close(values, torch.stack(step_values).flatten(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logp, torch.stack(step_logp).flatten(), rtol=1e-5, atol=1e-6)
    assert entropy.shape == (T * B,)


def test_separate_critic_core_gets_no_actor_gradient():
    policy = make_policy(shared_memory=False)
    obs = torch.rand(5, 2, 6)
    starts = torch.zeros(5, 2)
    values, logp, _ = policy.evaluate_actions(
        obs, torch.zeros(5, 2, dtype=torch.long), policy.initial_state(2), starts
    )
    logp.sum().backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in policy.critic_core.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.memory_core.parameters())


def test_memoryless_policy_has_no_state_and_ignores_history():
    policy = make_policy(memory="mlp")
    rng = np.random.default_rng(4)
    obs = random_obs(rng, 2)
    _, state = policy.predict(random_obs(rng, 2))
    assert state == ()
    with torch.no_grad():
        l1, _, _ = policy.forward_latent(torch.as_tensor(obs)[None], (), torch.zeros(1, 2))
        l2, _, _ = policy.forward_latent(torch.as_tensor(obs)[None], (), torch.ones(1, 2))
    torch.testing.assert_close(l1, l2)


def test_gate_readings_are_per_call_and_survive_a_later_forward(graph_tensors_on):
    """The gate penalty reads the gates of its own evaluate_actions call: a later forward
    (predict_values, as the rollout does) changes neither them nor the penalty, and the
    policy keeps no graph on its modules."""
    from memory_agents.policies import mean_gate

    policy = make_policy(memory="pseudo_memory", shared_memory=False)
    T, B = 5, 2
    obs, starts = torch.rand(T, B, 6), torch.zeros(T, B)
    actions = torch.zeros(T, B, dtype=torch.long)
    *_, readings = policy.evaluate_actions(
        obs, actions, policy.initial_state(B), starts, return_readings=True
    )
    assert len(readings) == 2 and all("gate" in r for r in readings)  # one dict per core
    gates = [r["gate"].detach().clone() for r in readings]
    penalty = mean_gate(readings)
    policy.predict_values(torch.rand(B, 6), policy.initial_state(B), torch.ones(B))
    assert all(torch.equal(r["gate"].detach(), g) for r, g in zip(readings, gates))
    assert mean_gate(readings).item() == penalty.item()
    penalty.backward()
    assert policy.memory_core.gate.bias.grad.abs().sum() > 0
    assert policy.critic_core.gate.bias.grad.abs().sum() > 0
    assert graph_tensors_on(policy) == []
    action, state, step_readings = policy.predict(
        random_obs(np.random.default_rng(0), B), None, np.ones(B, bool), return_readings=True
    )
    assert isinstance(step_readings[0]["gate"], np.ndarray) and step_readings[0]["gate"].shape == (1, B, 1)
    assert {"gate", "attention", "memory_norm"} <= set(step_readings[0])
