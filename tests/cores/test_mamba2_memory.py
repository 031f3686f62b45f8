"""Mamba2 controller + slot memory: the slot logic is the one pseudo_memory uses, the controller is
a Mamba2 block (its options, backends and horizon timescale reach it), its readings feed gate_coef / render."""

from __future__ import annotations

import pytest
import torch
from memory_agents.cores import make_core
from memory_agents.cores.mamba2 import Mamba2Core, load_mamba_chunk_scan

torch.set_num_threads(1)

K, D, H = 4, 5, 8


def test_controller_is_a_mamba2_block_with_its_options():
    core = make_core("mamba2_memory", D, H, num_slots=K, d_state=4, headdim=4, chunk_size=8, max_timescale=50)
    assert isinstance(core.controller, Mamba2Core)
    c = core.controller
    assert (c.d_state, c.headdim, c.chunk_size, c.max_timescale) == (4, 4, 8, 50)
    shapes = core.state_shapes()
    assert shapes[:2] == c.state_shapes() and shapes[2:] == ((K, core.key_dim + H), (K,))
    assert (core.usage_rule, core.key_dim) == ("strength", 16)  # its defaults (pseudo_memory: recency, 0)
    core(torch.randn(3, 2, D))
    assert core.last_backend == "torch"  # CPU: the chunked PyTorch scan


def test_readings_gate_attention_and_memory_norm_like_pseudo_memory():
    torch.manual_seed(0)
    core = make_core("mamba2_memory", D, H, num_slots=K, headdim=4)
    T, B = 9, 3
    starts = torch.rand(T, B) < 0.2
    _, _, readings = core(torch.randn(T, B, D), None, starts, return_readings=True)
    a, g = readings["attention"], readings["gate"]
    assert a.shape == (T, B, K) and g.shape == (T, B, 1) and readings["memory_norm"].shape == (T, B)
    torch.testing.assert_close(a.sum(-1), torch.ones(T, B))
    # the gate keeps its graph, so a sparsity penalty (gate_coef) trains the write gate
    g.mean().backward()
    assert core.gate.weight.grad.abs().sum() > 0 and core.gate.bias.grad.abs().sum() > 0
    assert core.controller.in_proj.weight.grad.abs().sum() > 0  # and reaches the controller


def test_slots_hold_a_write_after_the_gate_shuts():
    torch.manual_seed(1)
    core = make_core("mamba2_memory", D, H, num_slots=K, headdim=4).double()
    with torch.no_grad():
        core.gate.weight.zero_()
        core.gate.bias.fill_(60.0)  # write
    _, state = core(torch.randn(1, 2, D, dtype=torch.float64))
    stored = state[2][:, 0].clone()
    with torch.no_grad():
        core.gate.bias.fill_(-60.0)  # shut
    _, state = core(torch.randn(40, 2, D, dtype=torch.float64), state)
    torch.testing.assert_close(state[2][:, 0], stored)


def test_memory_ppo_gives_it_the_horizon_timescale_and_a_gate_penalty():
    from memory_agents import MemoryPPO, make_vec_env

    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, env_kwargs={"delay": 30})
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        n_steps=32,
        n_epochs=1,
        gate_coef=0.1,
        policy_kwargs=dict(memory="mamba2_memory", hidden_dim=8, memory_kwargs=dict(headdim=4)),
    )
    assert model.policy.memory_kwargs["max_timescale"] == 32
    model.learn(64)
    assert model.logger.name_to_value.get("train/gate_mean", 0.0) > 0.0


@pytest.mark.parametrize("kwargs,match", [({"num_slots": 0}, "num_slots"), ({"headdim": 3}, "headdim")])
def test_bad_kwargs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_core("mamba2_memory", D, H, **kwargs)


@pytest.mark.gpu
@pytest.mark.parametrize("T", [1, 50, 130])
def test_triton_controller_equals_torch_controller_on_cuda(T):
    if load_mamba_chunk_scan() is None:
        pytest.skip("mamba-ssm (the `mamba` extra) is not installed")
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    torch.manual_seed(0)
    kw = dict(num_slots=K, d_state=16, headdim=16, chunk_size=64)
    tri = make_core("mamba2_memory", 12, 32, backend="triton", **kw).to(dev)
    ref = make_core("mamba2_memory", 12, 32, backend="torch", **kw).to(dev)
    ref.load_state_dict(tri.state_dict())
    B = 8
    x = torch.randn(T, B, 12, device=dev)
    starts = torch.rand(T, B, device=dev) < 0.05
    starts[0, 0] = True
    outs = []
    for core in (tri, ref):
        xi = x.clone().requires_grad_(True)
        y, state, readings = core(xi, None, starts, return_readings=True)
        (y.pow(2).sum() + readings["gate"].sum()).backward()
        outs.append((y.detach(), state[2].detach(), [xi.grad, *(p.grad for p in core.parameters())]))
    assert tri.last_backend == "triton" and ref.last_backend == "torch"
    (y1, s1, g1), (y2, s2, g2) = outs
    # Triton's tl.dot uses TF32 on GPUs that have it: loose-but-meaningful tolerance.
    torch.testing.assert_close(y1, y2, atol=5e-3, rtol=5e-3)
    torch.testing.assert_close(s1, s2, atol=5e-3, rtol=5e-3)
    for a, b in zip(g1, g2):
        assert (a - b).norm() <= 2e-2 * b.norm() + 1e-5
