"""LSTM core: torch's fused nn.LSTM; state ``(h, c)``, each of shape (B, num_layers, H)."""

from torch import nn

from .base import register_core
from .torch_rnn import FusedRNNCore


@register_core("lstm")
class LSTMCore(FusedRNNCore):
    """Long short-term memory; output is the last layer's hidden state h."""

    rnn_cls = nn.LSTM
    n_state_tensors = 2
    keep_gate, input_gate = 1, 0  # gate order i, f, g, o
