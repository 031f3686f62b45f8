"""T-maze, passive and active (Ni et al. 2023, "When do transformers shine in RL?").

A corridor of ``corridor_length`` (L) cells ends at a junction with an up arm and a down arm. Cell
0 is the cue cell, where the observation shows the cue (up or down). The passive maze starts on
the cue cell; the active maze starts one cell to its right, so the agent must first step back to
look. The agent then walks right to the junction and turns into an arm: the episode ends there,
and succeeds when the arm is the one the cue named. The time limit is the shortest successful
path (L + 1 steps passive, L + 3 active) plus ``slack``; reaching it ends the episode as a failure
(``terminated``, as in the paper's fixed horizon: the agent sees no clock, the limit is part of
the task).

Observation ``[cue_cell, cue_up, cue_down, corridor, junction]``: the corridor cells all look the
same and there is no clock, so after leaving the cue cell nothing observed depends on the cue and
a memoryless policy turns correctly half of the time whatever it does (ceiling 0.5).
Actions: 0 right, 1 left, 2 up, 3 down (up/down in the corridor and moves into walls stay put).

Reward: each corridor cell reached for the first time on the way to the junction pays
``cell_reward`` (the largest power of two <= progress_reward / L, so that sums are exact in
floating point); the correct arm pays ``1 - L * cell_reward``. The oracle's return is exactly 1.0;
a wrong arm keeps only the progress reward. The progress reward stands in for the paper's
per-step penalty (returns must stay in [0, 1]) and gives a learner a signal to walk the corridor.
"""

from __future__ import annotations

import math

import numpy as np

from ..presets import preset
from ..render import AGENT, CUE_UP, FLOOR, GOAL, WALL
from ..validation import check_float, check_int
from .base import BatchedTask

__all__ = ["TMazePassive", "TMazeActive"]

RIGHT, LEFT, UP, DOWN = 0, 1, 2, 3


