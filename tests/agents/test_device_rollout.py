"""The staged rollout (memory_agents.device_rollout): on CPU (pinning off, eager step) it gives
exactly the rollout of the plain step, for recurrent cores, across episode resets and rollouts;
its options fail clearly. The CUDA graph / torch.compile steps are compared with eager under
`-m gpu` (the compile step also on CPU under `-m slow`)."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from memory_agents.device_rollout import DeviceRollout

from memory_agents import MemoryActorCriticPolicy, MemoryPPO, make_vec_env

torch.set_num_threads(1)
CUE = "MemoryGym/DelayedCue-v0"
BUFFER_TENSORS = ("observations", "actions", "values", "log_probs", "states")
BUFFER_ARRAYS = ("rewards", "episode_starts", "advantages", "returns")


def model(staged, memory="gru", device="cpu", **kwargs):
    env = make_vec_env(CUE, num_envs=4, seed=0, env_kwargs={"num_cues": 3, "delay": 3})
    kwargs = {"n_steps": 16, "n_epochs": 1, "seed": 0, **kwargs}
    return MemoryPPO(
        "MemoryPolicy",
        env,
        staged_rollout=staged,
        device=device,
        policy_kwargs=dict(memory=memory, hidden_dim=16),
        **kwargs,
    )


def rollouts(m, n=3):
    """Snapshots of the buffer after each of ``n`` rollouts (an update between them)."""
    m._setup_learn(n * m.n_steps * m.n_envs)
    callback = m._init_callback(None)
    snaps = []
    for _ in range(n):
        assert m.collect_rollouts(m.env, callback, m.rollout_buffer, m.n_steps)
        buf = m.rollout_buffer
        snap = {k: getattr(buf, k).clone() for k in BUFFER_TENSORS if k != "states"}
        snap["states"] = [s.clone() for s in buf.states]
        snap.update({k: getattr(buf, k).copy() for k in BUFFER_ARRAYS})
        snap["last_state"] = [s.clone() for s in m._last_memory_state]
        snaps.append(snap)
        m.train()
    return snaps


def assert_same(a, b):
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, list):
            assert len(x) == len(y) and all(torch.equal(p, q) for p, q in zip(x, y)), key
        elif isinstance(x, torch.Tensor):
            assert torch.equal(x, y), key
        else:
            np.testing.assert_array_equal(x, y, err_msg=key)


@pytest.mark.parametrize(
    "memory, mode_kwargs",
    [
        ("gru", {}),
        ("lstm", dict(recurrent_mode="cached")),
        ("mamba2", dict(recurrent_mode="truncated", bptt_len=4, burn_in=2)),
    ],
)
def test_staged_rollout_is_the_plain_rollout(memory, mode_kwargs):
    plain = rollouts(model(False, memory, **mode_kwargs))
    staged_model = model(True, memory, **mode_kwargs)
    staged = rollouts(staged_model)
    assert staged_model._device_rollout.step_mode == "eager" and not staged_model._device_rollout.pinned
    starts = np.stack([s["episode_starts"] for s in plain])
    assert starts[:, 1:].any() and starts[:, 0].any()  # resets inside and at the start of rollouts
    for a, b in zip(plain, staged):
        assert_same(a, b)


def test_staged_rollout_is_on_by_default_only_on_cuda():
    m = model(None)
    m.learn(m.n_steps * m.n_envs)
    assert m._device_rollout is None
    m = model(True)
    m.learn(m.n_steps * m.n_envs)
    stepper = m._device_rollout
    m.learn(m.n_steps * m.n_envs, reset_num_timesteps=False)
    assert m._device_rollout is stepper  # built once per policy


def test_upload_packs_observations_and_starts_and_download_returns_a_copy():
    space = spaces.Box(-1.0, 1.0, (2, 3), dtype=np.float64)
    policy = MemoryActorCriticPolicy(space, spaces.Discrete(3), lambda _: 1e-3, hidden_dim=8)
    staged = DeviceRollout(policy, 4, space, "cpu")
    obs = np.arange(24, dtype=np.float64).reshape(4, 2, 3) / 7
    staged.upload(obs, np.array([1, 0, 0, 1], dtype=np.float32))
    assert staged.obs.shape == (4, 2, 3) and staged.obs.dtype == torch.float32
    assert torch.equal(staged.obs, torch.as_tensor(obs).float())
    assert staged.starts.tolist() == [1.0, 0.0, 0.0, 1.0]
    first = staged.download(torch.tensor([2, 0, 1, 1]))
    staged.download(torch.tensor([0, 0, 0, 0]))
    assert first.tolist() == [2, 0, 1, 1]


def test_graph_step_without_cuda_runs_eagerly_with_a_warning():
    m = model(True, rollout_step="graph")
    with pytest.warns(UserWarning, match="rollout_step='graph' runs eagerly: CUDA graphs need a CUDA device"):
        m.learn(m.n_steps * m.n_envs)
    assert m._device_rollout.step_mode == "eager"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(rollout_step="fast"), ValueError, "rollout_step must be one of .*got 'fast'"),
        (dict(staged_rollout="yes"), TypeError, "staged_rollout must be True, False or None, got 'yes'"),
    ],
)
def test_bad_rollout_options_name_the_value(kwargs, error, message):
    staged = kwargs.pop("staged_rollout", None)
    with pytest.raises(error, match=message):
        model(staged, **kwargs)


def test_save_and_load_with_a_staged_rollout(tmp_path):
    m = model(True)
    m.learn(m.n_steps * m.n_envs)
    m.save(tmp_path / "m.zip")
    loaded = MemoryPPO.load(tmp_path / "m.zip", env=m.env)
    assert loaded.staged_rollout is True and loaded._device_rollout is None
    loaded.learn(m.n_steps * m.n_envs)


# ------------------------------------------------------------------ graph / compile vs eager
def compare_steps(memory, mode, device, steps=6, B=32):
    """Run the ``mode`` step and the eager step of one policy side by side on the same inputs:
    values and new states agree, and the ``mode`` step's log-probs are those of its actions
    under the eager step's distribution (sampling noise differs between the two)."""
    torch.manual_seed(0)
    space = spaces.Box(0.0, 1.0, (5,), dtype=np.float32)
    policy = MemoryActorCriticPolicy(space, spaces.Discrete(3), lambda _: 1e-3, memory=memory, hidden_dim=32)
    policy = policy.to(device)
    fast, eager = (DeviceRollout(policy, B, space, device, step_mode=m) for m in (mode, "eager"))
    rng = np.random.default_rng(0)
    state = policy.initial_state(B)
    for t in range(steps):
        obs = rng.random((B, 5), dtype=np.float32)
        starts = np.ones(B, np.float32) if t == 0 else (rng.random(B) < 0.3).astype(np.float32)
        fast.upload(obs, starts)
        actions, values, log_probs, new_state = fast.policy_step(state)
        eager.upload(obs, starts)
        _, e_values, _, e_state = eager.policy_step(state)
        torch.testing.assert_close(values, e_values, rtol=1e-4, atol=1e-5)
        for s, e in zip(new_state, e_state):
            torch.testing.assert_close(s, e, rtol=1e-4, atol=1e-5)
        with torch.no_grad():
            latent_pi, _, _ = policy.forward_latent(eager.obs[None], state, eager.starts[None])
            log_p = torch.log_softmax(policy.action_net(latent_pi[0]), -1)
        torch.testing.assert_close(log_probs, log_p.gather(-1, actions[:, None])[:, 0], rtol=1e-4, atol=1e-5)
        state = e_state
    return fast


