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
