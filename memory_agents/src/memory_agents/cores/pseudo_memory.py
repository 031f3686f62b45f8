"""PseudoMode memory core: K key-value slots beside a small GRU controller, with a gated write.

Per step (all rows at once)::

    h      = GRUCell(x_t, h)                                  # controller
    a      = softmax(slots @ W_q h / sqrt(slot_dim))          # content-based read, (B, K)
    r      = a @ slots                                        # read vector
    g      = sigmoid(w_g . [h, x_t] + b_g)                    # write gate, (B, 1)
    v      = tanh(W_v [h, x_t])                               # what to write
    w      = onehot(argmin(usage))                            # least-used slot
    slots  = slots + g * w (v - slots)                        # g = 1 overwrites that slot
    usage  = usage_decay * usage + a + g * w                  # read or written slots count as used
    y_t    = W_o [h, r]

Reads use the slots as they were before this step's write. The slot choice is discrete (argmin,
first index on ties); the write is differentiable in g and v, so the gate can be trained and
penalised: ``aux["gate"]`` (T, B, 1) keeps its graph for a sparsity term, ``aux["attention"]``
(T, B, K) and ``aux["state_norm"]`` (T, B, norm of the slots) are detached. Usage decays, so a
slot that is neither read nor written becomes the next one to be overwritten.
State: ``(h, slots, usage)`` of shapes (B, controller_dim), (B, K, slot_dim), (B, K).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .base import MemoryCore, check_positive_int, register_core


@register_core("pseudo_memory")
class PseudoMemoryCore(MemoryCore):
    """Slot memory with a least-used, sigmoid-gated write (see module docstring).

    Args:
        num_slots: number of memory slots K. Default 8.
        slot_dim: size of each slot (None: hidden_dim).
        controller_dim: size of the GRU controller state (None: hidden_dim).
        usage_decay: per-step decay of slot usage, in [0, 1). Default 0.9.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        num_slots: int = 8,
        slot_dim: int | None = None,
        controller_dim: int | None = None,
        usage_decay: float = 0.9,
    ):
        super().__init__(input_dim, hidden_dim)
        self.num_slots = check_positive_int("num_slots", num_slots)
        self.slot_dim = check_positive_int("slot_dim", hidden_dim if slot_dim is None else slot_dim)
        self.controller_dim = check_positive_int(
            "controller_dim", hidden_dim if controller_dim is None else controller_dim
        )
        if (
            isinstance(usage_decay, bool)
            or not isinstance(usage_decay, (int, float))
            or not 0.0 <= usage_decay < 1.0
        ):
            raise ValueError(f"usage_decay must be a number in [0, 1), got {usage_decay!r}")
        self.usage_decay = float(usage_decay)
        Hc, Dm = self.controller_dim, self.slot_dim
        self.controller = nn.GRUCell(input_dim, Hc)
        self.query = nn.Linear(Hc, Dm, bias=False)
        self.gate = nn.Linear(Hc + input_dim, 1)
        self.write = nn.Linear(Hc + input_dim, Dm)
        self.out = nn.Linear(Hc + Dm, hidden_dim)

    def state_shapes(self):
        return ((self.controller_dim,), (self.num_slots, self.slot_dim), (self.num_slots,))

    def _read_write(self, x_t, state):
        """One step; also returns the gate (B, 1) and the read attention (B, K) for ``aux``."""
        h, slots, usage = state
        h = self.controller(x_t, h)
        q = self.query(h)
        attn = torch.softmax(torch.einsum("bkd,bd->bk", slots, q) / math.sqrt(self.slot_dim), dim=-1)
        read = torch.einsum("bk,bkd->bd", attn, slots)
        hx = torch.cat([h, x_t], dim=-1)
        g = torch.sigmoid(self.gate(hx))  # (B, 1)
        v = torch.tanh(self.write(hx))  # (B, Dm)
        w = F.one_hot(usage.argmin(dim=-1), self.num_slots).to(x_t.dtype)  # (B, K)
        gw = g * w
        slots = slots + gw.unsqueeze(-1) * (v.unsqueeze(1) - slots)
        # usage only chooses the slot (argmin has no gradient): keep it out of the graph
        usage = self.usage_decay * usage + (attn + gw).detach()
        y = self.out(torch.cat([h, read], dim=-1))
        return y, (h, slots, usage), g, attn

    def _step(self, x_t, state):
        y, state, _, _ = self._read_write(x_t, state)
        return y, state

    def _forward(self, x, state, starts):
        # Inherently sequential (the write slot depends on past usage); each step is batched over B.
        ys, gates, attns, norms = [], [], [], []
        any_start = starts.any(dim=1).tolist()
        for t in range(x.shape[0]):
            if any_start[t]:
                state = self.reset_state(state, starts[t])
            y_t, state, g, attn = self._read_write(x[t], state)
            ys.append(y_t)
            gates.append(g)
            attns.append(attn.detach())
            norms.append(state[1].detach().flatten(1).norm(dim=1))
        self.aux = {
            "gate": torch.stack(gates),
            "attention": torch.stack(attns),
            "state_norm": torch.stack(norms),
        }
        return torch.stack(ys), state

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, num_slots={self.num_slots}, slot_dim={self.slot_dim}, "
            f"controller_dim={self.controller_dim}, usage_decay={self.usage_decay}"
        )
