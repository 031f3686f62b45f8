"""Render modes of every task: a small RGB image (``"rgb_array"``) or one text line (``"ansi"``).

Every frame shows what any task has (time, observation, the agent's last action and reward) plus
the hidden state a person needs to judge the agent, which each task names in one method,
``render_state(row) -> dict`` (insertion order is drawing order). Its values are:

- an int or a 1-D int array: tokens, drawn as a strip of coloured cells (-1: nothing there),
  printed as ``name=3`` / ``name=[3,1,-]``;
- a 2-D int array: a map of material codes (``WALL`` ... ``AGENT``), drawn spatially, one cell
  per entry (row 0 on top); not printed;
- a str: printed only.

So the drawing lives here once and a task only says what to show. Image layout, top to bottom:
time bar (t / horizon), observation strip (dark 0 to yellow 1), one band per ``render_state``
entry, then the action strip (the chosen action lit in its token colour) and the reward cell
(grey for none or 0, dim to bright green up to 1). Cells are ``CELL`` px apart (maps of at most
``LINE_CELLS // 2`` a side: twice that), strips wrap after ``LINE_CELLS`` cells, and maps wider
or taller than that are binned (the highest material code of a bin wins, so the agent never
disappears). With a delay range, the ansi line also says how many extra blank steps the task's
clock is still held for (``extra_delay=k``). Drawing is plain numpy (no font or plotting
library: the env package depends on gymnasium and numpy only).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from .validation import check_choice

__all__ = [
    "RENDER_MODES",
    "RENDER_FPS",
    "CELL",
    "LINE_CELLS",
    "MARGIN",
    "WALL",
    "FLOOR",
    "DECOY",
    "GOAL",
    "CUE_UP",
    "CUE_DOWN",
    "MARKER",
    "AGENT",
    "MATERIAL_COLOURS",
    "check_render_mode",
    "warn_no_render_mode",
    "at_row",
    "token_colours",
    "draw_frame",
    "ansi_frame",
    "Renderer",
]

RENDER_MODES = ("rgb_array", "ansi")
RENDER_FPS = 8
CELL = 8  # cell pitch in px: 7 px of colour and a 1 px gap
LINE_CELLS = 64  # strips wrap and maps are binned beyond this many cells
MARGIN = 4
BAND_GAP = 4
BAR_HEIGHT = 4

# Map materials, in drawing priority: binning a wide map keeps the highest code of each bin.
WALL, FLOOR, DECOY, GOAL, CUE_UP, CUE_DOWN, MARKER, AGENT = range(8)
MATERIAL_COLOURS = np.array(
    [
        (40, 40, 46),  # wall
        (110, 110, 120),  # floor
        (170, 60, 60),  # decoy shown earlier
        (60, 200, 90),  # goal (the cued arm, the true goal cell)
        (70, 130, 255),  # cue "up"
        (255, 140, 40),  # cue "down"
        (255, 220, 64),  # marker shown now
        (255, 255, 255),  # agent
    ],
    dtype=np.uint8,
)
BACKGROUND = np.array((20, 20, 24), dtype=np.uint8)
EMPTY = np.array((56, 56, 64), dtype=np.uint8)
OBS_ON = np.array((255, 220, 64), dtype=np.float64)
BAR_ON = np.array((200, 200, 210), dtype=np.uint8)
REWARD_LOW = np.array((40, 80, 50), dtype=np.float64)  # any reward above 0 is at least this green
REWARD_ONE = np.array((60, 230, 90), dtype=np.float64)


def warn_no_render_mode(task_name: str) -> None:
    """What gymnasium's envs do when ``render()`` is called without a render mode: warn, return None."""
    gym.logger.warn(
        f"{task_name}: render() without a render_mode; pass render_mode='rgb_array' or 'ansi' when making the env"
    )


def check_render_mode(render_mode: Any) -> str | None:
    """``render_mode`` if supported, else ValueError naming the supported ones."""
    return check_choice("render_mode", render_mode, RENDER_MODES, optional=True)


def at_row(value: Any, row: int) -> Any:
    """``value[row]`` for a per-row array, ``value`` for a scalar: task attributes such as a delay
    or a query time may be either."""
    arr = np.asarray(value)
    return arr.item() if arr.ndim == 0 else arr[row]


def token_colours(tokens: np.ndarray) -> np.ndarray:
    """(k, 3) uint8 colour of each token (hues a golden ratio apart, so neighbours differ); -1 is empty."""
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    h = (tokens * 0.6180339887 + 0.85) % 1.0 * 6.0  # token 0 magenta: unlike the cue and goal colours
    s, v = 0.7, 240.0
    i, f = np.floor(h).astype(np.int64) % 6, h - np.floor(h)
    p, q, r = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    vv = np.full_like(h, v)
    pp = np.full_like(h, p)
    rgb = np.select(
        [i[:, None] == k for k in range(6)],
        [
            np.stack(c, axis=1)
            for c in ((vv, r, pp), (q, vv, pp), (pp, vv, r), (pp, q, vv), (r, pp, vv), (vv, pp, q))
        ],
    )
    out = rgb.astype(np.uint8)
    out[tokens < 0] = EMPTY
    return out


def _cells(grid: np.ndarray, pitch: int = CELL) -> np.ndarray:
    """Scale a (h, w, 3) grid of cell colours to pixels, a 1 px background gap between cells."""
    img = np.repeat(np.repeat(grid, pitch, axis=0), pitch, axis=1)
    img[pitch - 1 :: pitch] = BACKGROUND
    img[:, pitch - 1 :: pitch] = BACKGROUND
    return img[:-1, :-1]


