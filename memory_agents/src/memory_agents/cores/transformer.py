"""Transformer core: pre-LN causal self-attention over a sliding window, with a KV cache as state.

Each step attends to itself and to the previous ``window`` steps of its episode. Positions:
ALiBi (a per-head bias ``-slope * distance`` added to the attention scores) gives every head a
sense of recency; with ``episode_positions`` (default) each step's input also gets a sinusoidal
code of its *episode step* (steps since the episode began), projected into the residual stream.
ALiBi alone cannot address an exact position: a copy task's recall step k must read study step
k, and a permuted copy names the source position, which only an absolute episode step
identifies. The sinusoids span any episode length, so there is still no position table.

State ``(keys, values, length)``: keys/values of shape (B, n_layers, window, d_model) hold the
cached attention inputs of the last ``window`` steps (right-aligned, newest last; entries from
before the episode are zero); ``length`` (B, 1) counts the steps of the current episode so far
(read as an integer): the newest ``min(length, window)`` cache entries belong to the episode,
and ``length`` is the next step's episode position. A reset sets it to 0, so nothing before it
is attended to.

Sequence path: the chunk is cut into blocks of ``block_len`` steps; each block runs as one
batched attention over ``[cache ; block]`` with a causal + window + episode-reset mask, then the
cache keeps the last ``window`` entries. Memory is linear in T, and the result equals T single
steps (up to float rounding). With L layers an output can depend on inputs up to ``L * window``
steps back (each layer looks ``window`` further), hence ``gradient_reach = L * window + 1``.
``window`` left at None is DEFAULT_WINDOW, or the task's horizon where that is longer
(``horizon_defaults``), so that the last step of an episode still sees its first.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import MemoryCore, check_positive_int, register_core

#: Attention span when ``window`` is None and no horizon is known.
DEFAULT_WINDOW = 64
#: Longest period of the episode-position sinusoids: steps up to about this far apart stay
#: distinguishable (the shortest period is 2 steps, so neighbours differ too).
POSITION_PERIOD = 10_000


def episode_position_code(pos: torch.Tensor, dim: int, dtype) -> torch.Tensor:
    """Sinusoids of episode steps ``pos`` (any shape) -> (*pos.shape, dim): sin and cos pairs at
    periods from 2 to POSITION_PERIOD steps, geometrically spaced (as in Vaswani et al. 2017)."""
    n = dim // 2
    periods = 2.0 * (POSITION_PERIOD / 2.0) ** (
        torch.arange(n, device=pos.device, dtype=torch.float64) / max(n - 1, 1)
    )
    angle = pos.to(torch.float64)[..., None] * (2 * torch.pi / periods)
    code = torch.cat([angle.sin(), angle.cos()], dim=-1)
    if dim % 2:
        code = F.pad(code, (0, 1))
    return code.to(dtype)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's geometric head slopes 2^(-8 (h+1) / n_heads): some heads local, some long-range."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / n_heads) for h in range(n_heads)])


class _Block(nn.Module):
    """Pre-LN transformer block; attention is computed by the core (it owns the cache and mask)."""

    def __init__(self, d_model: int, mlp_ratio: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(), nn.Linear(mlp_ratio * d_model, d_model)
        )


@register_core("transformer")
class TransformerCore(MemoryCore):
    """Sliding-window causal transformer with a KV cache (see module docstring).

    Args:
        window: how many previous steps each step attends to (the cache length). None (default):
            DEFAULT_WINDOW, or the task's horizon where MemoryPPO knows a longer one.
        n_layers: number of transformer blocks. Default 2.
        n_heads: attention heads; must divide d_model (None: the largest of 4, 2, 1 that does).
        d_model: width of the residual stream (None: hidden_dim).
        mlp_ratio: MLP hidden width as a multiple of d_model. Default 4.
        block_len: steps per batched attention block on the sequence path. Default 64.
        episode_positions: add a learned projection of the episode step's sinusoidal code to
            each input (see module docstring). Default True; False is ALiBi only.
    """

    horizon_param = "window"

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        window: int | None = None,
        n_layers: int = 2,
        n_heads: int | None = None,
        d_model: int | None = None,
        mlp_ratio: int = 4,
        block_len: int = 64,
        episode_positions: bool = True,
    ):
        super().__init__(input_dim, hidden_dim)
        self.window = check_positive_int("window", DEFAULT_WINDOW if window is None else window)
        if not isinstance(episode_positions, bool):
            raise TypeError(f"episode_positions must be a bool, got {episode_positions!r}")
        self.episode_positions = episode_positions
        self.n_layers = check_positive_int("n_layers", n_layers)
        self.d_model = check_positive_int("d_model", hidden_dim if d_model is None else d_model)
        if n_heads is None:
            n_heads = next(n for n in (4, 2, 1) if self.d_model % n == 0)
        self.n_heads = check_positive_int("n_heads", n_heads)
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model={self.d_model}, got n_heads={n_heads!r}")
        self.mlp_ratio = check_positive_int("mlp_ratio", mlp_ratio)
        self.block_len = check_positive_int("block_len", block_len)
        self.gradient_reach = self.n_layers * self.window + 1
        self.inp = nn.Linear(input_dim, self.d_model)
        self.pos = nn.Linear(self.d_model, self.d_model, bias=False) if episode_positions else None
        self.blocks = nn.ModuleList(_Block(self.d_model, self.mlp_ratio) for _ in range(self.n_layers))
        self.ln_out = nn.LayerNorm(self.d_model)
        self.out = nn.Linear(self.d_model, hidden_dim)
        self.register_buffer("slopes", alibi_slopes(self.n_heads), persistent=False)

    @classmethod
    def horizon_timescale(cls, horizon: int) -> int | None:
        """The window for episodes of ``horizon`` steps: the horizon where it exceeds DEFAULT_WINDOW."""
        return int(horizon) if horizon > DEFAULT_WINDOW else None

    def state_shapes(self):
        cache = (self.n_layers, self.window, self.d_model)
        return (cache, cache, (1,))

    # ------------------------------------------------------------------ attention mask
    def _attn_bias(self, count: torch.Tensor, starts: torch.Tensor, dtype) -> tuple[torch.Tensor, ...]:
        """Additive bias (B, n_heads, T, W+T) over keys [cache ; block], each step's episode
        position (B, T) and each row's episode step count after the block (B,).

        ``count`` (B,) is how many steps of the episode came before the block; the newest
        ``min(count, W)`` cache entries are the episode's. Query i (at concat position W+i) may
        see cache entry c if it is within the window (c >= i), belongs to the episode
        (c >= W - valid) and no reset came at or before i in this block; it may see block step j
        if j <= i, i - j <= W and j is not before its reset.
        """
        T, B = starts.shape
        W, dev = self.window, starts.device
        valid = count.clamp(max=W)
        steps = torch.arange(T, device=dev)
        seg_start = torch.where(starts, steps[:, None], -1).cummax(dim=0).values.T  # (B, T)
        i = steps[:, None]
        c = torch.arange(W, device=dev)
        cache_ok = (
            (c[None, :] >= i)[None]  # window
            & (c[None, None, :] >= (W - valid)[:, None, None])  # episode
            & (seg_start < 0)[:, :, None]
        )  # no reset yet
        j = steps[None, :]
        new_ok = ((j <= i) & (i - j <= W))[None] & (j[None] >= seg_start[:, :, None])
        mask = torch.cat([cache_ok, new_ok], dim=-1)  # (B, T, W+T)
        dist = (W + i) - torch.arange(W + T, device=dev)[None, :]  # (T, W+T)
        bias = -self.slopes.to(dtype)[:, None, None] * dist.to(dtype)  # (H, T, W+T)
        bias = bias[None].masked_fill(~mask[:, None], float("-inf"))
        position = torch.where(seg_start >= 0, steps[None] - seg_start, count[:, None] + steps[None])
        return bias, position, position[:, -1] + 1

    def _block_forward(self, x, keys, values, count, starts):
        """One block of T steps: x (T, B, D) -> y (T, B, H), updated cache and step count."""
        T, B, _ = x.shape
        W, nh = self.window, self.n_heads
        dh = self.d_model // nh
        bias, position, new_count = self._attn_bias(count, starts, x.dtype)
        new_valid = new_count.clamp(max=W)
        # A row that resets in this block gets the cache entries from before its reset zeroed, so
        # its state no longer depends on the old episode. Other rows need nothing: their unused
        # entries are already zero (initial state), so the common no-reset step skips this pass.
        keep = None
        if bool(starts.any()):
            keep = (torch.arange(W, device=x.device)[None, :] >= (W - new_valid)[:, None])[
                :, :, None
            ]  # (B, W, 1)
        h = self.inp(x).transpose(0, 1)  # (B, T, d)
        if self.pos is not None:
            h = h + self.pos(episode_position_code(position, self.d_model, x.dtype))
        new_k, new_v, kv_sq = [], [], 0.0
        for layer, block in enumerate(self.blocks):
            q, k, v = block.qkv(block.ln1(h)).chunk(3, dim=-1)
            K = torch.cat([keys[:, layer], k], dim=1)  # (B, W+T, d)
            V = torch.cat([values[:, layer], v], dim=1)
            heads = lambda z: z.view(B, z.shape[1], nh, dh).transpose(1, 2)  # noqa: E731
            o = F.scaled_dot_product_attention(heads(q), heads(K), heads(V), attn_mask=bias)
            h = h + block.proj(o.transpose(1, 2).reshape(B, T, self.d_model))
            h = h + block.mlp(block.ln2(h))
            K, V = K[:, -W:], V[:, -W:]
            if keep is not None:
                K, V = K.masked_fill(~keep, 0.0), V.masked_fill(~keep, 0.0)
            new_k.append(K)
            new_v.append(V)
            kv_sq = kv_sq + k.detach().pow(2).sum(-1) + v.detach().pow(2).sum(-1)
        y = self.out(self.ln_out(h)).transpose(0, 1)  # (T, B, H)
        return y, torch.stack(new_k, dim=1), torch.stack(new_v, dim=1), new_count, kv_sq.sqrt().T

    def _forward(self, x, state, starts):
        keys, values, length = state
        count = length[:, 0].detach().round().clamp(min=0).long()
        ys, norms = [], []
        for t0 in range(0, x.shape[0], self.block_len):
            t1 = min(t0 + self.block_len, x.shape[0])
            y, keys, values, count, norm = self._block_forward(x[t0:t1], keys, values, count, starts[t0:t1])
            ys.append(y)
            norms.append(norm)
        length = count.to(x.dtype)[:, None]
        y = ys[0] if len(ys) == 1 else torch.cat(ys)
        return y, (keys, values, length), {"written_kv_norm": torch.cat(norms)}

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, window={self.window}, n_layers={self.n_layers}, "
            f"n_heads={self.n_heads}, d_model={self.d_model}, mlp_ratio={self.mlp_ratio}, "
            f"episode_positions={self.episode_positions}"
        )
