"""MPN core: the Hebbian recurrence matches a hand-written numpy loop; lambda stays below lambda_max."""

import numpy as np
import pytest
import torch
from memory_agents.cores import make_core
from memory_agents.cores.mpn import MPNCore

torch.set_num_threads(1)


def numpy_mpn(W, b, x, starts, eta, lam, act=np.tanh):
    """Reference: h_t = act(b + (W * (1 + M)) x_t), M <- lam * M + eta * h_t x_t^T, M = 0 at starts."""
    T, B, D = x.shape
    M = np.zeros((B, W.shape[0], D))
    ys, Ms = [], []
    for t in range(T):
        M[starts[t]] = 0.0
        h = act(b + np.einsum("hd,bhd,bd->bh", W, 1.0 + M, x[t]))
        M = lam * M + eta * h[:, :, None] * x[t][:, None, :]
        ys.append(h)
        Ms.append(M.copy())
    return np.stack(ys), np.stack(Ms)


@pytest.mark.parametrize("plastic_bias", [False, True])
@pytest.mark.parametrize("activation,act", [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0.0))])
def test_hebbian_matrix_follows_formula(activation, act, plastic_bias):
    torch.manual_seed(0)
    T, B, D, H = 12, 3, 4, 5
    # eta and lambda are exact in float32, so the float64 comparison can be tight
    core = make_core(
        "mpn", D, H, eta=0.25, lambda_=0.75, activation=activation, plastic_bias=plastic_bias
    ).double()
    x = torch.randn(T, B, D, dtype=torch.float64)
    starts = torch.rand(T, B) < 0.2
    x_syn = np.concatenate([x.numpy(), np.ones((T, B, 1))], -1) if plastic_bias else x.numpy()
    assert core.state_shapes() == ((H, D + plastic_bias),)
    y_ref, M_ref = numpy_mpn(
        core.W.detach().numpy(), core.b.detach().numpy(), x_syn, starts.numpy(), eta=0.25, lam=0.75, act=act
    )
    y, (M,) = core(x, None, starts)
    np.testing.assert_allclose(y.detach().numpy(), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(M.detach().numpy(), M_ref[-1], rtol=1e-12, atol=1e-12)
    # step by step, the carried state is M_t after every step
    state = core.initial_state(B)
    for t in range(T):
        _, state, readings = core(x[t : t + 1], state, starts[t : t + 1], return_readings=True)
        np.testing.assert_allclose(state[0].detach().numpy(), M_ref[t], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        readings["state_norm"].numpy()[0], np.linalg.norm(M_ref[-1].reshape(B, -1), axis=1)
    )


def test_memory_lives_in_M_and_decays_with_lambda():
    """A pattern seen once changes later responses; with zero input M only decays by lambda per step."""
    torch.manual_seed(1)
    core = make_core("mpn", 6, 8, eta=0.5, lambda_=0.875, plastic_bias=False).double()
    cue = torch.randn(1, 1, 6, dtype=torch.float64)
    _, state = core(cue)
    M0 = state[0].clone()
    _, state = core(torch.zeros(5, 1, 6, dtype=torch.float64), state)
    torch.testing.assert_close(state[0], 0.875**5 * M0)
    probe = cue
    y_mem, _ = core(probe, state)
    y_fresh, _ = core(probe)
    assert (y_mem - y_fresh).abs().max() > 1e-3


def delayed_recall_batch(B: int, delay: int, g: torch.Generator):
    """One-hot channels: cue (+-1) at t=0, noise on its own channel, recall flag at the last step."""
    cue = torch.randint(0, 2, (B,), generator=g)
    x = torch.zeros(delay + 2, B, 3)
    x[0, :, 0] = cue * 2.0 - 1.0
    x[1:-1, :, 2] = torch.randn(delay, B, generator=g)
    x[-1, :, 1] = 1.0
    return x, cue


def test_without_plastic_bias_a_cue_on_another_channel_is_unreachable():
    """M only modulates the synapses of inputs active now: the recall step cannot see the cue."""
    torch.manual_seed(3)
    core = make_core("mpn", 3, 8, plastic_bias=False, eta=0.5)
    x, cue = delayed_recall_batch(64, 5, torch.Generator().manual_seed(0))
    y, _ = core(x)
    assert (y[-1] - y[-1, :1]).abs().max() == 0  # identical for every cue and noise history


def train_last_step_classifier(core, head, batches, lr: float, steps: int) -> None:
    """Adam on the cross-entropy of ``head(core output at the last step)``; batches() -> (x, label)."""
    opt = torch.optim.Adam([*core.parameters(), *head.parameters()], lr=lr)
    for _ in range(steps):
        x, label = batches()
        loss = torch.nn.functional.cross_entropy(head(core(x)[0][-1]), label)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_learns_delayed_recall_with_plastic_bias():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    core = make_core("mpn", 3, 16)
    head = torch.nn.Linear(16, 2)
    train_last_step_classifier(core, head, lambda: delayed_recall_batch(32, 10, g), lr=1e-2, steps=200)
    x, cue = delayed_recall_batch(512, 10, g)
    with torch.no_grad():
        accuracy = (head(core(x)[0][-1]).argmax(-1) == cue).float().mean().item()
    assert accuracy > 0.9, f"delayed recall accuracy {accuracy:.3f} (chance 0.5)"


def delayed_cue_inputs(cues: torch.Tensor, num_cues: int, delay: int) -> torch.Tensor:
    """MemoryGym DelayedCue observations: [cue_flag, query_flag, one-hot cue], all zero in the delay."""
    x = torch.zeros(delay + 2, cues.shape[0], 2 + num_cues)
    x[0, :, 0] = 1.0
    x[0, torch.arange(cues.shape[0]), 2 + cues] = 1.0
    x[-1, :, 1] = 1.0
    return x


def test_default_core_carries_the_cue_to_the_query_step_at_init():
    """The read-out of M scales with eta: at the old default eta=0.1 the query-step output moved by
    ~1% of its norm between cues (MemoryPPO stayed at chance on DelayedCue); at eta=1.0 by ~20%."""
    rel = []
    for seed in range(5):
        torch.manual_seed(seed)
        core = make_core("mpn", 6, 64)
        with torch.no_grad():
            yq = core(delayed_cue_inputs(torch.arange(4), 4, 10))[0][-1]  # (4 cues, H)
        pair_dist = torch.cdist(yq, yq).sum() / (4 * 3)
        rel.append(float(pair_dist / yq.norm(dim=1).mean()))
    assert sum(rel) / len(rel) > 0.1, rel


def test_learns_delayed_cue_recall_at_ppo_learning_rate():
    """4 cues, 10 blank steps, Adam lr 2e-3 (MemoryPPO's README setting): eta=1.0 needs ~50 steps,
    eta=0.1 was still at chance (0.21-0.26) after 100."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    core = make_core("mpn", 6, 64)
    head = torch.nn.Linear(64, 4)

    def batches():
        cues = torch.randint(0, 4, (64,), generator=g)
        return delayed_cue_inputs(cues, 4, 10), cues

    train_last_step_classifier(core, head, batches, lr=2e-3, steps=100)
    cues = torch.randint(0, 4, (512,), generator=g)
    with torch.no_grad():
        accuracy = (
            (head(core(delayed_cue_inputs(cues, 4, 10))[0][-1]).argmax(-1) == cues).float().mean().item()
        )
    assert accuracy > 0.9, f"delayed cue accuracy {accuracy:.3f} (chance 0.25)"


def test_m_bound_clamps_the_hebbian_matrix():
    torch.manual_seed(4)
    x = 3.0 * torch.randn(15, 4, 3, dtype=torch.float64)
    free = make_core("mpn", 3, 5, eta=1.0, lambda_=0.9).double()
    bounded = make_core("mpn", 3, 5, eta=1.0, lambda_=0.9, m_bound=0.5).double()
    bounded.load_state_dict(free.state_dict())
    _, (M_free,) = free(x)
    assert M_free.abs().max() > 0.5  # the bound is active in this run
    y, (M,) = bounded(x)
    assert M.abs().max() <= 0.5
    # same numbers as the update written out with a clamp after each step
    W, b = bounded.W.detach(), bounded.b.detach()
    M_ref = torch.zeros(4, 5, 4, dtype=torch.float64)
    for t in range(15):
        x_t = torch.cat([x[t], torch.ones(4, 1, dtype=torch.float64)], 1)
        h = torch.tanh(b + torch.einsum("hd,bhd,bd->bh", W, 1.0 + M_ref, x_t))
        M_ref = (0.9 * M_ref + h[:, :, None] * x_t[:, None, :]).clamp(-0.5, 0.5)
        torch.testing.assert_close(y[t].detach(), h)
    torch.testing.assert_close(M.detach(), M_ref)


def test_learned_lambda_stays_below_lambda_max():
    torch.manual_seed(2)
    core = make_core("mpn", 4, 6, lambda_=0.85, lambda_max=0.9, learn_lambda=True, learn_eta=True)
    names = {n for n, _ in core.named_parameters()}
    assert {"lambda_raw", "eta_param"} <= names
    opt = torch.optim.Adam(
        core.parameters(), lr=1.0
    )  # large steps: lambda would pass the bound if unconstrained
    x = torch.randn(20, 8, 4)
    lam0 = float(core.lambda_.detach())
    for _ in range(30):
        _, (M,) = core(x)
        loss = -M.pow(2).mean()  # rewards long memory: pushes lambda up
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert float(core.lambda_.detach()) < 0.9
    assert float(core.lambda_.detach()) > lam0 + 0.04
    assert torch.isfinite(M).all()


def test_fixed_eta_and_lambda_are_buffers_not_parameters():
    core = make_core("mpn", 3, 4)
    names = {n for n, _ in core.named_parameters()}
    assert names == {"W", "b"}
    assert float(core.eta) == pytest.approx(1.0) and float(core.lambda_) == pytest.approx(0.95)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"lambda_": 0.95, "lambda_max": 0.9}, "lambda_ must be in"),
        ({"lambda_": 0.0, "learn_lambda": True}, "lambda_ must be in"),
        ({"lambda_max": 1.5}, "lambda_max must be in"),
        ({"eta": float("nan")}, "eta must be a finite"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"m_bound": 0.0}, "m_bound must be > 0"),
        ({"m_bound": float("inf")}, "m_bound must be a finite"),
    ],
)
def test_bad_kwargs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MPNCore(3, 4, **kwargs)
