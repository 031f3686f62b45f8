"""Pure-PyTorch chunked SSD scan (Mamba2's state-space dual form) with per-row resets.

The recurrence, per batch row and head (state ``h`` of shape (headdim, d_state))::

    h_t = exp(dt_t * A) * h_{t-1} + dt_t * outer(x_t, B_t)      (h_{t-1} := 0 where resets[t])
    y_t = h_t @ C_t

The sequence is cut into chunks of ``chunk_size`` steps: inside a chunk the outputs are a
masked (chunk x chunk) quadratic form, and only one state per chunk is carried from chunk to
chunk, so memory is linear in T. Resets are handled with segment masks: a position never
sees inputs or carried state from before the latest reset in its row. Decays are formed as
``exp`` of non-positive differences of within-chunk cumulative sums, so nothing overflows.
This is the CPU / fallback backend; mamba_ssm's Triton ``mamba_chunk_scan_combined`` computes
the same numbers on CUDA (see ``mamba2.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ssd_chunk_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int,
    initial_state: torch.Tensor | None = None,
    resets: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the SSD recurrence over a whole sequence.

    Args:
        x: (b, T, nheads, headdim) inputs.
        dt: (b, T, nheads) positive step sizes (softplus already applied).
        A: (nheads,) negative decay rates.
        B, C: (b, T, ngroups, d_state); head h uses group ``h // (nheads // ngroups)``.
        chunk_size: steps per chunk (the quadratic block size).
        initial_state: (b, nheads, headdim, d_state) or None for zeros.
        resets: (b, T) bool; where true the row's state is zeroed before step t.

    Returns:
        y (b, T, nheads, headdim) without the D skip, and the final state
        (b, nheads, headdim, d_state).
    """
    b, T, nh, p = x.shape
    if T == 1:  # the rollout step: the plain recurrence is the same numbers with far fewer ops
        h0 = (
            torch.zeros(b, nh, p, B.shape[3], dtype=x.dtype, device=x.device)
            if initial_state is None
            else initial_state
        )
        y, h = ssd_step(x[:, 0], dt[:, 0], A, B[:, 0], C[:, 0], h0, None if resets is None else resets[:, 0])
        return y[:, None], h
    g, n = B.shape[2], B.shape[3]
    r = nh // g
    L = min(int(chunk_size), T)  # no padding beyond the sequence itself
    pad = (-T) % L
    if resets is None:
        resets = torch.zeros(b, T, dtype=torch.bool, device=x.device)
    if pad:
        # Padded steps have dt = 0 (no decay, no input) and no reset: the final state is unchanged.
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        dt = F.pad(dt, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
        resets = F.pad(resets, (0, pad))
    nc = (T + pad) // L
    xc = x.reshape(b, nc, L, g, r, p)
    dtc = dt.reshape(b, nc, L, g, r)
    Bc = B.reshape(b, nc, L, g, n)
    Cc = C.reshape(b, nc, L, g, n)
    # Resets seen so far inside each chunk: positions i, j share a segment iff the counts match.
    rc = torch.cumsum(resets.reshape(b, nc, L).to(torch.int32), dim=2)

    a = dtc * A.reshape(g, r)  # log-decay per step, <= 0
    cs = torch.cumsum(a, dim=2)  # (b, nc, L, g, r)
    cs_h = cs.permute(0, 1, 3, 4, 2)  # (b, nc, g, r, L)

    # Within-chunk (diagonal block) part.
    causal = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
    same_seg = rc[..., :, None] == rc[..., None, :]  # (b, nc, L, L)
    mask = (causal & same_seg)[:, :, None, None]  # (b, nc, 1, 1, L, L)
    decay = torch.exp((cs_h[..., :, None] - cs_h[..., None, :]).masked_fill(~mask, float("-inf")))
    CB = torch.einsum("bclgn,bcsgn->bcgls", Cc, Bc)
    x_dt = xc * dtc[..., None]  # dt weights the input of each step
    y = torch.einsum("bcgrls,bcsgrp->bclgrp", CB[:, :, :, None] * decay, x_dt)

    # State each chunk adds by its end, from its own inputs (only the last segment counts).
    last_seg = rc[..., -1:] == rc  # (b, nc, L)
    to_end = torch.exp(cs[:, :, -1:] - cs) * last_seg[..., None, None]  # (b, nc, L, g, r)
    chunk_states = torch.einsum("bclgn,bclgrp->bcgrpn", Bc, x_dt * to_end[..., None])
    # Carried state survives a chunk only if the chunk has no reset.
    chunk_decay = torch.exp(cs[:, :, -1]) * (rc[:, :, -1] == 0)[..., None, None]  # (b, nc, g, r)

    h = (
        torch.zeros(b, g, r, p, n, dtype=x.dtype, device=x.device)
        if initial_state is None
        else initial_state.reshape(b, g, r, p, n)
    )
    carried = []
    for c in range(nc):
        carried.append(h)
        h = chunk_decay[:, c, :, :, None, None] * h + chunk_states[:, c]
    carried = torch.stack(carried, dim=1)  # (b, nc, g, r, p, n): state entering each chunk

    # Carried-state (off-diagonal) part: decays from the chunk start, cut at the first reset.
    from_start = torch.exp(cs) * (rc == 0)[..., None, None]  # (b, nc, L, g, r)
    y = y + torch.einsum("bclgn,bcgrpn->bclgrp", Cc, carried) * from_start[..., None]
    y = y.reshape(b, nc * L, nh, p)[:, :T]
    return y, h.reshape(b, nh, p, n)


def ssd_step(x, dt, A, B, C, h, reset=None):
    """One step of the recurrence: x (b, nheads, headdim), dt (b, nheads), B/C (b, ngroups, d_state),
    h (b, nheads, headdim, d_state), reset (b,) bool or None. Returns (y, new h)."""
    r = x.shape[1] // B.shape[1]
    if reset is not None:
        h = h * (~reset).to(h.dtype)[:, None, None, None]
    Bt = B.repeat_interleave(r, dim=1)  # (b, nheads, d_state)
    Ct = C.repeat_interleave(r, dim=1)
    h = torch.exp(dt * A)[:, :, None, None] * h + (dt[:, :, None] * x)[..., None] * Bt[:, :, None, :]
    return torch.einsum("bhpn,bhn->bhp", h, Ct), h


def ssd_sequential(x, dt, A, B, C, initial_state=None, resets=None):
    """Step-by-step reference of ``ssd_chunk_scan`` (same arguments, no chunking); for tests."""
    b, T, nh, p = x.shape
    n = B.shape[3]
    h = torch.zeros(b, nh, p, n, dtype=x.dtype, device=x.device) if initial_state is None else initial_state
    ys = []
    for t in range(T):
        y, h = ssd_step(x[:, t], dt[:, t], A, B[:, t], C[:, t], h, None if resets is None else resets[:, t])
        ys.append(y)
    return torch.stack(ys, dim=1), h
