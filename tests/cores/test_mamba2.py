"""Mamba2 core: the chunked PyTorch scan and the whole block against step-by-step float64 references;
on CUDA with mamba-ssm installed, the Triton backend against the PyTorch backend."""

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
from memory_agents.cores.mamba2 import Mamba2Core, load_mamba_chunk_scan
from memory_agents.cores.ssd_scan import ssd_chunk_scan, ssd_sequential

torch.set_num_threads(1)
F64 = torch.float64


def scan_inputs(b=3, T=13, nh=4, p=3, g=2, n=5, seed=0, dtype=F64, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=dtype)  # noqa: E731
    x, B, C = r(b, T, nh, p), r(b, T, g, n), r(b, T, g, n)
    dt = torch.rand(b, T, nh, generator=gen, dtype=dtype) + 0.05
    A = -(torch.rand(nh, generator=gen, dtype=dtype) * 2 + 0.1)
    h0 = r(b, nh, p, n)
    resets = torch.rand(b, T, generator=gen) < 0.2
    resets[0, 0] = True  # reset at the very first step
    resets[-1, 4] = resets[-1, 5] = True  # consecutive resets
    resets[1, :] = False  # a row that never resets
    return [t.to(device) for t in (x, dt, A, B, C, h0, resets)]


@pytest.mark.parametrize("chunk", [1, 3, 4, 13, 16])
def test_chunked_scan_equals_sequential_float64(chunk):
    x, dt, A, B, C, h0, resets = scan_inputs()
    y, h = ssd_chunk_scan(x, dt, A, B, C, chunk, initial_state=h0, resets=resets)
    y_ref, h_ref = ssd_sequential(x, dt, A, B, C, initial_state=h0, resets=resets)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=1e-10)


def test_chunked_scan_long_sequence_stays_finite():
    """Strong decay over a long sequence: decays come from exp of non-positive numbers only."""
    x, dt, A, B, C, h0, resets = scan_inputs(T=300, seed=1, dtype=torch.float32)
    dt = dt * 20  # exp(dt * A) underflows to 0 over a few steps
    y, h = ssd_chunk_scan(x, dt, A, B, C, 64, initial_state=h0, resets=resets)
    y_ref, h_ref = ssd_sequential(
        x.double(), dt.double(), A.double(), B.double(), C.double(), initial_state=h0.double(), resets=resets
    )
    assert torch.isfinite(y).all() and torch.isfinite(h).all()
    torch.testing.assert_close(y.double(), y_ref, atol=1e-3, rtol=1e-4)


def test_chunked_scan_gradcheck():
    x, dt, A, B, C, h0, resets = scan_inputs(b=2, T=6, nh=2, p=2, g=1, n=2)
    inputs = tuple(t.requires_grad_(True) for t in (x, dt, A, B, C, h0))

    def f(x, dt, A, B, C, h0):
        return ssd_chunk_scan(x, dt, A, B, C, 4, initial_state=h0, resets=resets)

    assert torch.autograd.gradcheck(f, inputs)


def block_reference(core: Mamba2Core, x, state, starts):
    """The Mamba2 block written as a plain per-step recurrence (ring buffer conv, SSM step)."""
    conv_state, h = (s.clone() for s in state)
    _K, ys = core.d_conv, []
    A = -torch.exp(core.A_log)
    r = core.nheads // core.ngroups
    for t in range(x.shape[0]):
        keep = (~starts[t]).to(x.dtype)
        conv_state = conv_state * keep[:, None, None]
        h = h * keep[:, None, None, None]
        z, xBC, dt = torch.split(core.in_proj(x[t]), [core.d_inner, core.conv_dim, core.nheads], dim=-1)
        window = torch.cat([conv_state, xBC[:, :, None]], dim=2)  # (B, conv_dim, K)
        conv_state = window[:, :, 1:]
        xBC = F.silu((window * core.conv_weight).sum(-1) + core.conv_bias)
        gn = core.ngroups * core.d_state
        xs, Bt, Ct = torch.split(xBC, [core.d_inner, gn, gn], dim=-1)
        xs = xs.reshape(-1, core.nheads, core.headdim)
        Bt = Bt.reshape(-1, core.ngroups, core.d_state).repeat_interleave(r, dim=1)
        Ct = Ct.reshape(-1, core.ngroups, core.d_state).repeat_interleave(r, dim=1)
        dt = F.softplus(dt + core.dt_bias)
        h = torch.exp(dt * A)[:, :, None, None] * h + (dt[:, :, None] * xs)[..., None] * Bt[:, :, None, :]
        y = torch.einsum("bhpn,bhn->bhp", h, Ct) + core.D[:, None] * xs
        y = y.reshape(-1, core.d_inner) * F.silu(z)
        yg = y.reshape(y.shape[0], core.ngroups, -1)
        yg = yg / torch.sqrt(yg.pow(2).mean(-1, keepdim=True) + core.norm_eps)
        ys.append(core.out_proj(yg.reshape(y.shape) * core.norm_weight))
    return torch.stack(ys), (conv_state, h)


