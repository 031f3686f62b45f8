"""PseudoMode slot memory beside a controller: the one implementation shared by the slot cores.

A subclass supplies the controller (a GRU cell in ``pseudo_memory``, a Mamba2 block in
``mamba2_memory``) that turns the inputs into controller outputs ``h_t``; this class keeps K
key-value slots and, per step (all rows at once)::

    a      = softmax(keys @ W_q h / sqrt(key size))           # read by key, (B, K)
    r      = a @ values                                       # read vector
    g      = sigmoid(w_g . [h, x_t] + b_g)                    # write gate, (B, 1)
    v      = tanh(W_v [h, x_t])                               # what to write: [key, value]
    w      = onehot(argmin(usage))                            # least-used slot
    slots  = slots + g * w (v - slots)                        # g = 1 overwrites that slot
    usage  = usage_decay * usage + a + g * w                  # usage_rule "recency" (the default)
    usage  = usage + g * w (g - usage)                        # usage_rule "strength"
    y_t    = W_o [h, r]

A slot is ``[key (key_dim), value (slot_dim)]``, written and blended as one vector. With
``key_dim=0`` the key is the value itself (content-based read): a slot is then found only if
what it holds lines up with the query, so cues whose values do not are read unequally (a
DelayedCue agent read some cues' slot fully and another's no more than any other slot: README,
"Mamba2 + slot memory"). A separate key lets the write say *where* a cue is apart from *what*
it is.

Reads use the slots as they were before this step's write. The slot choice is discrete (argmin,
first index on ties); the write is differentiable in g and v, so the gate can be trained and
penalised: the reading ``"gate"`` (T, B, 1) keeps its graph for a sparsity term, ``"attention"``
(T, B, K) and ``"memory_norm"`` (T, B, norm of the slots) are detached (``base.READINGS``).

Usage rules. "recency": usage decays, so a slot that is neither read nor written becomes the
next one to be overwritten, however strongly it was written: a cue written once and not read
until much later is overwritten by the small writes of a nearly shut gate, a fraction g at a
time, about every K steps (``benchmarks/cue_retention_probe.py``, slot retention). "strength":
usage is the strength of the writes a slot holds, blended toward each new write's gate exactly as
the slot's content is blended toward the new value; neither time nor reads lower it, so weak
writes keep landing on weakly written slots and a strongly written slot is overwritten only
when no slot holds weaker content.
Write-gate initialisation. With the gate's default bias (g about 0.5 at every step) each blank
step overwrites half of a slot, so a write is gone after a few rewrites of its slot: at
initialisation almost nothing of a token reaches a recall 50 steps later, and nothing 300 steps
later, so no gradient can teach the gate to shut in between (``benchmarks/cue_retention_probe.py``,
``pseudo_memory`` against ``pseudo_memory max=D``). ``max_timescale=T`` sets the gate's initial
bias to logit(K / T): each slot is then rewritten about once over T steps at the initial gates,
the gate strength that keeps the most of a write after T steps (g (1 - g)^(T g / K) is largest
at g = K / T). MemoryPPO sets T to the task's memory span, as it sets the recurrent cores' chrono
timescales.
State: the controller's tensors, then ``slots`` (B, K, key_dim + slot_dim) and ``usage`` (B, K).
The controller does not read the slots, so it may run over the whole sequence at once (a
parallel scan); only the slot loop is sequential, because the write slot depends on past usage.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..validation import check_choice, check_float
from .base import MemoryCore, State, check_positive_int

USAGE_RULES = ("recency", "strength")


class SlotMemoryCore(MemoryCore):
    """Base class of the slot-memory cores (see module docstring).

    Subclasses build their controller, then call ``_build_memory(controller_dim)``, and implement
    ``controller_state_shapes`` and ``_controller``.

    Args:
        num_slots: number of memory slots K.
        slot_dim: size of each slot (None: hidden_dim).
        usage_decay: per-step decay of slot usage, in [0, 1) (usage_rule "recency").
        usage_rule: "recency" (decayed reads and writes) or "strength" (the write strength a
            slot holds; see module docstring).
        key_dim: size of each slot's key (0: the read compares the query with the values).
        max_timescale: the span, in steps, a write must survive at initialisation (None: the
            gate's default bias); sets the write gate's bias to logit(min(1/2, K / max_timescale)).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        num_slots: int = 8,
        slot_dim: int | None = None,
        usage_decay: float = 0.9,
        usage_rule: str = "recency",
        key_dim: int = 0,
        max_timescale: int | None = None,
    ):
        super().__init__(input_dim, hidden_dim)
        self.num_slots = check_positive_int("num_slots", num_slots)
        self.slot_dim = check_positive_int("slot_dim", hidden_dim if slot_dim is None else slot_dim)
        self.usage_decay = check_float("usage_decay", usage_decay, 0.0, 1.0, high_open=True)
        self.usage_rule = check_choice("usage_rule", usage_rule, USAGE_RULES)
        self.key_dim = check_positive_int("key_dim", key_dim, 0)
        self.max_timescale = (
            None if max_timescale is None else check_positive_int("max_timescale", max_timescale, 2)
        )

    def _build_memory(self, controller_dim: int) -> None:
        """The read query, write gate, write value and output layers (after the controller's)."""
        Hc, Dm = controller_dim, self.slot_dim
        self.query = nn.Linear(Hc, self.key_dim or Dm, bias=False)
        self.gate = nn.Linear(Hc + self.input_dim, 1)
        self.write = nn.Linear(Hc + self.input_dim, self.key_dim + Dm)
        self.out = nn.Linear(Hc + Dm, self.hidden_dim)
        if self.max_timescale is not None:
            g0 = min(0.5, self.num_slots / self.max_timescale)
            with torch.no_grad():
                self.gate.bias.fill_(math.log(g0 / (1 - g0)))

    # ----------------------------------------------------------------- to implement
    def controller_state_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-row shapes of the controller's state tensors."""
        raise NotImplementedError

    def _controller(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Controller outputs (T, B, controller_dim) and its final state, with the rows flagged in
        ``starts`` (T, B) reset before their step."""
        raise NotImplementedError

    # ----------------------------------------------------------------- provided
    def state_shapes(self):
        return (
            *self.controller_state_shapes(),
            (self.num_slots, self.key_dim + self.slot_dim),
            (self.num_slots,),
        )

    def _memory_step(self, h, x_t, slots, usage):
        """One read / gated write; returns y, slots, usage, the gate (B, 1) and the read attention (B, K)."""
        keys = slots[..., : self.key_dim] if self.key_dim else slots
        q = self.query(h)
        attn = torch.softmax(torch.einsum("bkd,bd->bk", keys, q) / math.sqrt(q.shape[-1]), dim=-1)
        read = torch.einsum("bk,bkd->bd", attn, slots[..., self.key_dim :])
        hx = torch.cat([h, x_t], dim=-1)
        g = torch.sigmoid(self.gate(hx))  # (B, 1)
        v = torch.tanh(self.write(hx))  # (B, Dm)
        w = F.one_hot(usage.argmin(dim=-1), self.num_slots).to(x_t.dtype)  # (B, K)
        gw = g * w
        slots = slots + gw.unsqueeze(-1) * (v.unsqueeze(1) - slots)
        # usage only chooses the slot (argmin has no gradient): keep it out of the graph
        if self.usage_rule == "recency":
            usage = self.usage_decay * usage + (attn + gw).detach()
        else:
            usage = usage + (gw * (g - usage)).detach()
        y = self.out(torch.cat([h, read], dim=-1))
        return y, slots, usage, g, attn

    def _forward(self, x, state, starts):
        n = len(state) - 2
        hs, controller_state = self._controller(x, tuple(state[:n]), starts)
        slots, usage = state[n:]
        ys, gates, attns, norms = [], [], [], []
        any_start = starts.any(dim=1).tolist()
        for t in range(x.shape[0]):
            if any_start[t]:  # the initial slots and usage are zeros
                keep = ~starts[t]
                slots = torch.where(keep[:, None, None], slots, torch.zeros_like(slots))
                usage = torch.where(keep[:, None], usage, torch.zeros_like(usage))
            y_t, slots, usage, g, attn = self._memory_step(hs[t], x[t], slots, usage)
            ys.append(y_t)
            gates.append(g)
            attns.append(attn.detach())
            norms.append(slots.detach().flatten(1).norm(dim=1))
        readings = {
            "gate": torch.stack(gates),
            "attention": torch.stack(attns),
            "memory_norm": torch.stack(norms),
        }
        return torch.stack(ys), (*controller_state, slots, usage), readings

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, num_slots={self.num_slots}, slot_dim={self.slot_dim}, "
            f"usage_decay={self.usage_decay}, usage_rule={self.usage_rule!r}, key_dim={self.key_dim}, "
            f"max_timescale={self.max_timescale}"
        )
