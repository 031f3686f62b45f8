"""Triton kernels for the diagonal linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (CUDA only).

One program owns a block of independent (batch, channel) lanes and walks the time axis:
the recurrence is memory-bound, so a sequential-in-time, parallel-over-lanes kernel reads each
input once and beats any parallel-prefix formulation. The backward pass walks time in reverse:
``g_t = dh_t + a_{t+1} g_{t+1}``, ``da_t = g_t h_{t-1}``, ``db_t = g_t``, ``dh0 = a_0 g_0``.
This module imports triton at import time; ``pseudo_mamba.py`` imports it lazily on CUDA.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK = 256


@triton.jit
def _scan_fwd_kernel(a_ptr, b_ptr, h0_ptr, hs_ptr, T, N, BLOCK: tl.constexpr, UPCAST: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    h = tl.load(h0_ptr + offs, mask=mask, other=0.0)
    if UPCAST:
        h = h.to(tl.float32)
    for t in range(T):
        a = tl.load(a_ptr + t * N + offs, mask=mask, other=0.0)
        b = tl.load(b_ptr + t * N + offs, mask=mask, other=0.0)
        if UPCAST:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        h = a * h + b
        tl.store(hs_ptr + t * N + offs, h.to(hs_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _scan_bwd_step(g, t, prev, a_ptr, dhs_ptr, da_ptr, db_ptr, offs, mask, N, UPCAST: tl.constexpr):
    dh = tl.load(dhs_ptr + t * N + offs, mask=mask, other=0.0)
    a = tl.load(a_ptr + t * N + offs, mask=mask, other=0.0)
    if UPCAST:
        dh = dh.to(tl.float32)
        a = a.to(tl.float32)
    g = g + dh
    tl.store(da_ptr + t * N + offs, (g * prev).to(da_ptr.dtype.element_ty), mask=mask)
    tl.store(db_ptr + t * N + offs, g.to(db_ptr.dtype.element_ty), mask=mask)
    return g * a


@triton.jit
def _scan_bwd_kernel(
    a_ptr, h0_ptr, hs_ptr, dhs_ptr, da_ptr, db_ptr, dh0_ptr, T, N, BLOCK: tl.constexpr, UPCAST: tl.constexpr
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    h0 = tl.load(h0_ptr + offs, mask=mask, other=0.0)
    if UPCAST:
        h0 = h0.to(tl.float32)
    g = tl.zeros_like(h0)
    for i in range(T - 1):  # t = T-1 .. 1, whose previous state is hs[t-1]
        t = T - 1 - i
        prev = tl.load(hs_ptr + (t - 1) * N + offs, mask=mask, other=0.0)
        if UPCAST:
            prev = prev.to(tl.float32)
        g = _scan_bwd_step(g, t, prev, a_ptr, dhs_ptr, da_ptr, db_ptr, offs, mask, N, UPCAST)
    g = _scan_bwd_step(g, 0, h0, a_ptr, dhs_ptr, da_ptr, db_ptr, offs, mask, N, UPCAST)  # t = 0 follows h0
    tl.store(dh0_ptr + offs, g.to(dh0_ptr.dtype.element_ty), mask=mask)


def _flags(x: torch.Tensor) -> bool:
    return x.dtype in (torch.float16, torch.bfloat16)


class TritonLinearScan(torch.autograd.Function):
    """``hs = scan(a, b, h0)`` with a, b of shape (T, N) and h0 of shape (N,); returns hs (T, N)."""

    @staticmethod
    def forward(ctx, a, b, h0):
        a, b, h0 = a.contiguous(), b.contiguous(), h0.contiguous()
        T, N = a.shape
        hs = torch.empty_like(b)
        grid = (triton.cdiv(N, BLOCK),)
        _scan_fwd_kernel[grid](a, b, h0, hs, T, N, BLOCK=BLOCK, UPCAST=_flags(a))
        ctx.save_for_backward(a, h0, hs)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        a, h0, hs = ctx.saved_tensors
        dhs = dhs.contiguous()
        T, N = a.shape
        da, db, dh0 = torch.empty_like(a), torch.empty_like(a), torch.empty_like(h0)
        grid = (triton.cdiv(N, BLOCK),)
        _scan_bwd_kernel[grid](a, h0, hs, dhs, da, db, dh0, T, N, BLOCK=BLOCK, UPCAST=_flags(a))
        return da, db, dh0


def triton_linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t``: a, b (T, ...) and h0 (...) on CUDA; returns (T, ...)."""
    T = a.shape[0]
    shape = a.shape
    hs = TritonLinearScan.apply(a.reshape(T, -1), b.reshape(T, -1), h0.reshape(-1))
    return hs.reshape(shape)