class _TMaze(BatchedTask):
    """Shared logic; subclasses only choose where the agent starts (``active``)."""

    active = False
    extra_live_params = ("slack",)

    def __init__(self, num_envs: int, *, corridor_length: int, slack: int = 0, progress_reward: float = 0.25):
        self.corridor_length = check_int("corridor_length", corridor_length, 1, 1_000_000, owner=self.name)
        self.slack = check_int("slack", slack, 0, 1_000_000, owner=self.name)
        self.progress_reward = check_float("progress_reward", progress_reward, 0.0, 0.5, owner=self.name)
        smallest = self.corridor_length * 2.0**-30  # keeps every partial return exact
        if 0.0 < self.progress_reward < smallest:
            raise ValueError(
                f"{self.name}: parameter 'progress_reward' must be 0 or in [{smallest:.3g}, 0.5] "
                f"(corridor_length * 2**-30), got {progress_reward!r}"
            )
        super().__init__(num_envs)
        self.obs_size = 5
        self.num_actions = 4
        self.start = 1 if self.active else 0
        self.junction = self.start + self.corridor_length
        self.horizon = self.corridor_length + 1 + 2 * self.start + self.slack
        if self.progress_reward > 0:  # the largest power of two <= progress_reward / L
            self.cell_reward = math.ldexp(1.0, math.frexp(self.progress_reward / self.corridor_length)[1] - 1)
        else:
            self.cell_reward = 0.0
        self.arm_reward = 1.0 - self.corridor_length * self.cell_reward
        # State of a row: s = 2 * position + cue (0 = up, 1 = down). Everything a step needs is a
        # lookup by s or by (s, action), so a step is a handful of array gathers.
        positions = np.arange(self.junction + 1)
        at_cue, at_junction = positions == 0, positions == self.junction
        code = np.where(at_junction, 4, np.where(at_cue, 0, 3))  # obs flag column of each position
        obs_rows = np.zeros((2 * (self.junction + 1), 5), dtype=np.float32)
        for cue in (0, 1):
            states = 2 * positions + cue
            obs_rows[states, code] = 1.0
            obs_rows[states[at_cue], 1 + cue] = 1.0  # the cue, seen only on the cue cell
        self._obs_rows = obs_rows
        right = np.where(at_junction, positions, positions + 1)
        left = np.maximum(positions - 1, 0)
        moves = np.stack([right, left, positions, positions], axis=1)  # (position, action)
        self._next_state = (2 * moves[:, None, :] + np.array([0, 1])[None, :, None]).reshape(-1)
        turns = np.zeros((self.junction + 1, 2, 4), dtype=bool)
        turns[self.junction, :, UP:] = True
        self._turns = turns.reshape(-1)
        correct = np.zeros_like(turns)
        correct[self.junction, 0, UP] = correct[self.junction, 1, DOWN] = True
        self._correct_turn = correct.reshape(-1)
        n = self.num_envs
        self.state = np.zeros(n, dtype=np.int64)
        self.farthest = np.zeros(n, dtype=np.int64)
        self.correct = np.zeros(n, dtype=bool)
        # Time limit of each row's episode: slack can shrink on a live env (a curriculum that
        # starts with room to explore), from each row's next episode on.
        self.live_slack = self.slack
        self.limit = np.full(n, self.horizon, dtype=np.int64)

    @property
    def pos(self):
        return self.state >> 1

    @property
    def cue(self):
        return self.state & 1

    def _new_episodes(self, rows: np.ndarray) -> None:
        self.state[rows] = 2 * self.start + self.rng.integers(rows, 2, 1)[:, 0]
        self.farthest[rows] = self.start
        self.correct[rows] = False
        self.limit[rows] = self.horizon - self.slack + self.live_slack

    def _observe(self) -> np.ndarray:
        return np.take(self._obs_rows, self.state, axis=0)  # a fresh array

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.state * 4 + actions
        self.state = np.take(self._next_state, idx)
        self.correct = np.take(self._correct_turn, idx)
        reward = self.correct * self.arm_reward
        if self.cell_reward:
            pos = self.state >> 1
            new_cell = pos > self.farthest
            np.maximum(self.farthest, pos, out=self.farthest)
            reward += new_cell * self.cell_reward
        # Running out of time ends the episode as a failure (terminated, not truncated): the limit is
        # part of the task, and bootstrapping past it would make dawdling at the junction look as
        # good as turning.
        return reward, np.take(self._turns, idx) | (self.t >= self.limit - 1)

    def _success(self) -> np.ndarray:
        return self.correct.copy()

    @property
    def live_max_steps(self):
        return self.horizon - self.slack + self.live_slack

    def _set_slack(self, value: int) -> None:
        self.live_slack = check_int(
            f"slack (within the built slack [0, {self.slack}])", value, 0, self.slack, owner=self.name
        )

    def oracle_action(self):
        """Look at the cue first (active maze), walk to the junction, turn to the cued arm."""
        pos = self.pos
        action = np.where(pos < self.junction, RIGHT, UP + self.cue)
        if self.active:
            action[self.t == 0] = LEFT
        return action

    def memoryless_action(self, obs):
        # Walk right; at the junction the cue is no longer visible, so guess "up".
        return np.where(np.asarray(obs)[:, 4] > 0, UP, RIGHT).astype(np.int64)

    @property
    def memoryless_ceiling(self):
        return 0.5

    @property
    def memoryless_return(self):
        return self.corridor_length * self.cell_reward + 0.5 * self.arm_reward

    def render_state(self, row: int) -> dict:
        """The maze seen from above: up arm, corridor (cue cell in the cue's colour, then the
        cells to the junction) and down arm; the cued arm is the goal; the agent on its cell."""
        pos, cue = int(self.pos[row]), int(self.cue[row])
        maze = np.full((3, self.junction + 1), WALL, dtype=np.int64)
        maze[1] = FLOOR
        maze[[0, 2], self.junction] = FLOOR
        maze[2 * cue, self.junction] = GOAL
        maze[1, 0] = CUE_UP + cue
        maze[1, pos] = AGENT
        return {"maze": maze, "cue": ("up", "down")[cue], "pos": f"{pos}/{self.junction}"}


class TMazePassive(_TMaze):
    """Passive T-maze: the agent starts on the cue cell (see the module docstring)."""

    name = "TMazePassive"
    description = "cue seen at the start of a length-L corridor; turn to the cued arm at its end"
    active = False
    presets = {
        "easy": preset(0.95, corridor_length=100),
        "medium": preset(0.9, corridor_length=500),
        "hard": preset(0.8, corridor_length=2_500),
        "extreme": preset(0.7, corridor_length=10_000),
    }


class TMazeActive(_TMaze):
    """Active T-maze: the cue cell is one step behind the start; the agent must go and look."""

    name = "TMazeActive"
    description = "cue only in a side cell behind the start: go look, walk the corridor, turn to the cued arm"
    active = True
    presets = {
        "easy": preset(0.9, corridor_length=100),
        "medium": preset(0.85, corridor_length=500),
        "hard": preset(0.75, corridor_length=2_500),
        "extreme": preset(0.65, corridor_length=10_000),
    }
