"""The shared slot memory: both slot cores use it; the "strength" usage rule keeps a strongly
written slot through the small writes of a nearly shut gate, which "recency" lets overwrite it."""

from __future__ import annotations

import pytest
import torch
from memory_agents.cores import make_core
from memory_agents.cores.mamba2_memory import Mamba2MemoryCore
from memory_agents.cores.pseudo_memory import PseudoMemoryCore
from memory_agents.cores.slot_memory import SlotMemoryCore

torch.set_num_threads(1)

K, D, H = 4, 5, 8
SLOT_CORES = {"pseudo_memory": {}, "mamba2_memory": {"headdim": 4}}


def test_both_slot_cores_share_one_slot_memory():
    for cls in (PseudoMemoryCore, Mamba2MemoryCore):
        assert issubclass(cls, SlotMemoryCore)
        for method in ("_memory_step", "_forward", "state_shapes"):
            assert getattr(cls, method) is getattr(SlotMemoryCore, method), f"{cls.__name__}.{method}"


def cue_left_after(name: str, rule: str, steps: int, gate_logit: float = -3.0) -> float:
    """Write a value with the gate open, hold the gate at sigmoid(gate_logit); how much is left."""
    torch.manual_seed(0)
    core = make_core(name, D, H, num_slots=K, usage_rule=rule, **SLOT_CORES[name]).double()
    B = 3
    x = torch.randn(steps + 1, B, D, dtype=torch.float64)
    with torch.no_grad():
        core.gate.weight.zero_()
        core.gate.bias.fill_(60.0)
        _, state = core(x[:1])
        stored = state[-2][:, 0].clone()  # the first write goes to slot 0
        core.gate.bias.fill_(gate_logit)
        _, state = core(x[1:], state)
    drift = (state[-2][:, 0] - stored).norm(dim=-1) / stored.norm(dim=-1)
    return float(1 - drift.max())


@pytest.mark.parametrize("name", SLOT_CORES)
def test_strength_rule_keeps_a_strong_write_that_recency_overwrites(name):
    assert cue_left_after(name, "strength", 200) > 1 - 1e-9
    assert cue_left_after(name, "recency", 200) < 0.9  # the same writes, sent to the cue's slot


def test_strength_usage_follows_the_written_content():
    torch.manual_seed(0)
    core = make_core("pseudo_memory", D, H, num_slots=K, usage_rule="strength").double()
    with torch.no_grad():
        core.gate.weight.zero_()
        core.gate.bias.fill_(0.0)  # g = 0.5 at every step
    _, (h, slots, usage) = core(torch.randn(3, 2, D, dtype=torch.float64))
    # three writes of strength 0.5 into three empty slots: usage 0 + 0.5 * (0.5 - 0) each, last slot empty
    torch.testing.assert_close(usage, torch.tensor([[0.25, 0.25, 0.25, 0.0]] * 2, dtype=torch.float64))


def test_bad_usage_rule_is_named():
    for name in SLOT_CORES:
        with pytest.raises(ValueError, match="usage_rule must be one of .* got 'lru'"):
            make_core(name, D, H, usage_rule="lru")


@pytest.mark.parametrize("name", SLOT_CORES)
def test_keys_address_the_read_and_values_are_what_it_returns(name):
    """With key_dim > 0 a slot is [key, value]: the attention depends on the keys only, the read
    vector on the values only; key_dim=0 reads by the values themselves."""
    torch.manual_seed(0)
    kd = 3
    core = make_core(name, D, H, num_slots=K, key_dim=kd, **SLOT_CORES[name]).double()
    assert core.state_shapes()[-2:] == ((K, kd + H), (K,))
    B = 2
    h = torch.randn(B, core.controller_dim, dtype=torch.float64)
    x = torch.randn(B, D, dtype=torch.float64)
    slots = torch.randn(B, K, kd + H, dtype=torch.float64)
    usage = torch.zeros(B, K, dtype=torch.float64)
    with torch.no_grad():
        _, _, _, _, attn = core._memory_step(h, x, slots, usage)
        other_values = slots.clone()
        other_values[..., kd:] = torch.randn(B, K, H, dtype=torch.float64)
        _, _, _, _, attn_v = core._memory_step(h, x, other_values, usage)
        torch.testing.assert_close(attn_v, attn)  # values do not move the read
        other_keys = slots.clone()
        other_keys[..., :kd] = torch.randn(B, K, kd, dtype=torch.float64)
        _, _, _, _, attn_k = core._memory_step(h, x, other_keys, usage)
        assert not torch.allclose(attn_k, attn)  # keys do
    content = make_core(name, D, H, num_slots=K, key_dim=0, **SLOT_CORES[name])
    assert content.state_shapes()[-2:] == ((K, H), (K,))


def test_bad_key_dim_is_named():
    for name in SLOT_CORES:
        with pytest.raises(ValueError, match="key_dim"):
            make_core(name, D, H, key_dim=-1)
