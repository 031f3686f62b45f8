"""Pseudo-Mamba core: a cheap selective diagonal linear recurrence, the fast baseline.

    a_t = sigmoid(W_a x_t + b_a)           input-dependent decay per channel
    h_t = a_t * h_{t-1} + (1 - a_t) * (W_u x_t)
    y_t = sigmoid(W_o x_t + b_o) * h_t     output gate

State ``(h,)`` with h of shape (B, H). ``aux["gate"] = 1 - a_t`` is the write gate.
The decay biases are spread so channels start with time constants from ~2 to ~1000 steps.

Sequence path: a chunked parallel scan in PyTorch (any device and dtype) or, on CUDA, a
Triton scan kernel with its own backward (``triton_scan.py``), same numbers.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .base import MemoryCore, check_positive_int, register_core

BACKENDS = ("auto", "torch", "triton")


def chunked_linear_scan(log_a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, resets: torch.Tensor,
                        chunk_size: int) -> torch.Tensor:
    """All states of ``h_t = exp(log_a_t) * h_{t-1} + b_t`` with ``h_{t-1} := 0`` where ``resets[t]``.

    log_a, b: (T, B, H); h0: (B, H); resets: (T, B) bool. Returns (T, B, H).
    Inside a chunk every state is a weighted sum of the chunk's inputs and the carried state with
    weights ``exp(cumlog_i - cumlog_j)`` for j <= i in the same reset segment: differences of a
    non-increasing cumulative sum, so every weight lies in [0, 1] (no overflow however strong the
    decay). Resets are masks, never log(0). Chunks are chained by a short loop over T / chunk_size.
    """
    T, Bsz, H = b.shape
    L = min(int(chunk_size), T)
    pad = (-T) % L
    if pad:  # padded steps: decay 1, input 0, no reset
        log_a = F.pad(log_a, (0, 0, 0, 0, 0, pad))
        b = F.pad(b, (0, 0, 0, 0, 0, pad))
        resets = F.pad(resets, (0, 0, 0, pad))
    nc = (T + pad) // L
    la = log_a.reshape(nc, L, Bsz, H)
    bc = b.reshape(nc, L, Bsz, H)
    rc = torch.cumsum(resets.reshape(nc, L, Bsz).to(torch.int32), dim=1)  # resets so far in the chunk
    cs = torch.cumsum(la, dim=1)  # (nc, L, B, H)
    causal = torch.ones(L, L, dtype=torch.bool, device=b.device).tril()
    mask = causal[None, :, :, None] & (rc[:, :, None, :] == rc[:, None, :, :])  # (nc, i, j, B)
    diff = cs[:, :, None] - cs[:, None, :]  # (nc, i, j, B, H)
    w = torch.exp(torch.where(mask[..., None], diff, torch.full_like(diff, float("-inf"))))
    local = torch.einsum("cijbh,cjbh->cibh", w, bc)
    carry_w = torch.exp(cs) * (rc == 0)[..., None]  # decay from the chunk start, cut at a reset
    h = h0
    out = []
    for c in range(nc):
        hc = local[c] + carry_w[c] * h
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
        chunk_size: chunk length of the PyTorch scan (its memory is O(T * B * H * chunk_size)).
        backend: "auto" (Triton on CUDA when available, else PyTorch) | "torch" | "triton".
        min_timescale, max_timescale: range of the initial decay time constants 1 / (1 - a).
    """

    def __init__(self, input_dim: int, hidden_dim: int, chunk_size: int = 16, backend: str = "auto",
                 min_timescale: float = 2.0, max_timescale: float = 1000.0):
        super().__init__(input_dim, hidden_dim)
        self.chunk_size = check_positive_int("chunk_size", chunk_size)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not 1.0 < min_timescale <= max_timescale:
            raise ValueError(f"timescales must satisfy 1 < min_timescale <= max_timescale, "
                             f"got {min_timescale}, {max_timescale}")
        self.backend = backend
        self.last_backend: str | None = None
        self.in_proj = nn.Linear(input_dim, 3 * hidden_dim)
        # Decay bias: a = 1 - 1/tau with tau log-spaced, i.e. bias = logit(1 - 1/tau) = log(tau - 1).
        tau = torch.logspace(torch.log10(torch.tensor(min_timescale)), torch.log10(torch.tensor(max_timescale)),
                             hidden_dim)
        with torch.no_grad():
            self.in_proj.bias[hidden_dim:2 * hidden_dim] = torch.log(tau - 1)

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
        log_a = F.logsigmoid(za)
        gate = torch.sigmoid(-za)  # 1 - a, computed without cancellation
        b = gate * u
        if self._use_triton(x):
            self.last_backend = "triton"
            a = torch.exp(log_a) * (~starts).to(x.dtype)[..., None]
            hs = load_triton_scan()(a, b, h0)
        else:
            self.last_backend = "torch"
            hs = chunked_linear_scan(log_a, b, h0, starts, self.chunk_size)
        y = torch.sigmoid(zo) * hs
        self.aux = {"gate": gate, "state_norm": hs.detach().norm(dim=-1)}
        return y, (hs[-1],)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, chunk_size={self.chunk_size}, backend={self.backend!r}"
