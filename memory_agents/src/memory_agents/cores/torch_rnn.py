"""Shared sequence logic for the cores built on torch's fused nn.GRU / nn.LSTM."""
from __future__ import annotations

import torch
from torch import nn

from .base import MemoryCore, State, check_positive_int, reset_segments


class FusedRNNCore(MemoryCore):
    """A torch fused RNN (cuDNN on CUDA) with per-row episode resets.

    The sequence is cut only at steps where some row resets (``reset_segments``); each
    segment runs as one fused call after the flagged rows' state is zeroed. With rare
    resets this is one or a few fused calls; with a reset at every step it degrades to
    T single-step calls, which is still exact.
    """

    rnn_cls: type[nn.RNNBase]
    n_state_tensors: int

    def __init__(self, input_dim: int, hidden_dim: int, num_layers: int = 1):
        super().__init__(input_dim, hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.rnn = self.rnn_cls(input_dim, hidden_dim, num_layers=self.num_layers)

    def state_shapes(self):
        return ((self.num_layers, self.hidden_dim),) * self.n_state_tensors

    def _run_fused(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        # nn.RNN wants (layers, B, H); the contract keeps batch first.
        h = tuple(s.transpose(0, 1).contiguous() for s in state)
        y, h_n = self.rnn(x, h[0] if self.n_state_tensors == 1 else h)
        h_n = (h_n,) if self.n_state_tensors == 1 else tuple(h_n)
        return y, tuple(s.transpose(0, 1).contiguous() for s in h_n)

    def _forward(self, x, state, starts):
        ys = []
        for t0, t1 in reset_segments(starts):
            state = self.reset_state(state, starts[t0])
            y, state = self._run_fused(x[t0:t1], state)
            ys.append(y)
        y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=0)
        self.aux = {"state_norm": y.detach().norm(dim=-1)}
        return y, state

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_layers={self.num_layers}"
