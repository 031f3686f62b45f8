"""MPN core: a multi-plasticity network (Aitken & Mihalas) with a Hebbian fast-weight state.

One layer whose weights W are learned by backprop and modulated multiplicatively by a
Hebbian matrix M that is updated in the forward pass, so memory lives in the synapses, not in
recurrent activity::

    h_t = act(b + (W * (1 + M_{t-1})) x_t)        # * is element-wise
    M_t = lambda * M_{t-1} + eta * h_t x_t^T

The state is ``(M,)`` with M of shape (B, hidden_dim, input_dim + plastic_bias); y_t = h_t.

``plastic_bias=True`` (default) appends a constant 1 to x_t, so one column of W (a bias) is
plastic as well: that column of M becomes a decaying trace of past h which every step reads.
Without it, M only modulates the synapses of inputs active *now*, so with one-hot observations
a cue seen on one channel cannot be recalled when a different channel is on (a delayed-recall
probe stays at chance); with it the same probe is learned (tests/cores/test_mpn.py).
By default M is not clamped: with ``activation="tanh"`` (|h| <= 1) it stays bounded by
``|eta| * max|x| / (1 - lambda)``; that is why lambda is kept strictly below ``lambda_max <= 1``.
``m_bound=c`` clamps M to [-c, c] after every update, as the MPN paper's modulation bounds do
(c=1: a synapse can at most double or vanish).

Default eta is 1.0 (the MPN work's initial eta), not a small rate: the cue reaches a later step
only through ``W * M`` with ``M ~ eta * h * x``, so the memory read-out and its gradient scale with
eta (README, "MPN eta"; benchmarks/mpn_memory_probe.py measures both).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..validation import check_float
from .base import MemoryCore, register_core

_ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
}


_RAW_LIMIT = 15.0  # |logit| bound for a learned lambda: lambda <= lambda_max * sigmoid(15) < lambda_max


@register_core("mpn")
class MPNCore(MemoryCore):
    """Multi-plasticity network: backprop-learned W, Hebbian state M (see module docstring).

    Args:
        eta: Hebbian learning rate (negative = anti-Hebbian). Default 1.0.
        lambda_: decay of M per step, in [0, lambda_max) (in (0, lambda_max) when learned). Default 0.95.
        learn_eta: make eta a trainable scalar (unconstrained).
        learn_lambda: make lambda trainable as ``lambda_max * sigmoid(raw)``, so it never reaches lambda_max.
        lambda_max: upper bound of lambda, in (0, 1]. Default 1.0.
        activation: "tanh" (default), "relu", "sigmoid" or "linear".
        plastic_bias: append a constant 1 input, giving M a column that any step can read. Default True.
        m_bound: clamp M to [-m_bound, m_bound] after each update (the paper's modulation bounds);
            None (default): no clamp.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        eta: float = 1.0,
        lambda_: float = 0.95,
        learn_eta: bool = False,
        learn_lambda: bool = False,
        lambda_max: float = 1.0,
        activation: str = "tanh",
        plastic_bias: bool = True,
        m_bound: float | None = None,
    ):
        super().__init__(input_dim, hidden_dim)
        eta = check_float("eta", eta)
        lam = check_float("lambda_", lambda_)
        lambda_max = check_float("lambda_max", lambda_max)
        if not 0.0 < lambda_max <= 1.0:
            raise ValueError(f"lambda_max must be in (0, 1], got {lambda_max!r}")
        lam_low_ok = lam > 0.0 if learn_lambda else lam >= 0.0
        if not (lam_low_ok and lam < lambda_max):
            interval = "(0, lambda_max)" if learn_lambda else "[0, lambda_max)"
            raise ValueError(
                f"lambda_ must be in {interval} = {interval.replace('lambda_max', str(lambda_max))}"
                f"{' when learn_lambda=True' if learn_lambda else ''}, got {lambda_!r}"
            )
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self._act = _ACTIVATIONS[activation]
        self.learn_eta = bool(learn_eta)
        self.learn_lambda = bool(learn_lambda)
        self.lambda_max = lambda_max
        self.plastic_bias = bool(plastic_bias)
        if m_bound is not None:
            m_bound = check_float("m_bound", m_bound)
            if m_bound <= 0.0:
                raise ValueError(f"m_bound must be > 0 or None, got {m_bound!r}")
        self.m_bound = m_bound
        self.n_syn = input_dim + int(self.plastic_bias)  # presynaptic inputs of the plastic layer

        bound = 1.0 / math.sqrt(self.n_syn)
        self.W = nn.Parameter(torch.empty(hidden_dim, self.n_syn).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(hidden_dim).uniform_(-bound, bound))
        eta_t = torch.tensor(eta)
        if self.learn_eta:
            self.eta_param = nn.Parameter(eta_t)
        else:
            self.register_buffer("eta_param", eta_t)
        if self.learn_lambda:
            p = lam / lambda_max
            self.lambda_raw = nn.Parameter(torch.tensor(math.log(p / (1.0 - p))))
        else:
            self.register_buffer("lambda_raw", torch.tensor(lam))

    @property
    def eta(self) -> torch.Tensor:
        """Current Hebbian learning rate (0-dim tensor)."""
        return self.eta_param

    @property
    def lambda_(self) -> torch.Tensor:
        """Current decay of M (0-dim tensor), always < lambda_max."""
        if self.learn_lambda:
            # the clamp keeps sigmoid < 1 even in float32 (sigmoid(17) rounds to 1.0 there)
            return self.lambda_max * torch.sigmoid(self.lambda_raw.clamp(-_RAW_LIMIT, _RAW_LIMIT))
        return self.lambda_raw

    def state_shapes(self):
        return ((self.hidden_dim, self.n_syn),)

    def _step(self, x_t, state):
        (M,) = state
        if self.plastic_bias:
            x_t = torch.cat([x_t, x_t.new_ones(x_t.shape[0], 1)], dim=1)
        W_eff = self.W * (1.0 + M)  # (B, H, D)
        h = self._act(self.b + torch.einsum("bhd,bd->bh", W_eff, x_t))
        M = self.lambda_ * M + self.eta * h.unsqueeze(2) * x_t.unsqueeze(1)
        if self.m_bound is not None:
            M = M.clamp(-self.m_bound, self.m_bound)
        return h, (M,)

    def _forward(self, x, state, starts):
        # Inherently sequential (h_t needs M_{t-1}); each step is batched over B.
        ys, norms = [], []
        any_start = starts.any(dim=1).tolist()
        for t in range(x.shape[0]):
            if any_start[t]:
                state = self.reset_state(state, starts[t])
            y_t, state = self._step(x[t], state)
            ys.append(y_t)
            norms.append(state[0].detach().flatten(1).norm(dim=1))
        return torch.stack(ys), state, {"state_norm": torch.stack(norms)}

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, activation={self.activation!r}, learn_eta={self.learn_eta}, "
            f"learn_lambda={self.learn_lambda}, lambda_max={self.lambda_max}, plastic_bias={self.plastic_bias}, "
            f"m_bound={self.m_bound}"
        )
