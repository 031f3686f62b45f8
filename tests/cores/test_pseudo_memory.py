"""PseudoMode slot memory: least-used writes, decaying usage, slot reuse, normalised attention, gate grads."""

import pytest
import torch
from memory_agents.cores import make_core
from memory_agents.cores.pseudo_memory import PseudoMemoryCore

torch.set_num_threads(1)

K, D, H = 4, 3, 6


def forced_gate_core(gate_logit: float) -> PseudoMemoryCore:
    """A core whose write gate is constant sigmoid(gate_logit) and whose read attention is uniform."""
    torch.manual_seed(0)
    core = make_core("pseudo_memory", D, H, num_slots=K, usage_decay=0.5).double()
    with torch.no_grad():
        core.gate.weight.zero_()
        core.gate.bias.fill_(gate_logit)
        core.query.weight.zero_()  # zero query -> equal logits -> attention exactly 1/K
    return core


def test_open_gate_writes_least_used_slot_and_reuses_slots():
    core = forced_gate_core(60.0)  # sigmoid(60) == 1.0 in float64
    B, T = 2, 2 * K + 1
    x = torch.randn(T, B, D, dtype=torch.float64)
    state = core.initial_state(B)
    written = []
    for t in range(T):
        _, slots0, usage0 = state
        _, state = core(x[t : t + 1], state)
        h, slots, usage = state
        changed = (slots - slots0).abs().sum(-1) > 0  # (B, K)
        assert changed.sum(-1).tolist() == [1] * B, "exactly one slot written per row"
        idx = changed.float().argmax(-1)
        assert torch.equal(idx, usage0.argmin(-1)), "the write goes to the least-used slot"
        hx = torch.cat([h, x[t]], -1)
        v = torch.tanh(core.write(hx))
        torch.testing.assert_close(slots[torch.arange(B), idx], v)  # g = 1 overwrites the slot
        expected_usage = 0.5 * usage0 + 1.0 / K + torch.nn.functional.one_hot(idx, K).double()
        torch.testing.assert_close(usage, expected_usage)
        written.append(idx[0].item())
    # with uniform reads the least-used slot is the one written longest ago: round robin, then reuse
    assert written == [t % K for t in range(T)]


def test_closed_gate_leaves_slots_and_usage_decays():
    core = forced_gate_core(-60.0)  # gate ~ 1e-26: nothing is written
    B = 3
    h0, _, _ = core.initial_state(B)
    slots0 = torch.randn(B, K, core.slot_dim, dtype=torch.float64)
    usage0 = torch.rand(B, K, dtype=torch.float64) * 4
    y, (h, slots, usage) = core(torch.randn(6, B, D, dtype=torch.float64), (h0, slots0, usage0))
    torch.testing.assert_close(slots, slots0)
    # usage_t = 0.5 usage_{t-1} + 1/K  ->  fixed point 2/K
    expected = usage0 * 0.5**6 + (1.0 / K) * sum(0.5**k for k in range(6))
    torch.testing.assert_close(usage, expected)


def test_attention_is_a_distribution_and_reads_matching_slot():
    torch.manual_seed(1)
    core = make_core("pseudo_memory", D, H, num_slots=K)
    T, B = 9, 5
    y, _, readings = core(torch.randn(T, B, D), None, torch.rand(T, B) < 0.2, return_readings=True)
    a = readings["attention"]
    assert (
        a.shape == (T, B, K)
        and readings["gate"].shape == (T, B, 1)
        and readings["memory_norm"].shape == (T, B)
    )
    assert (a >= 0).all()
    torch.testing.assert_close(a.sum(-1), torch.ones(T, B))
    # content addressing: a query aligned with one slot puts (almost) all attention on it
    target = 2
    q = torch.zeros(core.slot_dim)
    q[target] = 20.0
    core.query.register_forward_hook(lambda module, inputs, out: q.expand_as(out))  # fixed query
    slots = torch.eye(K, core.slot_dim).unsqueeze(0) * 20.0
    with torch.no_grad():
        state = (torch.zeros(1, core.controller_dim), slots, torch.zeros(1, K))
        a = core(torch.randn(1, 1, D), state, return_readings=True)[2]["attention"]
    assert a[0, 0].argmax().item() == target
    assert a[0, 0, target] > 0.99


def test_gate_is_differentiable_for_a_sparsity_penalty():
    torch.manual_seed(2)
    core = make_core("pseudo_memory", D, H, num_slots=K)
    gate = core(torch.randn(7, 3, D), return_readings=True)[2]["gate"]
    gate.mean().backward()
    assert core.gate.weight.grad.abs().sum() > 0 and core.gate.bias.grad.abs().sum() > 0
    # lowering the gate bias reduces the mean gate: the penalty has a direction to push
    g0 = gate.mean().item()
    with torch.no_grad():
        core.gate.bias -= 1.0
    assert core(torch.randn(7, 3, D), return_readings=True)[2]["gate"].mean().item() < g0


def test_memory_recalls_a_written_value_after_distractors():
    """What was written stays in its slot while the gate stays shut, however long the delay."""
    core = forced_gate_core(60.0)
    B = 2
    _, state = core(torch.randn(1, B, D, dtype=torch.float64))
    stored = state[1][:, 0].clone()
    with torch.no_grad():
        core.gate.bias.fill_(-60.0)
    _, state = core(torch.randn(50, B, D, dtype=torch.float64), state)
    torch.testing.assert_close(state[1][:, 0], stored)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_slots": 0}, "num_slots"),
        ({"slot_dim": -1}, "slot_dim"),
        ({"controller_dim": 2.5}, "controller_dim"),
        ({"usage_decay": 1.0}, "usage_decay must be a number in \\[0, 1\\)"),
    ],
)
def test_bad_kwargs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_core("pseudo_memory", D, H, **kwargs)
