"""DistractorNavigation: see the goal once, ignore look-alike decoys, be on the goal at the end."""

from __future__ import annotations

import numpy as np

from ..presets import preset
from ..render import AGENT, DECOY, FLOOR, GOAL, MARKER
from ..validation import check_int, check_int_range
from .base import BatchedTask
from .schedule import EventSchedule

__all__ = ["DistractorNavigation"]

STAY, UP, DOWN, LEFT, RIGHT = range(5)
_DX = (0, 0, 0, -1, 1)
_DY = (0, -1, 1, 0, 0)


class DistractorNavigation(BatchedTask):
    """A ``grid_size`` x ``grid_size`` (S x S) grid; the agent starts on a uniform random cell and
    always sees its own position. Step 0 shows the goal cell (uniform over all cells) with the
    marker flag; the action taken there is ignored, so the agent's moves never depend on what it
    saw before its memory could act. Afterwards ``num_decoys`` (M) decoy markers, each on a
    uniform cell other than the goal, flash at distinct random steps in [1, T) in exactly the same
    channel as the goal did. The episode has ``episode_length`` (T) steps; its last step pays 1
    (and succeeds) when the agent stands on the true goal after it, else 0. ``episode_length``
    may be a range (a, b): each episode draws its T from it (live-settable, so a curriculum can
    grow it), and the agent, which sees no clock, must hold the goal whenever the episode ends.
    ``num_decoys`` may be a range too (live-settable): each episode draws its M from it, so a
    curriculum can grow the number of distractors from none.

    Observation ``[marker_flag, agent x one-hot (S), agent y one-hot (S), marker x one-hot (S),
    marker y one-hot (S)]``; actions 0 stay, 1 up, 2 down, 3 left, 4 right (moves into a wall stay
    put). The true goal is the first marker: a policy that keeps the latest one heads for a decoy
    (M >= 1) and only ends on the goal by chance.

    Memoryless ceiling 1/S^2 (walk to a fixed cell and stay). After step 0 the only goal
    information in any observation is that a flashing decoy cell is not the goal; even a policy
    remembering every decoy cannot beat 1/(S^2 - M).
    """

    name = "DistractorNavigation"
    description = "goal cell shown at t=0, decoy markers flash later; stand on the true goal at the end"
    presets = {
        "easy": preset(0.9, grid_size=5, episode_length=60, num_decoys=3),
        "medium": preset(0.8, grid_size=7, episode_length=400, num_decoys=10),
        "hard": preset(0.6, grid_size=9, episode_length=2_000, num_decoys=30),
        "extreme": preset(0.4, grid_size=11, episode_length=10_000, num_decoys=100),
    }

    extra_live_params = ("episode_length", "num_decoys")

    def __init__(self, num_envs: int, *, grid_size: int, episode_length, num_decoys):
        self.grid_size = check_int("grid_size", grid_size, 2, 64, owner=self.name)
        # Step 0 is the display step; the remaining T - 1 moves must reach any cell.
        self._length_bounds = check_int_range(
            "episode_length", episode_length, 2 * self.grid_size - 1, 1_000_000, owner=self.name
        )
        lo, hi = self._length_bounds
        self.episode_length = lo if lo == hi else (lo, hi)
        #: Built range of decoy counts; ``num_decoys`` is its largest (the arrays' width).
        self._decoy_bounds = check_int_range("num_decoys", num_decoys, 0, lo - 1, owner=self.name)
        self.num_decoys = self._decoy_bounds[1]
        self.decoy_range = self._decoy_bounds  # live: set_param("num_decoys", ...) narrows it
        super().__init__(num_envs)
        s, n = self.grid_size, self.num_envs
        self.obs_size = 1 + 4 * s
        self.num_actions = 5
        self.horizon = hi
        self.length_range = self._length_bounds  # live: set_param("episode_length", ...) narrows it
        self.length = np.full(n, hi, dtype=np.int64)  # each row's episode length
        self.cell = np.zeros(n, dtype=np.int64)  # the agent's cell, y * S + x
        # Markers: event 0 is the goal shown at step 0, events 1..M the decoys.
        self.markers = EventSchedule(n, 1 + self.num_decoys)
        self.marker_cell = np.zeros((n, self.num_decoys + 2), dtype=np.int64)  # last column unused
        # Lookup tables keep a step to a few gathers: next cell by (cell, action) with walls, the
        # observation of an agent on each cell, and the marker part of the observation per cell.
        x, y = np.arange(s * s) % s, np.arange(s * s) // s
        self._next_cell = np.stack(
            [np.clip(y + dy, 0, s - 1) * s + np.clip(x + dx, 0, s - 1) for dx, dy in zip(_DX, _DY)], axis=1
        ).reshape(-1)
        self._cell_obs = np.zeros((s * s, self.obs_size), dtype=np.float32)
        self._cell_obs[np.arange(s * s), 1 + x] = 1.0
        self._cell_obs[np.arange(s * s), 1 + s + y] = 1.0
        self._marker_obs = np.zeros((s * s, self.obs_size), dtype=np.float32)
        self._marker_obs[:, 0] = 1.0
        self._marker_obs[np.arange(s * s), 1 + 2 * s + x] = 1.0
        self._marker_obs[np.arange(s * s), 1 + 3 * s + y] = 1.0

    @property
    def goal(self):
        return self.marker_cell[:, 0]

    @property
    def decoy_cell(self):
        return self.marker_cell[:, 1 : 1 + self.num_decoys]

    @property
    def x(self):
        return self.cell % self.grid_size

    @property
    def y(self):
        return self.cell // self.grid_size

    def _new_episodes(self, rows: np.ndarray) -> None:
        s, m = self.grid_size, self.num_decoys
        cells = s * s
        start_goal = self.rng.integers(rows, cells, 2)
        self.cell[rows] = start_goal[:, 0]
        goal = start_goal[:, 1]
        a, b = self.length_range
        length = self.rng.in_range(rows, a, b)
        self.length[rows] = length
        counts = None
        if self._decoy_bounds[1] > self._decoy_bounds[0]:  # fixed counts keep their streams
            counts = 1 + self.rng.in_range(rows, *self.decoy_range)
        self.markers.sample(self.rng, rows, 1, length, first=0, counts=counts)
        decoy = self.rng.integers(rows, cells - 1, m)
        self.marker_cell[rows, 0] = goal
        self.marker_cell[rows, 1 : m + 1] = decoy + (decoy >= goal[:, None])  # uniform over cells != goal

    def _observe(self) -> np.ndarray:
        obs = np.take(self._cell_obs, self.cell, axis=0)  # a fresh array
        rows = np.flatnonzero(self.markers.due(self.t))
        if rows.size:
            obs[rows] += self._marker_obs[self.marker_cell[rows, self.markers.index[rows]]]
        return obs

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(self.markers.due(self.t))
        moved = np.take(self._next_cell, self.cell * 5 + actions)
        if rows.size:
            goal_shown = rows[self.markers.index[rows] == 0]  # step 0: the action is ignored
            moved[goal_shown] = self.cell[goal_shown]
            self.markers.advance(rows)
        self.cell = moved
        final = self.t >= self.length - 1
        if final.any():
            return (final & (moved == self.goal)).astype(np.float64), final
        return np.zeros(self.num_envs), final

    def _success(self) -> np.ndarray:
        return self.cell == self.goal

    @property
    def live_max_steps(self) -> int:
        return self.length_range[1]

    def _set_episode_length(self, value) -> None:
        lo, hi = self._length_bounds
        self.length_range = check_int_range(
            f"episode_length (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name
        )

    def _set_num_decoys(self, value) -> None:
        lo, hi = self._decoy_bounds
        self.decoy_range = check_int_range(
            f"num_decoys (within the built range [{lo}, {hi}])", value, lo, hi, owner=self.name
        )

    def oracle_action(self):
        gx, gy = self.goal % self.grid_size, self.goal // self.grid_size
        x, y = self.x, self.y
        return np.select([x < gx, x > gx, y < gy, y > gy], [RIGHT, LEFT, DOWN, UP], STAY).astype(np.int64)

    def memoryless_action(self, obs):
        # Without the goal, head for a fixed cell (the top-left corner) and stay there.
        s = self.grid_size
        obs = np.asarray(obs)
        x = obs[:, 1 : 1 + s].argmax(axis=1)
        y = obs[:, 1 + s : 1 + 2 * s].argmax(axis=1)
        return np.select([x > 0, y > 0], [LEFT, UP], STAY).astype(np.int64)

    @property
    def memoryless_ceiling(self):
        return 1.0 / self.grid_size**2

    @property
    def memoryless_return(self):
        return 1.0 / self.grid_size**2

    def render_state(self, row: int) -> dict:
        """The grid (row 0 on top): decoys already shown, the goal, the marker shown now, the agent."""
        s = self.grid_size
        grid = np.full(s * s, FLOOR, dtype=np.int64)
        shown = int(self.markers.index[row])  # markers already past; marker 0 is the goal
        grid[self.decoy_cell[row, : max(shown - 1, 0)]] = DECOY
        grid[self.goal[row]] = GOAL
        if self.markers.due(self.t)[row]:
            grid[self.marker_cell[row, shown]] = MARKER
        grid[self.cell[row]] = AGENT
        cells = {"agent": self.cell[row], "goal": self.goal[row]}
        return {"grid": grid.reshape(s, s), **{k: f"({c % s},{c // s})" for k, c in cells.items()}}
