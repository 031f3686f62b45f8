"""T-maze, passive and active (Ni et al. 2023, "When do transformers shine in RL?").

A corridor of ``corridor_length`` (L) cells ends at a junction with an up arm and a down arm. Cell
0 is the cue cell, where the observation shows the cue (up or down). The passive maze starts on
the cue cell; the active maze starts one cell to its right, so the agent must first step back to
look. The agent then walks right to the junction and turns into an arm: the episode ends there,
and succeeds when the arm is the one the cue named. The time limit is the shortest successful
path (L + 1 steps passive, L + 1 + 2 x start_offset active, so L + 3 by default) plus ``slack``; reaching it ends the episode as a failure
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

Corridor ranges. ``corridor_length=(low, high)`` draws each episode's L from [low, high], and
``set_param('corridor_length', ...)`` narrows the range on a live env (from each row's next
episode on), like a delay range: a curriculum grows the corridor where walking is cheap to learn.
The rewards above follow each episode's own L, so every episode's return stays exact, in [0, 1],
and 1.0 for the oracle; a short corridor pays more per cell, which is what makes its walk easy to
learn. ``cell_reward`` / ``arm_reward`` are those of the longest corridor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..presets import preset
from ..render import AGENT, CUE_UP, FLOOR, GOAL, WALL
from ..validation import check_float, check_int, check_int_range
from .base import BatchedTask, light

__all__ = ["TMazePassive", "TMazeActive"]

RIGHT, LEFT, UP, DOWN = 0, 1, 2, 3
MAX_CORRIDOR = 1_000_000


def _cell_rewards(progress_reward: float, lengths):
    """Per corridor length: the largest power of two <= progress_reward / length (0 without progress)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    if progress_reward <= 0:
        return np.zeros_like(lengths)
    return np.ldexp(1.0, np.frexp(progress_reward / lengths)[1] - 1)