@pytest.mark.parametrize("ngroups", [1, 2])
def test_block_equals_stepwise_reference(ngroups):
    torch.manual_seed(0)
    core = make_core(
        "mamba2", 5, 8, d_state=4, headdim=4, ngroups=ngroups, chunk_size=4, backend="torch"
    ).double()
    with torch.no_grad():
        core.D.normal_()  # D starts at 0 (D_init); a random skip keeps that path checked
    T, B = 11, 4
    x = torch.randn(T, B, 5, dtype=F64)
    state = tuple(torch.randn(B, *s, dtype=F64) for s in core.state_shapes())
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[0, 0] = starts[3, 1] = starts[4, 1] = starts[9, 2] = True
    with torch.no_grad():
        y, (cs, hs) = core(x, state, starts)
        y_ref, (cs_ref, hs_ref) = block_reference(core, x, state, starts)
    assert core.last_backend == "torch"
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(cs, cs_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(hs, hs_ref, atol=1e-12, rtol=1e-10)


def test_conv_history_is_state():
    """Splitting a sequence mid-way carries the conv history: the first step after the split
    depends on the inputs before it through the conv state alone when the SSM state is zeroed."""
    torch.manual_seed(0)
    core = make_core("mamba2", 3, 8, d_state=4, headdim=4, chunk_size=4).double()
    x = torch.randn(6, 2, 3, dtype=F64)
    _, (conv_state, _) = core(x[:5])
    y_with, _ = core(x[5:], (conv_state, torch.zeros(2, *core.state_shapes()[1], dtype=F64)))
    y_without, _ = core(x[5:], None)
    assert not torch.allclose(y_with, y_without)


def test_bad_kwargs_raise():
    with pytest.raises(ValueError, match="headdim"):
        make_core("mamba2", 4, 10, headdim=16)
    with pytest.raises(ValueError, match="ngroups"):
        make_core("mamba2", 4, 8, headdim=4, ngroups=3)
    with pytest.raises(ValueError, match="d_conv"):
        make_core("mamba2", 4, 8, d_conv=1)
    with pytest.raises(ValueError, match="backend"):
        make_core("mamba2", 4, 8, backend="cuda")


def test_auto_backend_falls_back_to_torch_on_cpu():
    core = make_core("mamba2", 4, 8, headdim=4)
    core(torch.randn(3, 2, 4))
    assert core.last_backend == "torch"


@pytest.mark.skipif(load_mamba_chunk_scan() is not None, reason="mamba-ssm is installed here")
def test_triton_backend_without_mamba_ssm_is_a_clear_error():
    with pytest.raises(ImportError, match="mamba"):
        make_core("mamba2", 4, 8, headdim=4, backend="triton")


@pytest.mark.gpu
@pytest.mark.parametrize("T", [1, 50, 256])
def test_triton_backend_equals_torch_backend_on_cuda(T):
    if load_mamba_chunk_scan() is None:
        pytest.skip("mamba-ssm (the `mamba` extra) is not installed")
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    torch.manual_seed(0)
    kw = dict(d_state=16, headdim=16, chunk_size=64)
    tri = make_core("mamba2", 12, 32, backend="triton", **kw).to(dev)
    ref = make_core("mamba2", 12, 32, backend="torch", **kw).to(dev)
    ref.load_state_dict(tri.state_dict())
    B = 8
    x = torch.randn(T, B, 12, device=dev)
    state = tuple(0.5 * torch.randn(B, *s, device=dev) for s in tri.state_shapes())
    starts = torch.rand(T, B, device=dev) < 0.05
    starts[0, 0] = True
    if T > 64:
        starts[64, 1] = True  # on a chunk boundary
        starts[63, 2] = True  # just before one
    outs = []
    for core in (tri, ref):
        xi = x.clone().requires_grad_(True)
        si = tuple(s.clone().requires_grad_(True) for s in state)
        y, (cs, hs) = core(xi, si, starts)
        loss = y.pow(2).sum() + hs.pow(2).sum() + cs.pow(2).sum()
        loss.backward()
        grads = [xi.grad, *(s.grad for s in si), *(p.grad for p in core.parameters())]
        outs.append((y.detach(), hs.detach(), cs.detach(), grads))
    assert tri.last_backend == "triton" and ref.last_backend == "torch"
    (y1, h1, c1, g1), (y2, h2, c2, g2) = outs
    # Triton's tl.dot uses TF32 on GPUs that have it: loose-but-meaningful tolerance.
    torch.testing.assert_close(y1, y2, atol=5e-3, rtol=5e-3)
    torch.testing.assert_close(h1, h2, atol=5e-3, rtol=5e-3)
    torch.testing.assert_close(c1, c2)
    for a, b in zip(g1, g2):
        assert (a - b).norm() <= 2e-2 * b.norm() + 1e-5


MAMBA_INTERPRETER_CHECK = textwrap.dedent("""
    import contextlib, types
    import torch
    # Let mamba_ssm's launch code run on CPU tensors under TRITON_INTERPRET=1.
    torch.cuda.device = lambda idx: contextlib.nullcontext()
    torch.cuda.get_device_properties = lambda d=None: types.SimpleNamespace(multi_processor_count=132)
    import triton.runtime.autotuner as autotuner
    autotuner.Autotuner._bench = lambda self, *a, config=None, **k: [0.0, 0.0, 0.0]  # first config, no timing
    from memory_agents.cores.mamba2 import Mamba2Core, load_mamba_chunk_scan
    assert load_mamba_chunk_scan() is not None
    torch.manual_seed(0)
    T, B = 40, 3
    kw = dict(d_state=16, headdim=16, chunk_size=16, ngroups=2)
    tri, ref = Mamba2Core(12, 32, **kw), Mamba2Core(12, 32, backend="torch", **kw)
    ref.load_state_dict(tri.state_dict())
    tri._use_triton = lambda x: True
    x = torch.randn(T, B, 12)
    state = tuple(0.5 * torch.randn(B, *s) for s in tri.state_shapes())
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[0, 0] = starts[20, 0] = starts[16, 1] = starts[15, 2] = starts[5, 2] = True
    outs = []
    for core in (tri, ref):
        xi = x.clone().requires_grad_(True)
        si = tuple(s.clone().requires_grad_(True) for s in state)
        y, (cs, hs) = core(xi, si, starts)
        (y.pow(2).sum() + hs.pow(2).sum() + cs.pow(2).sum()).backward()
        outs.append((y.detach(), hs.detach(), [xi.grad, *(s.grad for s in si), *(p.grad for p in core.parameters())]))
    (y1, h1, g1), (y2, h2, g2) = outs
    torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h1, h2, atol=1e-5, rtol=1e-5)
    for a, b in zip(g1, g2):
        assert (a - b).norm() <= 1e-4 * b.norm(), ((a - b).norm(), b.norm())
    print("MAMBA-SSM-INTERPRETER-OK")
""")


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mamba_ssm") is None or importlib.util.find_spec("triton") is None,
    reason="mamba-ssm (the `mamba` extra) is not installed",
)
def test_mamba_ssm_kernels_in_triton_interpreter_equal_torch_backend():
    """mamba_ssm's real Triton kernels, run on CPU by Triton's interpreter, through the core's glue
    (initial state, seq_idx for resets at t=0 / mid-chunk / on and just before chunk boundaries)."""
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run(
        [sys.executable, "-c", MAMBA_INTERPRETER_CHECK], env=env, capture_output=True, text=True, timeout=900
    )
    assert "MAMBA-SSM-INTERPRETER-OK" in proc.stdout, proc.stdout + proc.stderr


def test_D_init_default_zero_and_settable():
    core = make_core("mamba2", 5, 8, d_state=4, headdim=4)
    assert torch.equal(core.D.detach(), torch.zeros(core.nheads))
    core = make_core("mamba2", 5, 8, d_state=4, headdim=4, D_init=1.0)
    assert torch.equal(core.D.detach(), torch.ones(core.nheads))
