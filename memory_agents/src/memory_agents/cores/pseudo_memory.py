"""PseudoMode memory core: K key-value slots beside a small GRU controller, with a gated write.

Per step the controller is ``h = GRUCell(x_t, h)``; the slot read, the gated least-used write
and the output ``y_t = W_o [h, r]`` are the shared slot memory (``slot_memory.py``).
State: ``(h, slots, usage)`` of shapes (B, controller_dim), (B, K, key_dim + slot_dim), (B, K).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import check_positive_int, register_core
from .slot_memory import SlotMemoryCore


@register_core("pseudo_memory")
class PseudoMemoryCore(SlotMemoryCore):
    """Slot memory with a least-used, sigmoid-gated write and a GRU controller.

    Args:
        num_slots: number of memory slots K. Default 8.
        slot_dim: size of each slot (None: hidden_dim).
        controller_dim: size of the GRU controller state (None: hidden_dim).
        usage_decay: per-step decay of slot usage, in [0, 1). Default 0.9.
        usage_rule: which slot a write goes to, "recency" (default) or "strength" (see ``slot_memory``).
        key_dim: size of each slot's key; 0 (default): the read compares the query with the values.
        max_timescale: the span a write must survive at initialisation (write-gate bias; see
            ``slot_memory``). None: the gate's default bias; MemoryPPO sets the task's memory span.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        num_slots: int = 8,
        slot_dim: int | None = None,
        controller_dim: int | None = None,
        usage_decay: float = 0.9,
        usage_rule: str = "recency",
        key_dim: int = 0,
        max_timescale: int | None = None,
    ):
        super().__init__(
            input_dim, hidden_dim, num_slots, slot_dim, usage_decay, usage_rule, key_dim, max_timescale
        )
        self.controller_dim = check_positive_int(
            "controller_dim", hidden_dim if controller_dim is None else controller_dim
        )
        self.controller = nn.GRUCell(input_dim, self.controller_dim)
        self._build_memory(self.controller_dim)

    def controller_state_shapes(self):
        return ((self.controller_dim,),)

    def _controller(self, x, state, starts):
        (h,) = state
        hs = []
        any_start = starts.any(dim=1).tolist()
        for t in range(x.shape[0]):
            if any_start[t]:
                h = torch.where(starts[t][:, None], torch.zeros_like(h), h)
            h = self.controller(x[t], h)
            hs.append(h)
        return torch.stack(hs), (h,)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, controller_dim={self.controller_dim}"