class _TMaze(BatchedTask):
    """Shared logic; subclasses only choose where the agent starts (``active``)."""

    active = False
    extra_live_params = ("slack", "corridor_length")
    #: Cells between the cue cell and the start: (0, 0) passive; the active maze's start_offset.
    start_range = (0, 0)

    def __init__(self, num_envs: int, *, corridor_length: Any, slack: int = 0, progress_reward: float = 0.25):
        #: Built range of corridor lengths; ``corridor_length`` is its longest.
        self.corridor_range = check_int_range(
            "corridor_length", corridor_length, 1, MAX_CORRIDOR, owner=self.name
        )
        self.corridor_length = self.corridor_range[1]
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
        self.start = self.start_range[1]  # the farthest start: it sets the longest episode
        self.horizon = self.corridor_length + 1 + 2 * self.start + self.slack
        self.cell_reward = float(_cell_rewards(self.progress_reward, self.corridor_length))
        self.arm_reward = 1.0 - self.corridor_length * self.cell_reward
        n = self.num_envs
        # Each row's episode: its corridor (junction cell, rewards), cue, position, farthest cell
        # reached and time limit. The live corridor range and slack can change on a live env (a
        # curriculum), from each row's next episode on.
        self.live_corridor = self.corridor_range
        self.live_slack = self.slack
        self.live_start = self.start_range
        self.length = np.full(n, self.corridor_length, dtype=np.int64)
        self.row_start = np.full(n, self.start, dtype=np.int64)
        self.junction = self.row_start + self.length
        self.row_cell_reward = np.full(n, self.cell_reward)
        self.row_arm_reward = np.full(n, self.arm_reward)
        self.pos = np.zeros(n, dtype=np.int64)
        self.cue = np.zeros(n, dtype=np.int64)
        self.farthest = np.zeros(n, dtype=np.int64)
        self.correct = np.zeros(n, dtype=bool)
        self.limit = np.full(n, self.horizon, dtype=np.int64)

    def _new_episodes(self, rows: np.ndarray) -> None:
        self.cue[rows] = self.rng.integers(rows, 2, 1)[:, 0]
        a, b = self.live_corridor
        if self.corridor_range[1] > self.corridor_range[0]:  # fixed corridors keep their streams
            length = self.rng.in_range(rows, a, b)
            self.length[rows] = length
            self.row_cell_reward[rows] = _cell_rewards(self.progress_reward, length)
            self.row_arm_reward[rows] = 1.0 - length * self.row_cell_reward[rows]
        a, b = self.live_start
        if self.start_range[1] > self.start_range[0]:  # so do fixed starts
            self.row_start[rows] = self.rng.in_range(rows, a, b)
        start = self.row_start[rows]
        self.junction[rows] = start + self.length[rows]
        self.pos[rows] = start
        self.farthest[rows] = start
        self.correct[rows] = False
        self.limit[rows] = self.length[rows] + 1 + 2 * start + self.live_slack

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, 5), dtype=np.float32)
        rows = np.arange(self.num_envs)
        at_cue = self.pos == 0
        light(obs, rows, np.where(at_cue, 0, np.where(self.pos == self.junction, 4, 3)))
        light(obs, rows[at_cue], 1 + self.cue[at_cue])  # the cue, seen only on the cue cell
        return obs

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at_junction = self.pos == self.junction
        turns = at_junction & (actions >= UP)
        self.correct = turns & (actions - UP == self.cue)
        # Right stops at the junction, left at the cue cell; up / down in the corridor stay put.
        moves = ((actions == RIGHT) & ~at_junction).astype(np.int64) - (actions == LEFT)
        self.pos = np.maximum(self.pos + moves, 0)
        reward = self.correct * self.row_arm_reward
        if self.progress_reward:
            new_cell = self.pos > self.farthest
            np.maximum(self.farthest, self.pos, out=self.farthest)
            reward += new_cell * self.row_cell_reward
        # Running out of time ends the episode as a failure (terminated, not truncated): the limit is
        # part of the task, and bootstrapping past it would make dawdling at the junction look as
        # good as turning.
        return reward, turns | (self.t >= self.limit - 1)

    def _success(self) -> np.ndarray:
        return self.correct.copy()

    @property
    def live_max_steps(self):
        return self.live_corridor[1] + 1 + 2 * self.live_start[1] + self.live_slack

    def _set_slack(self, value: int) -> None:
        self.live_slack = check_int(
            f"slack (within the built slack [0, {self.slack}])", value, 0, self.slack, owner=self.name
        )

    def _set_corridor_length(self, value: Any) -> None:
        lo, hi = self.corridor_range
        self.live_corridor = check_int_range(
            f"corridor_length (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name
        )

    def oracle_action(self):
        """Look at the cue first (active maze: walk left to the cue cell), walk to the junction,
        turn to the cued arm."""
        action = np.where(self.pos < self.junction, RIGHT, UP + self.cue)
        return np.where(self.t < self.row_start, LEFT, action)

    def memoryless_action(self, obs):
        # Walk right; at the junction the cue is no longer visible, so guess "up".
        return np.where(np.asarray(obs)[:, 4] > 0, UP, RIGHT).astype(np.int64)

    @property
    def memoryless_ceiling(self):
        return 0.5

    @property
    def memoryless_return(self):
        # All progress, then half the arm reward: 0.5 + L * cell / 2, averaged over the built range.
        lengths = np.arange(self.corridor_range[0], self.corridor_range[1] + 1)
        return float(0.5 + 0.5 * np.mean(lengths * _cell_rewards(self.progress_reward, lengths)))

    def render_state(self, row: int) -> dict:
        """The maze seen from above: up arm, corridor (cue cell in the cue's colour, then the
        cells to the junction) and down arm; the cued arm is the goal; the agent on its cell."""
        pos, cue, junction = int(self.pos[row]), int(self.cue[row]), int(self.junction[row])
        maze = np.full((3, junction + 1), WALL, dtype=np.int64)
        maze[1] = FLOOR
        maze[[0, 2], junction] = FLOOR
        maze[2 * cue, junction] = GOAL
        maze[1, 0] = CUE_UP + cue
        maze[1, pos] = AGENT
        return {"maze": maze, "cue": ("up", "down")[cue], "pos": f"{pos}/{junction}"}


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
    """Active T-maze: the cue cell is ``start_offset`` (default 1) steps behind the start; the agent
    must go and look. A range (a, b) draws each episode's offset: with (0, 1), half the episodes
    start on the cue cell (passive), so the turn learns to use the cue there and looking back pays
    at once in the others (a curriculum can grow it from 0: ``param: start_offset``). The time limit
    is the corridor plus the walk back and forth (L + 1 + 2 * offset) plus slack."""

    name = "TMazeActive"
    description = "cue only in a side cell behind the start: go look, walk the corridor, turn to the cued arm"
    active = True
    extra_live_params = (*_TMaze.extra_live_params, "start_offset")

    def __init__(
        self,
        num_envs: int,
        *,
        corridor_length: Any,
        slack: int = 0,
        progress_reward: float = 0.25,
        start_offset: Any = 1,
    ):
        self.start_range = check_int_range("start_offset", start_offset, 0, 1_000, owner=self.name)
        self.start_offset = self.start_range[1]  # the farthest start (a curriculum's target)
        super().__init__(
            num_envs, corridor_length=corridor_length, slack=slack, progress_reward=progress_reward
        )

    def _set_start_offset(self, value: Any) -> None:
        lo, hi = self.start_range
        self.live_start = check_int_range(
            f"start_offset (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name
        )

    presets = {
        "easy": preset(0.9, corridor_length=100),
        "medium": preset(0.85, corridor_length=500),
        "hard": preset(0.75, corridor_length=2_500),
        "extreme": preset(0.65, corridor_length=10_000),
    }
