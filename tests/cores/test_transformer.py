"""Transformer core: sliding-window reach, relative positions at t=10,000, cache bookkeeping and resets."""

import pytest
import torch
from memory_agents.cores import make_core

torch.set_num_threads(1)

D, H = 3, 8


def build(seed=0, **kwargs):
    torch.manual_seed(seed)
    return make_core("transformer", D, H, **kwargs).double()


@pytest.mark.parametrize("n_layers", [1, 2])
def test_output_ignores_inputs_older_than_the_window(n_layers):
    W = 5
    core = build(window=W, n_layers=n_layers, block_len=4)
    reach = n_layers * W  # each layer looks W steps further back
    assert core.gradient_reach == reach + 1
    T = reach + 6
    x = torch.randn(T, 2, D, dtype=torch.float64, requires_grad=True)
    y, _ = core(x)
    y[-1].sum().backward()
    g = x.grad.abs().sum(dim=(1, 2))
    assert torch.all(g[: T - 1 - reach] == 0), "an input older than the window reached the output"
    assert torch.all(g[T - 1 - reach :] > 0), "an input inside the window did not reach the output"


def test_alibi_positions_are_relative_and_never_run_out():
    """ALiBi only: at t = 10,000 outputs are finite and equal a fresh run over the last n_layers*window steps."""
    W, L, T = 8, 2, 10_001
    core = build(window=W, n_layers=L, block_len=32, episode_positions=False)
    x = torch.randn(T, 2, D, dtype=torch.float64)
    with torch.no_grad():
        y, state = core(x)
        assert torch.isfinite(y).all()
        y_fresh, _ = core(x[T - 1 - L * W :])
        torch.testing.assert_close(y[-1], y_fresh[-1])
        y_next, state = core(torch.randn(1, 2, D, dtype=torch.float64), state)  # single step after 10k
    assert torch.isfinite(y_next).all()
    assert state[2].flatten().tolist() == [T + 1, T + 1]  # episode steps so far


def test_episode_positions_tell_steps_apart_and_count_from_each_reset():
    """The same inputs at different episode steps give different outputs; a reset restarts the count."""
    W, T = 8, 10_001
    core = build(window=W, block_len=32)
    x = torch.randn(1, 1, D, dtype=torch.float64).expand(T, 2, D).contiguous()
    starts = torch.zeros(T, 2, dtype=torch.bool)
    starts[T - 3, 1] = True
    with torch.no_grad():
        y, state = core(x, None, starts)
    assert torch.isfinite(y).all()
    assert (y[W + 1, 0] - y[W + 2, 0]).abs().max() > 1e-6  # same window contents, other episode step
    assert state[2].flatten().tolist() == [T, 3]
    torch.testing.assert_close(y[T - 3 :, 1], y[:3, 0])  # after the reset: steps 0, 1, 2 again


def test_cache_fills_right_aligned_and_reset_clears_it():
    W = 6
    core = build(window=W, n_layers=2)
    x = torch.randn(4, 3, D, dtype=torch.float64)
    with torch.no_grad():
        _, (k, v, length) = core(x)
    assert length.flatten().tolist() == [4, 4, 4]
    assert torch.all(k[:, :, : W - 4] == 0) and torch.all(v[:, :, : W - 4] == 0)
    assert torch.all(k[:, :, W - 4 :].abs().sum(-1) > 0)
    # reset row 1 at the next step: its cache holds only the new step, and it behaves like a fresh start
    x2 = torch.randn(3, 3, D, dtype=torch.float64)
    starts = torch.zeros(3, 3, dtype=torch.bool)
    starts[0, 1] = True
    with torch.no_grad():
        y2, (k2, v2, length2) = core(x2, (k, v, length), starts)
        y_fresh, (kf, vf, lf) = core(x2[:, 1:2])
    assert length2.flatten().tolist() == [7, 3, 7]  # episode steps so far (the cache keeps W = 6)
    assert torch.all(k2[1, :, : W - 3] == 0)
    torch.testing.assert_close(y2[:, 1], y_fresh[:, 0])
    torch.testing.assert_close(k2[1], kf[0])


def test_attention_reads_a_cue_from_the_far_end_of_the_window():
    """Changing only the input W steps back changes the current output (content, not just recency)."""
    W = 16
    core = build(window=W, n_layers=1)
    x = torch.randn(W + 1, 1, D, dtype=torch.float64)
    x2 = x.clone()
    x2[0] += 3.0
    with torch.no_grad():
        y1, _ = core(x)
        y2, _ = core(x2)
    assert (y1[-1] - y2[-1]).abs().max() > 1e-4


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"window": 0}, "window"),
        ({"n_layers": 0}, "n_layers"),
        ({"n_heads": 3}, "n_heads must divide d_model=8"),
        ({"d_model": -4}, "d_model"),
        ({"block_len": 1.5}, "block_len"),
    ],
)
def test_bad_kwargs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_core("transformer", D, H, **kwargs)
