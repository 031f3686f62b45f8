"""The memory-core contract, checked for every registered core (new cores are covered automatically).

Tolerances (stated once): the sequence path vs T single steps must agree to
atol 1e-5 / rtol 1e-4 in float32 and atol 1e-10 / rtol 1e-9 in float64.
"""

from __future__ import annotations

import pytest
import torch
from memory_agents.cores import CORE_NAMES, MemoryCore, make_core

torch.set_num_threads(1)

D, H = 5, 8
# Small, fast configurations; chunk sizes below T so chunk boundaries are exercised.
CORE_KWARGS: dict[str, dict] = {
    "mamba2": dict(d_state=8, headdim=4, expand=2, chunk_size=4),
    "mamba2_memory": dict(num_slots=3, d_state=8, headdim=4, chunk_size=4),
    "pseudo_mamba": dict(chunk_size=4),
    "transformer": dict(window=5, block_len=4),  # cache eviction and block boundaries inside T
}
TOL = {torch.float32: dict(atol=1e-5, rtol=1e-4), torch.float64: dict(atol=1e-10, rtol=1e-9)}
DTYPES = [torch.float32, torch.float64]


def build(name: str, dtype=torch.float64, seed: int = 0) -> MemoryCore:
    torch.manual_seed(seed)
    return make_core(name, D, H, **CORE_KWARGS.get(name, {})).to(dtype)


def random_state(core: MemoryCore, B: int, dtype) -> tuple[torch.Tensor, ...]:
    """A non-trivial state: one obtained by running the core on random inputs."""
    g = torch.Generator().manual_seed(123)
    x = torch.randn(7, B, D, generator=g, dtype=dtype)
    with torch.no_grad():
        _, state = core(x, core.initial_state(B, dtype=dtype))
    return state


