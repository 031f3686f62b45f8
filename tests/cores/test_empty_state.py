"""A core without state (the memoryless trunk, or a user core) goes through the contract's resets."""

import torch
from memory_agents.cores.base import MemoryCore
from torch import nn


class Stateless(MemoryCore):
    """Uses the generic step path, so every reset goes through ``reset_state`` with state ()."""

    def __init__(self, input_dim=3, hidden_dim=4):
        super().__init__(input_dim, hidden_dim)
        self.lin = nn.Linear(input_dim, hidden_dim)

    def state_shapes(self):
        return ()

    def _forward(self, x, state, starts):
        return self._forward_steps(x, state, starts)

    def _step(self, x_t, state):
        return self.lin(x_t), state


def test_reset_state_of_an_empty_state_is_empty():
    core = Stateless()
    assert core.reset_state((), torch.tensor([True, False])) == ()
    assert core.reset_state((), torch.tensor([False, False])) == ()


def test_stateless_core_runs_with_episode_starts():
    core = Stateless()
    x = torch.randn(5, 2, 3)
    starts = torch.zeros(5, 2, dtype=torch.bool)
    starts[0] = starts[3, 1] = True
    y, state = core(x, None, starts)
    assert state == () and y.shape == (5, 2, 4)
    torch.testing.assert_close(y, core.lin(x))
