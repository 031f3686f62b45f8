"""GRU core: torch's fused nn.GRU; state ``(h,)`` with h of shape (B, num_layers, H)."""

from torch import nn

from .base import register_core
from .torch_rnn import FusedRNNCore


@register_core("gru")
class GRUCore(FusedRNNCore):
    """Gated recurrent unit; output is the last layer's hidden state."""

    rnn_cls = nn.GRU
    n_state_tensors = 1
    keep_gate = 1  # gate order r, z, n
