"""Mamba2 core: one Mamba2 block (Dao & Gu, 2024) whose recurrent state is carried between calls.

    in_proj(x) -> z, xBC, dt
    xBC -> causal depthwise conv1d (the last d_conv - 1 inputs are state) -> SiLU -> x, B, C
    y = SSD(x, dt = softplus(dt + dt_bias), A = -exp(A_log), B, C) + D * x
    y = RMSNorm(y * silu(z)) -> out_proj

State ``(conv_state, ssm_state)``: conv_state (B, conv_dim, d_conv - 1) holds the raw conv
inputs of the last d_conv - 1 steps; ssm_state (B, nheads, headdim, d_state).

Scan backends (same numbers): ``"torch"`` is the chunked pure-PyTorch scan in ``ssd_scan.py``
(any device, any float dtype); ``"triton"`` is mamba_ssm's ``mamba_chunk_scan_combined``
(CUDA, float32/16/bf16; install the ``mamba`` extra). ``"auto"`` picks Triton where it can run
and falls back silently to PyTorch otherwise.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import sys
import types

import torch
import torch.nn.functional as F
from torch import nn

from .base import MemoryCore, check_positive_int, register_core
from .ssd_scan import ssd_chunk_scan

BACKENDS = ("auto", "torch", "triton")
_TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@functools.lru_cache(maxsize=1)
def load_mamba_chunk_scan():
    """Return mamba_ssm's ``mamba_chunk_scan_combined`` or None when it cannot be imported.

    ``import mamba_ssm`` also loads its compiled selective-scan extension, which a
    ``MAMBA_SKIP_CUDA_BUILD`` install lacks although the Triton SSD kernels (pure Python) are
    there; in that case the package's ``__init__`` is bypassed and only the Triton module is loaded.
    """
    try:
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined

        return mamba_chunk_scan_combined
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        pass
    try:
        spec = importlib.util.find_spec("mamba_ssm")
        if spec is None or not spec.submodule_search_locations:
            return None
        for name in [m for m in sys.modules if m == "mamba_ssm" or m.startswith("mamba_ssm.")]:
            del sys.modules[name]
        pkg = types.ModuleType("mamba_ssm")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__spec__ = spec
        sys.modules["mamba_ssm"] = pkg
        return importlib.import_module("mamba_ssm.ops.triton.ssd_combined").mamba_chunk_scan_combined
    except Exception:  # noqa: BLE001
        sys.modules.pop("mamba_ssm", None)
        return None


def causal_conv_with_state(
    u: torch.Tensor, conv_state: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, resets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Depthwise causal conv over (B, C, T) inputs preceded by the stored (B, C, K-1) history.

    A tap never reaches across a reset of its row (that history counts as zero); the new
    history is the last K-1 inputs, zeroed where they precede the row's latest reset.
    """
    Bsz, Cd, T = u.shape
    K = weight.shape[-1]
    xp = torch.cat([conv_state, u], dim=2)  # (B, C, K-1+T)
    w = weight.reshape(Cd, K)
    has_resets = bool(resets.any())
    if has_resets:
        seg = torch.cumsum(resets.to(torch.int32), dim=1)  # (B, T); history is segment 0
        segp = torch.cat([seg.new_zeros(Bsz, K - 1), seg], dim=1)
    out = bias[None, :, None].expand(Bsz, Cd, T)
    for k in range(K):  # tap k reads time t - (K-1-k)
        term = w[None, :, k, None] * xp[:, :, k : k + T]
        if has_resets:
            term = term * (segp[:, None, k : k + T] == seg[:, None, :]).to(u.dtype)
        out = out + term
    new_state = xp[:, :, T:]
    if has_resets:
        new_state = new_state * (segp[:, None, T:] == seg[:, None, -1:]).to(u.dtype)
    return out, new_state