def _strip(colours: np.ndarray) -> np.ndarray:
    """Cells in reading order, ``LINE_CELLS`` to a line."""
    k = max(len(colours), 1)
    width = min(k, LINE_CELLS)
    grid = np.broadcast_to(BACKGROUND, (math.ceil(k / width) * width, 3)).copy()
    grid[: len(colours)] = colours
    return _cells(grid.reshape(-1, width, 3))


def _bin(codes: np.ndarray, axis: int) -> np.ndarray:
    """Max-pool ``axis`` of a map into at most ``LINE_CELLS`` bins of equal size."""
    k = math.ceil(codes.shape[axis] / LINE_CELLS)
    if k == 1:
        return codes
    pad = [(0, 0), (0, 0)]
    pad[axis] = (0, -codes.shape[axis] % k)
    codes = np.pad(codes, pad, constant_values=WALL)
    shape = list(codes.shape)
    shape[axis : axis + 1] = [shape[axis] // k, k]
    return codes.reshape(shape).max(axis=axis + 1)


def _map(codes: np.ndarray) -> np.ndarray:
    """Binned to at most LINE_CELLS cells a side; maps of up to half that get cells twice as big."""
    codes = _bin(_bin(np.asarray(codes, dtype=np.int64), 0), 1)
    pitch = 2 * CELL if 2 * max(codes.shape) <= LINE_CELLS else CELL
    return _cells(MATERIAL_COLOURS[codes], pitch)


def _lerp(low: np.ndarray, high: np.ndarray, x) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)[..., None]  # display only
    return (low + (high - low) * x).astype(np.uint8)


def draw_frame(
    t: int, horizon: int, obs: np.ndarray, state: dict, num_actions: int, action: int, reward: float
) -> np.ndarray:
    """The (H, W, 3) uint8 image of one row (layout in the module docstring); H and W are even
    (video encoders need that) and depend only on the task's parameters, never on the step."""
    bands = [_strip(_lerp(EMPTY.astype(np.float64), OBS_ON, obs))]
    for value in state.values():
        if isinstance(value, str):
            continue
        value = np.asarray(value)
        bands.append(_map(value) if value.ndim == 2 else _strip(token_colours(value)))
    acts = np.broadcast_to(EMPTY, (num_actions, 3)).copy()
    if action >= 0:
        acts[action] = token_colours(np.array([action]))[0]
    rew = EMPTY if math.isnan(reward) or reward <= 0 else _lerp(REWARD_LOW, REWARD_ONE, reward)
    bands.append(_strip(np.concatenate([acts, BACKGROUND[None], np.asarray(rew, np.uint8)[None]])))
    width = max(b.shape[1] for b in bands)
    bar = np.broadcast_to(EMPTY, (BAR_HEIGHT, width, 3)).copy()
    bar[:, : round(width * min(t / horizon, 1.0))] = BAR_ON
    bands.insert(0, bar)
    height = sum(b.shape[0] for b in bands) + BAND_GAP * (len(bands) - 1)
    h, w = height + 2 * MARGIN, width + 2 * MARGIN
    img = np.broadcast_to(BACKGROUND, (h + h % 2, w + w % 2, 3)).copy()
    y = MARGIN
    for b in bands:
        img[y : y + b.shape[0], MARGIN : MARGIN + b.shape[1]] = b
        y += b.shape[0] + BAND_GAP
    return img


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return str(int(arr))
    return "[" + ",".join("-" if v < 0 else str(int(v)) for v in arr) + "]"


def ansi_frame(t: int, horizon: int, obs: np.ndarray, state: dict, action: int, reward: float) -> str:
    """One line, e.g. ``t=12/62 obs=0100 cue=3 action=1 reward=0``: obs as one digit per column
    (every observation is 0/1 flags and one-hots), maps left out."""
    obs_text = "".join(str(int(v)) if v in (0.0, 1.0) else f"({v:g})" for v in np.asarray(obs).tolist())
    parts = [f"t={t}/{horizon}", f"obs={obs_text}"]
    parts += [f"{k}={_text(v)}" for k, v in state.items() if isinstance(v, str) or np.ndim(v) < 2]
    parts += [
        f"action={'-' if action < 0 else action}",
        f"reward={'-' if math.isnan(reward) else f'{reward:g}'}",
    ]
    return " ".join(parts)


class Renderer:
    """What MemoryEnv / MemoryVectorEnv need to render: the mode and each row's last action and
    reward (the task's state keeps neither). Created only when a render mode is set, so plain
    stepping pays nothing."""

    def __init__(self, task: Any, render_mode: str):
        self.task = task
        self.mode = render_mode
        self.action = np.full(task.num_envs, -1, dtype=np.int64)
        self.reward = np.full(task.num_envs, np.nan)

    def reset(self, rows: np.ndarray) -> None:
        """Rows that start a new episode have no last action yet."""
        self.action[rows] = -1
        self.reward[rows] = np.nan

    def record(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        self.action[:] = actions
        self.reward[:] = rewards

    def frames(self) -> list:
        """One frame per row, in the render mode."""
        task = self.task
        obs = task.observe()
        out = []
        extra = getattr(task, "extra_delay", None)  # delay ranges: blank steps still to insert (t held)
        for row in range(task.num_envs):
            t, horizon = int(task.t[row]), int(at_row(task.horizon, row))
            state = task.render_state(row)
            if extra is not None and extra[row] > 0:
                state = {"extra_delay": str(int(extra[row])), **state}
            action, reward = int(self.action[row]), float(self.reward[row])
            if self.mode == "ansi":
                out.append(ansi_frame(t, horizon, obs[row], state, action, reward))
            else:
                out.append(draw_frame(t, horizon, obs[row], state, task.num_actions, action, reward))
        return out