def random_starts(T: int, B: int, seed: int, p: float = 0.2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(T, B, generator=g) < p


def assert_close(a, b, dtype, what):
    torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", CORE_NAMES)
def test_sequence_equals_single_steps_with_resets(name, dtype):
    T, B = 13, 6
    core = build(name, dtype)
    state0 = random_state(core, B, dtype)
    x = torch.randn(T, B, D, dtype=dtype)
    starts = random_starts(T, B, seed=1)
    starts[0, 0] = True  # reset at the very first step for one row
    starts[5, :] = True  # and a step where every row resets
    starts[:, 1] = False  # and a row that never resets
    with torch.no_grad():
        y_seq, s_seq = core(x, state0, starts)
        s = state0
        ys = []
        for t in range(T):
            y_t, s = core(x[t : t + 1], s, starts[t : t + 1])
            ys.append(y_t)
        y_steps = torch.cat(ys, dim=0)
    assert y_seq.shape == (T, B, H) and y_seq.dtype == dtype
    assert_close(y_seq, y_steps, dtype, f"{name} outputs")
    assert len(s_seq) == len(s)
    for i, (a, b) in enumerate(zip(s_seq, s)):
        assert_close(a, b, dtype, f"{name} state[{i}]")


@pytest.mark.parametrize("name", CORE_NAMES)
def test_split_sequence_equals_whole(name):
    """Running [0, k) then [k, T) with the carried state equals one call over [0, T)."""
    T, B, dtype = 12, 3, torch.float64
    core = build(name, dtype)
    x = torch.randn(T, B, D, dtype=dtype)
    starts = random_starts(T, B, seed=2)
    with torch.no_grad():
        y, s = core(x, None, starts)
        y1, s1 = core(x[:7], None, starts[:7])
        y2, s2 = core(x[7:], s1, starts[7:])
    assert_close(torch.cat([y1, y2]), y, dtype, f"{name} split outputs")
    for a, b in zip(s2, s):
        assert_close(a, b, dtype, f"{name} split state")


@pytest.mark.parametrize("name", CORE_NAMES)
def test_reset_forgets_everything_before(name):
    """After a reset, a row's outputs and state do not depend on earlier inputs or on the state."""
    T, B, r, dtype = 11, 4, 6, torch.float64
    core = build(name, dtype)
    state_a = random_state(core, B, dtype)
    state_b = tuple(s + torch.randn_like(s) for s in state_a)
    x_a = torch.randn(T, B, D, dtype=dtype)
    x_b = x_a.clone()
    x_b[:r] += torch.randn(r, B, D, dtype=dtype)
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[r, 0] = True  # row 0 resets at step r
    starts[r + 2, 2] = True  # row 2 later
    x_a.requires_grad_(True)
    y_a, s_a = core(x_a, state_a, starts)
    with torch.no_grad():
        y_b, s_b = core(x_b, state_b, starts)
        y_fresh, _ = core(x_a[r:, :1].detach(), None, None)
    assert_close(y_a[r:, 0], y_b[r:, 0], dtype, f"{name} post-reset outputs, row 0")
    assert_close(y_a[r + 2 :, 2], y_b[r + 2 :, 2], dtype, f"{name} post-reset outputs, row 2")
    for a, b in zip(s_a, s_b):
        assert_close(a[0], b[0], dtype, f"{name} final state of reset row")
    # Equal to starting that row from the initial state at step r.
    assert_close(y_a[r:, 0].detach(), y_fresh[:, 0], dtype, f"{name} reset vs fresh start")
    # The rows that did not reset do see the perturbation (the test can fail).
    assert not torch.allclose(y_a[r:, 1], y_b[r:, 1])
    # No gradient crosses the reset.
    y_a[r:, 0].sum().backward()
    assert x_a.grad is not None
    # (Scans built on cumulative sums may leave float rounding residue, hence relative 1e-10.)
    post = x_a.grad[r:, 0].abs().max()
    assert post > 0
    assert x_a.grad[:r, 0].abs().max() <= 1e-10 * post, f"{name}: gradient crosses the reset boundary"
    assert torch.all(x_a.grad[:, 1:] == 0), f"{name}: gradient leaks between batch rows"


@pytest.mark.parametrize("name", CORE_NAMES)
def test_gradients_reach_far_back(name):
    T, B, dtype = 24, 2, torch.float64
    core = build(name, dtype)
    reach = getattr(core, "gradient_reach", None)
    lag = T - 1 if reach is None else min(T - 1, reach - 1)
    x = torch.randn(T, B, D, dtype=dtype, requires_grad=True)
    y, _ = core(x, None, None)
    y[-1].sum().backward()
    g = x.grad[T - 1 - lag]
    assert torch.isfinite(x.grad).all()
    assert g.abs().max() > 1e-12, f"{name}: no gradient from step {T - 1} back to step {T - 1 - lag}"
    if reach is not None and reach < T:  # and nothing beyond the stated reach
        assert torch.all(x.grad[: T - reach] == 0), f"{name}: gradient reaches beyond gradient_reach={reach}"
    # Parameters all receive gradients through the sequence path too.
    dead = [
        n
        for n, p in core.named_parameters()
        if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert not dead, f"{name}: parameters without gradient: {dead}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", CORE_NAMES)
def test_state_shapes_and_dtypes(name, dtype):
    B = 3
    core = build(name, dtype)
    state = core.initial_state(B)
    shapes = core.state_shapes()
    assert isinstance(state, tuple) and len(state) == len(shapes) >= 1
    for s, shape in zip(state, shapes):
        assert s.shape == (B, *shape), "state tensors are batch first"
        assert s.dtype == dtype
    # An explicit dtype wins over the parameters' dtype.
    other = torch.float64 if dtype == torch.float32 else torch.float32
    assert all(s.dtype == other for s in core.initial_state(B, dtype=other))
    y, new_state, readings = core(
        torch.randn(4, B, D, dtype=dtype), state, torch.zeros(4, B), return_readings=True
    )
    assert y.shape == (4, B, H) and y.dtype == dtype and torch.isfinite(y).all()
    assert core.hidden_dim == H and core.input_dim == D
    for s, s0 in zip(new_state, state):
        assert s.shape == s0.shape and s.dtype == dtype
    if "gate" in readings:
        assert readings["gate"].shape[:2] == (4, B)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_bad_inputs_raise(name):
    core = build(name, torch.float32)
    with pytest.raises(ValueError, match="input_dim"):
        core(torch.randn(2, 3, D + 1))
    with pytest.raises(ValueError, match="episode_starts"):
        core(torch.randn(2, 3, D), None, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="state"):
        core(torch.randn(2, 3, D), core.initial_state(4))
    with pytest.raises(ValueError, match="dtype"):
        core(torch.randn(2, 3, D, dtype=torch.float64))


def test_make_core_rejects_unknown_name_and_bad_sizes():
    with pytest.raises(ValueError) as err:
        make_core("nope", D, H)
    for name in CORE_NAMES:
        assert name in str(err.value)
    for bad in (0, -3, 2.5, True, "8"):
        with pytest.raises(ValueError, match="input_dim"):
            make_core(CORE_NAMES[0], bad, H)
        with pytest.raises(ValueError, match="hidden_dim"):
            make_core(CORE_NAMES[0], D, bad)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_make_core_rejects_unknown_kwargs(name):
    with pytest.raises(ValueError, match="not_a_kwarg"):
        make_core(name, D, H, not_a_kwarg=1)


def test_builtin_cores_registered():
    assert {"gru", "lstm", "mamba2", "pseudo_mamba"} <= set(CORE_NAMES)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_readings_are_a_per_call_return_value(name, graph_tensors_on):
    """Readings come back from the call that made them: named in READINGS, (T, B, ...), only the
    gate with a graph; a later forward leaves them unchanged and no graph stays on the module."""
    from memory_agents.cores import READINGS

    core = build(name, torch.float32)
    T, B = 6, 3
    x = torch.randn(T, B, D, requires_grad=True)
    starts = torch.rand(T, B) < 0.3
    out = core(x, None, starts)
    assert len(out) == 2  # the plain call is the contract's (y, state)
    y, _, readings = core(x, None, starts, return_readings=True)
    assert set(readings) <= set(READINGS)
    for key, value in readings.items():
        assert value.shape[:2] == (T, B), key
        assert (value.grad_fn is not None) == (key == "gate"), key  # only the gate keeps its graph
    kept = {k: v.detach().clone() for k, v in readings.items()}
    core(torch.randn(T, B, D), None, return_readings=True)  # a later forward on other inputs
    for key, value in readings.items():
        assert torch.equal(value.detach(), kept[key]), key
    del y, readings
    assert not hasattr(core, "aux")
    assert graph_tensors_on(core) == []


def test_return_readings_must_be_a_bool():
    core = build("gru", torch.float32)
    with pytest.raises(TypeError, match="return_readings must be a bool, got 'yes'"):
        core(torch.randn(2, 1, D), return_readings="yes")
