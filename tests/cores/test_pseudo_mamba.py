"""Pseudo-Mamba core: the chunked PyTorch scan against a step loop, the Triton kernel (on CPU through
Triton's interpreter, and on CUDA) against the PyTorch scan, values and gradients."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from memory_agents.cores import make_core
from memory_agents.cores.pseudo_mamba import chunked_linear_scan

torch.set_num_threads(1)
F64 = torch.float64


def scan_inputs(T=13, B=4, H=3, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    log_a = F.logsigmoid(torch.randn(T, B, H, generator=g, dtype=dtype) * 2)
    b = torch.randn(T, B, H, generator=g, dtype=dtype)
    h0 = torch.randn(B, H, generator=g, dtype=dtype)
    resets = torch.rand(T, B, generator=g) < 0.2
    resets[0, 0] = True
    resets[4, -1] = resets[5, -1] = True  # consecutive resets
    resets[:, 1] = False  # a row that never resets
    return log_a, b, h0, resets


def decays(log_a, resets):
    """Decay factors with the resets folded in (a reset is a zero decay)."""
    return torch.exp(log_a) * (~resets).to(log_a.dtype)[..., None]


def loop_scan(log_a, b, h0, resets):
    h, out = h0, []
    for t in range(b.shape[0]):
        h = h * (~resets[t]).to(h.dtype)[:, None]
        h = torch.exp(log_a[t]) * h + b[t]
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("chunk", [1, 3, 5, 13, 32])
def test_chunked_scan_equals_loop(chunk):
    log_a, b, h0, resets = scan_inputs()
    torch.testing.assert_close(
        chunked_linear_scan(decays(log_a, resets), b, h0, chunk),
        loop_scan(log_a, b, h0, resets),
        atol=1e-12,
        rtol=1e-10,
    )


def test_chunked_scan_is_stable_under_extreme_decay():
    """Decays of exp(-60) per step (products far below float32's range) stay finite and exact,
    and gradients stay finite."""
    log_a, b, h0, resets = scan_inputs(T=200, seed=1, dtype=torch.float32)
    log_a[:, :, 0] = -60.0
    log_a[:, :, 1] = -1e-7  # and almost no decay
    log_a.requires_grad_(True)
    hs = chunked_linear_scan(decays(log_a, resets), b, h0, 16)
    assert torch.isfinite(hs).all()
    hs.sum().backward()
    assert torch.isfinite(log_a.grad).all()
    ref = loop_scan(log_a.double(), b.double(), h0.double(), resets)
    torch.testing.assert_close(hs.detach().double(), ref, atol=1e-4, rtol=1e-5)


def test_chunked_scan_gradcheck():
    log_a, b, h0, resets = scan_inputs(T=7, B=2, H=2)
    inputs = tuple(t.requires_grad_(True) for t in (log_a, b, h0))
    assert torch.autograd.gradcheck(
        lambda la, bb, h: chunked_linear_scan(decays(la, resets), bb, h, 3), inputs
    )


def test_core_equals_its_formula():
    torch.manual_seed(0)
    core = make_core("pseudo_mamba", 5, 6, chunk_size=4, backend="torch").double()
    T, B = 9, 3
    x = torch.randn(T, B, 5, dtype=F64)
    h0 = torch.randn(B, 6, dtype=F64)
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[3, 0] = starts[0, 2] = True
    with torch.no_grad():
        y, (hT,), readings = core(x, (h0,), starts, return_readings=True)
        W, bias = core.in_proj.weight, core.in_proj.bias
        h, ys = h0, []
        for t in range(T):
            h = h * (~starts[t]).to(F64)[:, None]
            u, za, zo = (x[t] @ W.T + bias).chunk(3, dim=-1)
            a = torch.sigmoid(za)
            h = a * h + (1 - a) * u
            ys.append(torch.sigmoid(zo) * h)
    torch.testing.assert_close(y, torch.stack(ys), atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(hT, h, atol=1e-12, rtol=1e-10)
    gate = readings["gate"]
    assert gate.shape == (T, B, 6) and ((gate > 0) & (gate < 1)).all()


def test_initial_timescales_span_the_requested_range():
    core = make_core("pseudo_mamba", 3, 16, min_timescale=2.0, max_timescale=1000.0)
    a = torch.sigmoid(core.in_proj.bias[16:32].detach())
    tau = 1 / (1 - a)
    assert tau.min() == pytest.approx(2.0, rel=1e-3) and tau.max() == pytest.approx(1000.0, rel=1e-3)


def test_bad_kwargs_raise():
    with pytest.raises(ValueError, match="backend"):
        make_core("pseudo_mamba", 3, 4, backend="cuda")
    with pytest.raises(ValueError, match="chunk_size"):
        make_core("pseudo_mamba", 3, 4, chunk_size=0)
    with pytest.raises(ValueError, match="timescale"):
        make_core("pseudo_mamba", 3, 4, min_timescale=1.0)
    core = make_core("pseudo_mamba", 3, 4, backend="triton")  # constructing is fine, CPU input is not
    with pytest.raises(ValueError, match="CUDA"):
        core(torch.randn(2, 1, 3))


TRITON_INTERPRETER_CHECK = textwrap.dedent("""
    import torch
    from memory_agents.cores.triton_scan import triton_linear_scan
    from memory_agents.cores.pseudo_mamba import chunked_linear_scan
    torch.manual_seed(0)
    T, B, H = 9, 3, 5
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        log_a = torch.nn.functional.logsigmoid(torch.randn(T, B, H, dtype=dtype)).requires_grad_(True)
        b = torch.randn(T, B, H, dtype=dtype, requires_grad=True)
        h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
        resets = torch.rand(T, B) < 0.3
        a = torch.exp(log_a) * (~resets).to(dtype)[..., None]
        w = torch.randn(T, B, H, dtype=dtype)
        got = triton_linear_scan(a, b, h0)
        ref = chunked_linear_scan(a, b, h0, 4)
        torch.testing.assert_close(got, ref, atol=tol, rtol=tol)
        g1 = torch.autograd.grad((got * w).sum(), (log_a, b, h0), retain_graph=True)
        g2 = torch.autograd.grad((ref * w).sum(), (log_a, b, h0))
        for x, y in zip(g1, g2):
            torch.testing.assert_close(x, y, atol=tol, rtol=tol)
    args = tuple(torch.randn(*s, dtype=torch.float64).requires_grad_(True) for s in ((5, 2, 3), (5, 2, 3), (2, 3)))
    assert torch.autograd.gradcheck(triton_linear_scan, (args[0].sigmoid().detach().requires_grad_(True), *args[1:]))
    print("TRITON-SCAN-OK")
""")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
def test_triton_kernel_in_interpreter_matches_torch_scan():
    """Runs the real Triton kernels on CPU through TRITON_INTERPRET=1 (set before triton is imported)."""
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run(
        [sys.executable, "-c", TRITON_INTERPRETER_CHECK], env=env, capture_output=True, text=True, timeout=300
    )
    assert "TRITON-SCAN-OK" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_triton_backend_equals_torch_backend_on_cuda(dtype):
    dev = torch.device("cuda")
    torch.manual_seed(0)
    tri = make_core("pseudo_mamba", 7, 32, backend="triton").to(dev, dtype)
    ref = make_core("pseudo_mamba", 7, 32, backend="torch").to(dev, dtype)
    ref.load_state_dict(tri.state_dict())
    T, B = 100, 16
    x = torch.randn(T, B, 7, device=dev, dtype=dtype)
    h0 = torch.randn(B, 32, device=dev, dtype=dtype)
    starts = torch.rand(T, B, device=dev) < 0.05
    starts[0, 0] = True
    results = []
    for core in (tri, ref):
        xi, hi = x.clone().requires_grad_(True), h0.clone().requires_grad_(True)
        y, (hT,) = core(xi, (hi,), starts)
        (y.pow(2).sum() + hT.sum()).backward()
        results.append((y.detach(), hT.detach(), [xi.grad, hi.grad, *(p.grad for p in core.parameters())]))
    assert tri.last_backend == "triton" and ref.last_backend == "torch"
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-10)
    (y1, h1, g1), (y2, h2, g2) = results
    torch.testing.assert_close(y1, y2, **tol)
    torch.testing.assert_close(h1, h2, **tol)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.gpu
def test_triton_scan_gradcheck_on_cuda():
    from memory_agents.cores.triton_scan import triton_linear_scan

    dev = torch.device("cuda")
    a = torch.rand(6, 3, 4, device=dev, dtype=F64, requires_grad=True)
    b = torch.randn(6, 3, 4, device=dev, dtype=F64, requires_grad=True)
    h0 = torch.randn(3, 4, device=dev, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(triton_linear_scan, (a, b, h0))
