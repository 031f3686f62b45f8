"""Shared sequence logic for the cores built on torch's fused nn.GRU / nn.LSTM."""

from __future__ import annotations

import torch
from torch import nn

from ..validation import check_int
from .base import MemoryCore, Readings, State, reset_segments


class FusedRNNCore(MemoryCore):
    """A torch fused RNN (cuDNN on CUDA) with per-row episode resets.

    The sequence is cut only at steps where some row resets (``reset_segments``); each
    segment runs as one fused call after the flagged rows' state is zeroed. With rare
    resets this is one or a few fused calls; with a reset at every step it degrades to
    T single-step calls, which is still exact.
    """

    rnn_cls: type[nn.RNNBase]
    n_state_tensors: int
    #: Index (in torch's gate order) of the gate whose bias sets how long the state is kept:
    #: GRU's update gate z (h' = (1 - z) n + z h), LSTM's forget gate f.
    keep_gate: int
    #: LSTM only: the input gate, initialised to minus the forget bias (chrono init).
    input_gate: int | None = None

    def __init__(
        self, input_dim: int, hidden_dim: int, num_layers: int = 1, max_timescale: int | None = None
    ):
        super().__init__(input_dim, hidden_dim)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.max_timescale = None if max_timescale is None else check_int("max_timescale", max_timescale, 2)
        self.rnn = self.rnn_cls(input_dim, hidden_dim, num_layers=self.num_layers)
        if self.max_timescale is not None:
            self._chrono_init(self.max_timescale)

    @torch.no_grad()
    def _chrono_init(self, max_timescale: int) -> None:
        """Chrono initialisation (Tallec & Ollivier 2018): keep-gate biases log(U[1, T - 1]), so the
        units' retention times spread up to ``max_timescale`` steps instead of a few steps; a cue
        then still moves the state, and its gradient still reaches it, T steps later."""
        H = self.hidden_dim
        for layer in range(self.num_layers):
            b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{layer}"), getattr(self.rnn, f"bias_hh_l{layer}")
            bias = torch.log(torch.empty(H).uniform_(1.0, max_timescale - 1.0))
            keep = slice(self.keep_gate * H, (self.keep_gate + 1) * H)
            b_ih[keep], b_hh[keep] = bias, 0.0
            if self.input_gate is not None:
                inp = slice(self.input_gate * H, (self.input_gate + 1) * H)
                b_ih[inp], b_hh[inp] = -bias, 0.0

    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        return ((self.num_layers, self.hidden_dim),) * self.n_state_tensors

    def _run_fused(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        # nn.RNN wants (layers, B, H); the contract keeps batch first.
        h = tuple(s.transpose(0, 1).contiguous() for s in state)
        y, h_n = self.rnn(x, h[0] if self.n_state_tensors == 1 else h)
        h_n = (h_n,) if self.n_state_tensors == 1 else tuple(h_n)
        return y, tuple(s.transpose(0, 1).contiguous() for s in h_n)

    def _forward(
        self, x: torch.Tensor, state: State, starts: torch.Tensor
    ) -> tuple[torch.Tensor, State, Readings]:
        ys = []
        for t0, t1 in reset_segments(starts):
            state = self.reset_state(state, starts[t0])
            y, state = self._run_fused(x[t0:t1], state)
            ys.append(y)
        y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=0)
        return y, state, {"output_norm": y.detach().norm(dim=-1)}

    def extra_repr(self) -> str:
        chrono = f", max_timescale={self.max_timescale}" if self.max_timescale else ""
        return f"{super().extra_repr()}, num_layers={self.num_layers}{chrono}"