@pytest.mark.gpu
@pytest.mark.parametrize("memory", ["pseudo_mamba", "mlp"])
def test_cuda_graph_step_equals_eager(memory):
    fast = compare_steps(memory, "graph", "cuda")
    assert fast.step_mode == "graph" and fast.fallback is None and fast.pinned


@pytest.mark.gpu
@pytest.mark.parametrize("memory", ["gru", "mamba2", "lstm"])
def test_auto_step_captures_or_falls_back_and_equals_eager(memory):
    """Cores whose T=1 step reads a device value on the host run eagerly, saying why."""
    fast = compare_steps(memory, "auto", "cuda")
    assert fast.step_mode == "graph" or (fast.step_mode == "eager" and "synchroniz" in fast.fallback)


@pytest.mark.gpu
def test_compile_step_equals_eager_on_cuda():
    """gru: a core the graph cannot capture, whose only fused step is a compiled one."""
    assert compare_steps("gru", "compile", "cuda").step_mode == "compile"


@pytest.mark.slow
def test_compile_step_equals_eager_on_cpu():
    assert compare_steps("gru", "compile", "cpu", steps=3).step_mode == "compile"


@pytest.mark.gpu
def test_staged_eager_rollout_is_the_plain_rollout_on_cuda():
    """One rollout (with resets inside): after an update, CUDA's atomics may reorder sums."""
    plain = rollouts(model(False, device="cuda"), n=1)
    staged_model = model(True, device="cuda", rollout_step="eager")
    staged = rollouts(staged_model, n=1)
    assert staged_model._device_rollout.pinned
    for a, b in zip(plain, staged):
        assert_same(a, b)


@pytest.mark.gpu
def test_ppo_learns_through_the_graph_step_on_cuda():
    m = model(None, memory="pseudo_mamba", device="cuda")
    m.learn(3 * m.n_steps * m.n_envs)
    assert m._device_rollout.step_mode == "graph"
    assert np.isfinite(m.logger.name_to_value["train/loss"])
