"""Chrono initialisation of GRU / LSTM (``max_timescale``) and its horizon-aware default."""

from __future__ import annotations

import math

import pytest
import torch
from memory_agents.cores import make_core

from memory_agents import MemoryPPO, make_vec_env


def cue_sensitivity(core, delay: int, cues: int = 4) -> float:
    """Distance between outputs ``delay`` blank steps after different cues, over the output norm."""
    x = torch.zeros(delay + 1, cues, core.input_dim)
    x[0, torch.arange(cues), torch.arange(cues)] = 1.0
    starts = torch.zeros(delay + 1, cues, dtype=torch.bool)
    starts[0] = True
    with torch.no_grad():
        y, _ = core(x, core.initial_state(cues), starts)
    last = y[-1]
    return float(torch.cdist(last, last).sum() / (cues * (cues - 1)) / last.norm(dim=-1).mean())


@pytest.mark.parametrize("name, keep, inp", [("gru", 1, None), ("lstm", 1, 0)])
def test_keep_gate_biases_spread_up_to_the_timescale(name, keep, inp):
    torch.manual_seed(0)
    core = make_core(name, 6, 32, max_timescale=500)
    H = 32
    b_ih, b_hh = core.rnn.bias_ih_l0, core.rnn.bias_hh_l0
    bias = b_ih[keep * H : (keep + 1) * H]
    assert float(bias.min()) >= 0.0 and float(bias.max()) <= math.log(499)
    assert float(bias.max()) > math.log(100)  # spread, not all short
    assert torch.all(b_hh[keep * H : (keep + 1) * H] == 0)
    if inp is not None:
        assert torch.allclose(b_ih[inp * H : (inp + 1) * H], -bias)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_chrono_keeps_a_cue_that_default_init_forgets(name):
    torch.manual_seed(0)
    default = cue_sensitivity(make_core(name, 6, 32), 200)
    torch.manual_seed(0)
    chrono = cue_sensitivity(make_core(name, 6, 32, max_timescale=200), 200)
    assert default < 1e-5 and chrono > 1e-4 and chrono > 100 * default


def test_bad_timescale_is_named():
    with pytest.raises(ValueError, match="max_timescale must be an integer >= 2, got 1"):
        make_core("gru", 6, 8, max_timescale=1)


def test_memory_ppo_sets_the_timescale_from_the_horizon(tmp_path):
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, env_kwargs={"delay": 30})
    model = MemoryPPO("MemoryPolicy", env, policy_kwargs=dict(memory="lstm", hidden_dim=8))
    assert model.policy.memory_kwargs == {"max_timescale": 32}
    model.save(tmp_path / "m.zip")
    assert MemoryPPO.load(tmp_path / "m.zip").policy.memory_kwargs == {"max_timescale": 32}
    explicit = MemoryPPO(
        "MemoryPolicy", env, policy_kwargs=dict(memory="gru", memory_kwargs={"max_timescale": 5})
    )
    assert explicit.policy.memory_kwargs == {"max_timescale": 5}
    other = MemoryPPO("MemoryPolicy", env, policy_kwargs=dict(memory="pseudo_mamba", hidden_dim=8))
    assert "max_timescale" not in other.policy.memory_kwargs  # its own default (1000) stands


def test_mamba2_horizon_timescale_spreads_decay_times_up_to_it():
    torch.manual_seed(0)
    core = make_core("mamba2", 6, 64, max_timescale=500)
    dt = torch.nn.functional.softplus(core.dt_bias.detach())
    tau = 1.0 / (dt * torch.exp(core.A_log.detach()))
    assert float(tau.min()) >= 2.0 - 1e-3 and float(tau.max()) <= 500 * (1 + 1e-4)
    assert float(tau.max()) > 100  # spread, not all short
    with pytest.raises(ValueError, match="max_timescale must be an integer >= 2, got 1"):
        make_core("mamba2", 6, 64, max_timescale=1)


# mamba2_memory with the slot rule whose slots lose the cue within the delay ("recency"), so what
# is measured is its controller's timescale (with "strength" the slots keep the cue either way).
@pytest.mark.parametrize("name, kwargs", [("mamba2", {}), ("mamba2_memory", {"usage_rule": "recency"})])
def test_mamba2_horizon_timescale_keeps_a_cue_that_default_init_forgets(name, kwargs):
    torch.manual_seed(0)
    default = cue_sensitivity(make_core(name, 6, 32, **kwargs), 1000)
    torch.manual_seed(0)
    horizon = cue_sensitivity(make_core(name, 6, 32, max_timescale=1000, **kwargs), 1000)
    assert default < 1e-6 and horizon > 1e-5 and horizon > 100 * default


@pytest.mark.parametrize("name", ["pseudo_memory", "mamba2_memory"])
def test_slot_write_gate_bias_follows_the_timescale(name):
    """Initial gates of K / T rewrite each slot about once over T steps; short spans keep 1/2."""
    for T, g in [(400, 8 / 400), (60, 8 / 60), (10, 0.5)]:
        core = make_core(name, 6, 16, max_timescale=T)
        assert float(torch.sigmoid(core.gate.bias)) == pytest.approx(g, rel=1e-5)
    with pytest.raises(ValueError, match="max_timescale must be an integer >= 2, got 0"):
        make_core(name, 6, 16, max_timescale=0)


@pytest.mark.parametrize("delay, factor", [(50, 3), (300, 1000)])
def test_slot_write_gate_init_keeps_a_cue_that_the_default_gate_overwrites(delay, factor):
    """The default gate (about 1/2 at every blank step) overwrites the cue's slot within a few
    rewrites; sized for the delay, enough of the cue reaches the read for a gradient to teach the
    gate to shut (benchmarks/cue_retention_probe.py)."""
    torch.manual_seed(0)
    default = cue_sensitivity(make_core("pseudo_memory", 6, 32), delay)
    torch.manual_seed(0)
    sized = cue_sensitivity(make_core("pseudo_memory", 6, 32, max_timescale=delay), delay)
    assert sized > factor * default and sized > 1e-4


def test_horizon_defaults_per_core():
    from memory_agents.cores.base import horizon_defaults
    from memory_agents.cores.pseudo_mamba import DEFAULT_MAX_TIMESCALE, HORIZON_FACTOR

    for name in ("gru", "lstm", "mamba2", "mamba2_memory", "pseudo_memory"):
        assert horizon_defaults(name, 400, {}) == {"max_timescale": 400}
        assert horizon_defaults(name, 10, {}) == {}  # short tasks keep the default init
        assert horizon_defaults(name, 400, {"max_timescale": 7}) == {}  # given wins
    # Pseudo-Mamba's log-spaced decays already reach DEFAULT_MAX_TIMESCALE; longer horizons raise it
    short = int(DEFAULT_MAX_TIMESCALE) // HORIZON_FACTOR
    assert horizon_defaults("pseudo_mamba", short, {}) == {}
    assert horizon_defaults("pseudo_mamba", 2000, {}) == {"max_timescale": HORIZON_FACTOR * 2000}
    # the transformer's horizon option is its window, grown past the default to cover the episode
    assert horizon_defaults("transformer", 2000, {}) == {"window": 2000}
    assert horizon_defaults("transformer", 40, {}) == {}
    assert horizon_defaults("transformer", 2000, {"window": 8}) == {}
