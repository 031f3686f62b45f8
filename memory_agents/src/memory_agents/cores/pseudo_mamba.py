"""Pseudo-Mamba core: a cheap selective diagonal linear recurrence, the fast baseline.

    a_t = sigmoid(W_a x_t + b_a)           input-dependent decay per channel
    h_t = a_t * h_{t-1} + (1 - a_t) * (W_u x_t)
    y_t = sigmoid(W_o x_t + b_o) * h_t     output gate

State ``(h,)`` with h of shape (B, H). Readings: ``"gate"`` = 1 - a_t, the write gate, and
``"state_norm"``, the norm of h_t.
The decay biases are spread so channels start with time constants log-spaced from
``min_timescale`` to ``max_timescale`` steps (MemoryPPO raises the latter for long horizons).

Sequence path: a chunked parallel (Hillis-Steele) scan in PyTorch (any device and dtype) or,
on CUDA, a Triton scan kernel with its own backward (``triton_scan.py``), same numbers.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .base import MemoryCore, check_positive_int, register_core

BACKENDS = ("auto", "torch", "triton")
#: Longest initial decay time when no horizon is given.
DEFAULT_MAX_TIMESCALE = 1000.0
#: With a horizon, the longest decay time is this many horizons: the log-spaced decays lose
#: little by reaching past the horizon and keep more of a cue at it (cue_retention_probe.py).
HORIZON_FACTOR = 4


def chunked_linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` (resets are steps with ``a_t = 0``).

    a, b: (T, B, H) with a in [0, 1]; h0: (B, H). Returns (T, B, H).
    Inside each chunk a Hillis-Steele prefix scan of the associative pairs (a, b) runs in
    log2(chunk_size) vectorised steps; the chunks are then chained by a loop of T / chunk_size
    steps that adds each chunk's decayed entering state. Only products of decays in [0, 1] and
    sums appear (no division, no exp of a cumulative sum), so it is stable for any decay.
    """
    T, Bsz, H = b.shape
    L = min(int(chunk_size), T)
    pad = (-T) % L
    if pad:  # padded steps: decay 1, input 0
        a = F.pad(a, (0, 0, 0, 0, 0, pad), value=1.0)
        b = F.pad(b, (0, 0, 0, 0, 0, pad))
    nc = (T + pad) // L
    A = a.reshape(nc, L, Bsz, H)
    S = b.reshape(nc, L, Bsz, H)
    d = 1
    while (
        d < L
    ):  # after this loop: S[c, i] = state at i from a zero start of chunk c, A[c, i] = decay since it
        S = torch.cat([S[:, :d], torch.addcmul(S[:, d:], A[:, d:], S[:, :-d])], dim=1)
        A = torch.cat([A[:, :d], A[:, d:] * A[:, :-d]], dim=1)
        d *= 2
    h = h0
    out = []
    for c in range(nc):
        hc = torch.addcmul(S[c], A[c], h)
        out.append(hc)
        h = hc[-1]
    return torch.cat(out, dim=0)[:T]


@functools.lru_cache(maxsize=1)
def load_triton_scan():
    """The Triton scan, or None where triton cannot be imported."""
    try:
        from .triton_scan import triton_linear_scan
    except Exception:  # noqa: BLE001 - no triton: use the PyTorch scan
        return None
    return triton_linear_scan


@register_core("pseudo_mamba")
class PseudoMambaCore(MemoryCore):
    """Selective diagonal linear recurrence (see module docstring).

    Args:
        chunk_size: chunk length of the PyTorch scan (log2(chunk_size) parallel steps, T / chunk_size serial ones).
        backend: "auto" (Triton on CUDA when available, else PyTorch) | "torch" | "triton".
        min_timescale, max_timescale: range of the initial decay time constants 1 / (1 - a);
            max_timescale None means DEFAULT_MAX_TIMESCALE; ``base.horizon_defaults`` raises it
            for long horizons (``horizon_timescale``).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        chunk_size: int = 16,
        backend: str = "auto",
        min_timescale: float = 2.0,
        max_timescale: float | None = None,
    ):
        super().__init__(input_dim, hidden_dim)
        if max_timescale is None:
            max_timescale = DEFAULT_MAX_TIMESCALE
        self.chunk_size = check_positive_int("chunk_size", chunk_size)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not 1.0 < min_timescale <= max_timescale:
            raise ValueError(
                f"timescales must satisfy 1 < min_timescale <= max_timescale, "
                f"got {min_timescale}, {max_timescale}"
            )
        self.backend = backend
        self.last_backend: str | None = None
        self.in_proj = nn.Linear(input_dim, 3 * hidden_dim)
        # Decay bias: a = 1 - 1/tau with tau log-spaced, i.e. bias = logit(1 - 1/tau) = log(tau - 1).
        tau = torch.logspace(
            torch.log10(torch.tensor(min_timescale)), torch.log10(torch.tensor(max_timescale)), hidden_dim
        )
        with torch.no_grad():
            self.in_proj.bias[hidden_dim : 2 * hidden_dim] = torch.log(tau - 1)

    @classmethod
    def horizon_timescale(cls, horizon: int) -> int | None:
        """HORIZON_FACTOR horizons where that exceeds DEFAULT_MAX_TIMESCALE, else None (the default)."""
        timescale = HORIZON_FACTOR * int(horizon)
        return timescale if timescale > DEFAULT_MAX_TIMESCALE else None

    def state_shapes(self):
        return ((self.hidden_dim,),)

    def _use_triton(self, x: torch.Tensor) -> bool:
        if self.backend == "torch":
            return False
        if self.backend == "triton":
            if not x.is_cuda or load_triton_scan() is None:
                raise ValueError(f"backend='triton' needs triton and a CUDA input, got device {x.device}")
            return True
        return x.is_cuda and load_triton_scan() is not None

    def _forward(self, x, state, starts):
        (h0,) = state
        u, za, zo = self.in_proj(x).chunk(3, dim=-1)
        gate = torch.sigmoid(-za)  # 1 - a, computed without cancellation
        b = gate * u
        a = torch.sigmoid(za) * (~starts).to(x.dtype)[..., None]  # a reset is a zero decay
        if self._use_triton(x):
            self.last_backend = "triton"
            hs = load_triton_scan()(a, b, h0)
        else:
            self.last_backend = "torch"
            hs = chunked_linear_scan(a, b, h0, self.chunk_size)
        y = torch.sigmoid(zo) * hs
        return y, (hs[-1],), {"gate": gate, "state_norm": hs.detach().norm(dim=-1)}

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, chunk_size={self.chunk_size}, backend={self.backend!r}"