@register_core("mamba2")
class Mamba2Core(MemoryCore):
    """A Mamba2 block with carried conv and SSM state.

    Args:
        input_dim, hidden_dim: input size and output size (the block's model width is hidden_dim).
        d_state: SSM state size N per head. d_conv: conv kernel width (>= 2).
        expand: inner width = expand * hidden_dim. headdim: channels per head (divides the inner width).
        ngroups: number of B/C groups shared by heads (divides nheads).
        chunk_size: scan chunk length; None picks the faster one per backend (64 Triton, 32 PyTorch).
            The PyTorch scan's memory is O(B * T * nheads * chunk_size).
        dt_min, dt_max: range of the initial step sizes. A_init_range: range of the initial -A.
        max_timescale: None keeps dt_min / dt_max. An integer T >= 2 replaces them by chrono-style
            step sizes: each head's decay time 1 / (dt * A) is drawn uniformly in [2, T] (dt =
            1 / (A * tau)), so heads keep a cue for up to T steps and its gradient reaches back as
            far; MemoryPPO sets it to the task's horizon (``base.horizon_defaults``).
        D_init: initial value of the learnable skip D (per head). Default 0.0, not mamba_ssm's 1.0:
            in a single-layer core the skip adds the current (cue-independent) input at the scale of
            the SSM read-out, and after the gated RMSNorm it drowns the remembered part (README,
            "cores"). D is still trained, so the skip can grow where it helps.
        backend: "auto" | "torch" | "triton" (see module docstring).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        headdim: int = 16,
        ngroups: int = 1,
        chunk_size: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        A_init_range: tuple[float, float] = (1.0, 16.0),
        D_init: float = 0.0,
        norm_eps: float = 1e-5,
        max_timescale: int | None = None,
        backend: str = "auto",
    ):
        super().__init__(input_dim, hidden_dim)
        self.d_state = check_positive_int("d_state", d_state)
        self.d_conv = check_positive_int("d_conv", d_conv, minimum=2)
        self.expand = check_positive_int("expand", expand)
        self.headdim = check_positive_int("headdim", headdim)
        self.ngroups = check_positive_int("ngroups", ngroups)
        self.chunk_size = None if chunk_size is None else check_positive_int("chunk_size", chunk_size)
        self.d_inner = self.expand * hidden_dim
        if self.d_inner % self.headdim:
            raise ValueError(
                f"headdim must divide expand * hidden_dim = {self.d_inner}, got headdim={headdim}"
            )
        self.nheads = self.d_inner // self.headdim
        if self.nheads % self.ngroups:
            raise ValueError(f"ngroups must divide nheads = {self.nheads}, got ngroups={ngroups}")
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"dt_min and dt_max must satisfy 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        if not 0 < A_init_range[0] <= A_init_range[1]:
            raise ValueError(f"A_init_range must be (lo, hi) with 0 < lo <= hi, got {A_init_range}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "triton" and load_mamba_chunk_scan() is None:
            raise ImportError(
                "backend='triton' needs mamba-ssm and triton on a CUDA machine "
                "(install the extra: see the README 'cores' section)"
            )
        self.max_timescale = (
            None if max_timescale is None else check_positive_int("max_timescale", max_timescale, 2)
        )
        self.backend = backend
        self.last_backend: str | None = None

        self.conv_dim = self.d_inner + 2 * self.ngroups * self.d_state
        self.in_proj = nn.Linear(input_dim, 2 * self.d_inner + 2 * self.ngroups * self.d_state + self.nheads)
        conv = nn.Conv1d(self.conv_dim, self.conv_dim, self.d_conv, groups=self.conv_dim)  # for its init
        self.conv_weight = nn.Parameter(conv.weight.detach().reshape(self.conv_dim, self.d_conv).clone())
        self.conv_bias = nn.Parameter(conv.bias.detach().clone())
        if self.max_timescale is None:
            dt = torch.exp(torch.rand(self.nheads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
            dt = dt.clamp(min=dt_init_floor)
            A = torch.empty(self.nheads).uniform_(*A_init_range)
        else:
            tau = torch.empty(self.nheads).uniform_(2.0, float(self.max_timescale))
            A = torch.empty(self.nheads).uniform_(*A_init_range)
            dt = 1.0 / (A * tau)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.full((self.nheads,), float(D_init)))
        self.norm_weight = nn.Parameter(torch.ones(self.d_inner))
        self.norm_eps = float(norm_eps)
        self.out_proj = nn.Linear(self.d_inner, hidden_dim)

    def state_shapes(self):
        return ((self.conv_dim, self.d_conv - 1), (self.nheads, self.headdim, self.d_state))

    def _use_triton(self, x: torch.Tensor) -> bool:
        if self.backend == "torch":
            return False
        ok = x.is_cuda and x.dtype in _TRITON_DTYPES
        if self.backend == "triton":
            if not ok:
                raise ValueError(
                    f"backend='triton' needs a CUDA float32/float16/bfloat16 input, "
                    f"got device {x.device} dtype {x.dtype}"
                )
            return True
        return ok and load_mamba_chunk_scan() is not None

    def _scan(self, xs, dt, A, Bm, Cm, h0, resets):
        if self._use_triton(xs):
            self.last_backend = "triton"
            scan = load_mamba_chunk_scan()
            # mamba_ssm applies initial_states to segment 0 and starts each later seq_idx from zero.
            h0 = h0 * (~resets[:, 0]).to(h0.dtype)[:, None, None, None]
            later = resets.clone()
            later[:, 0] = False
            seq_idx = (
                torch.cumsum(later.to(torch.int32), dim=1).to(torch.int32).contiguous()
                if later.any()
                else None
            )
            y, hT = scan(
                xs.contiguous(),
                dt.contiguous(),
                A.contiguous(),
                Bm.contiguous(),
                Cm.contiguous(),
                self.chunk_size or 64,
                D=None,
                initial_states=h0.contiguous(),
                seq_idx=seq_idx,
                return_final_states=True,
            )
            return y, hT.to(xs.dtype)
        self.last_backend = "torch"
        return ssd_chunk_scan(xs, dt, A, Bm, Cm, self.chunk_size or 32, initial_state=h0, resets=resets)

    def _forward(self, x, state, starts):
        conv_state, ssm_state = state
        T, Bsz, _ = x.shape
        resets = starts.transpose(0, 1)  # (B, T)
        zxbcdt = self.in_proj(x.transpose(0, 1))  # (B, T, ...)
        z, xBC, dt = torch.split(zxbcdt, [self.d_inner, self.conv_dim, self.nheads], dim=-1)
        xBC, conv_state = causal_conv_with_state(
            xBC.transpose(1, 2), conv_state, self.conv_weight, self.conv_bias, resets
        )
        xBC = F.silu(xBC.transpose(1, 2))
        gn = self.ngroups * self.d_state
        xs, Bm, Cm = torch.split(xBC, [self.d_inner, gn, gn], dim=-1)
        xs = xs.reshape(Bsz, T, self.nheads, self.headdim)
        Bm = Bm.reshape(Bsz, T, self.ngroups, self.d_state)
        Cm = Cm.reshape(Bsz, T, self.ngroups, self.d_state)
        dt = F.softplus(dt + self.dt_bias)
        A = -torch.exp(self.A_log)
        y, ssm_state = self._scan(xs, dt, A, Bm, Cm, ssm_state, resets)
        y = y + self.D[:, None] * xs
        y = y.reshape(Bsz, T, self.d_inner) * F.silu(z)
        yg = y.reshape(Bsz, T, self.ngroups, -1)  # gated RMSNorm, one norm group per B/C group
        yg = yg * torch.rsqrt(yg.pow(2).mean(dim=-1, keepdim=True) + self.norm_eps)
        y = yg.reshape(Bsz, T, self.d_inner) * self.norm_weight
        out = self.out_proj(y).transpose(0, 1)  # (T, B, H)
        return out, (conv_state, ssm_state), {"output_norm": out.detach().norm(dim=-1)}

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, d_state={self.d_state}, d_conv={self.d_conv}, nheads={self.nheads}, "
            f"headdim={self.headdim}, ngroups={self.ngroups}, chunk_size={self.chunk_size}, "
            f"backend={self.backend!r}"
            + (f", max_timescale={self.max_timescale}" if self.max_timescale else "")
        )
