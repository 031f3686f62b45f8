"""Mamba2 controller beside a PseudoMode slot memory.

    h_1..T = Mamba2(x_1..T)                       # controller: one Mamba2 block (``mamba2.py``)
    per step: read the slots with h_t, gated least-used write of [h_t, x_t], y_t = W_o [h_t, r_t]

The slot read / write is the shared slot memory (``slot_memory.py``), so the readings ``"gate"``
(for ``gate_coef``), ``"attention"`` and ``"memory_norm"`` mean what they mean for
``pseudo_memory``. The controller does not take the read back as input: that keeps its scan
parallel over the sequence, so on CUDA it runs mamba_ssm's Triton scan (``backend="auto"``) and
elsewhere the chunked PyTorch scan, with the same numbers; what the controller forgets, the
slots keep. State: ``(conv_state, ssm_state, slots, usage)``.
"""

from __future__ import annotations

from .base import check_positive_int, register_core
from .mamba2 import Mamba2Core
from .slot_memory import SlotMemoryCore


@register_core("mamba2_memory")
class Mamba2MemoryCore(SlotMemoryCore):
    """Slot memory with a least-used, sigmoid-gated write and a Mamba2 controller.

    Args:
        num_slots, slot_dim, usage_decay, usage_rule, key_dim: the slot memory (see ``SlotMemoryCore``).
            Its defaults here are ``usage_rule="strength"`` and ``key_dim=16`` (pseudo_memory keeps
            "recency" and content reads): the Mamba2 controller forgets a cue that the slots must
            then hold alone, so a strong write has to survive the small ones ("strength"), and the
            query, the same whatever the cue, must find it whatever its value (a key). README,
            "Mamba2 + slot memory", has the probe and the learning runs.
        controller_dim: model width of the Mamba2 block (None: hidden_dim).
        d_state, d_conv, expand, headdim, ngroups, chunk_size, max_timescale, backend: the
            Mamba2 block's options (see ``Mamba2Core``); ``max_timescale`` also sets the slots'
            write-gate bias (``slot_memory``).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        num_slots: int = 8,
        slot_dim: int | None = None,
        controller_dim: int | None = None,
        usage_decay: float = 0.9,
        usage_rule: str = "strength",
        key_dim: int = 16,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        headdim: int = 16,
        ngroups: int = 1,
        chunk_size: int | None = None,
        max_timescale: int | None = None,
        backend: str = "auto",
    ):
        super().__init__(
            input_dim, hidden_dim, num_slots, slot_dim, usage_decay, usage_rule, key_dim, max_timescale
        )
        self.controller_dim = check_positive_int(
            "controller_dim", hidden_dim if controller_dim is None else controller_dim
        )
        self.controller = Mamba2Core(
            input_dim,
            self.controller_dim,
            d_state=d_state,
            d_conv=d_conv,
            expand=expand,
            headdim=headdim,
            ngroups=ngroups,
            chunk_size=chunk_size,
            max_timescale=max_timescale,
            backend=backend,
        )
        self._build_memory(self.controller_dim)

    @property
    def last_backend(self) -> str | None:
        """The scan backend of the latest forward ("torch" or "triton")."""
        return self.controller.last_backend

    def controller_state_shapes(self):
        return self.controller.state_shapes()

    def _controller(self, x, state, starts):
        return self.controller(x, state, starts)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, controller_dim={self.controller_dim}"
