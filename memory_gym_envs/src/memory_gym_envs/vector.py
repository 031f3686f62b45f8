"""MemoryVectorEnv: the native ``gymnasium.vector.VectorEnv`` of every MemoryGym task.

All N rows step with array operations of the task's batched core. Autoreset follows gymnasium
1.x (https://farama.org/Vector-Autoreset-Mode):

- NEXT_STEP (default): the step that ends a row's episode returns its last observation and
  ``info["is_success"]`` (masked by ``info["_is_success"]``); the row's next ``step`` ignores the
  action, resets it and returns the first observation with reward 0 and no termination.
- SAME_STEP (what SB3 expects): the ending step already returns the new episode's first
  observation; the last one is in ``info["final_obs"]`` (object array, None elsewhere) and the
  episode's info in ``info["final_info"]`` (``{"is_success", "_is_success"}``), both masked by
  ``info["_final_obs"]`` / ``info["_final_info"]``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from .difficulty import build_task
from .env import TaskControls
from .render import RENDER_FPS, RENDER_MODES, Renderer, check_render_mode, warn_no_render_mode
from .rng import fresh_seed
from .validation import check_choice, check_seed

__all__ = ["MemoryVectorEnv"]

_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def _autoreset_mode(mode: Any) -> AutoresetMode:
    """An AutoresetMode or its value ("NextStep", "SameStep"), as the enum."""
    values = [m.value for m in _MODES]
    return AutoresetMode(check_choice("autoreset_mode", getattr(mode, "value", mode), values))


class MemoryVectorEnv(TaskControls, gym.vector.VectorEnv):
    """N episodes of one task (``gym.make_vec("MemoryGym/<Task>-v0", num_envs=N)``).

    Row i after ``reset(seed=s)`` plays exactly the episodes of a ``MemoryEnv`` reset with seed
    s + i. Pass ``autoreset_mode=AutoresetMode.SAME_STEP`` to ``make_vec`` as a keyword argument
    (gymnasium refuses ``vector_kwargs`` for vector entry points). With ``render_mode``
    "rgb_array" or "ansi", ``render()`` returns one frame per row, row i's the same as that
    single env's.
    """

    def __init__(
        self,
        task: Any,
        num_envs: int = 1,
        difficulty: str | None = "easy",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **params,
    ):
        self.render_mode = check_render_mode(render_mode)
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.task = build_task(task, num_envs, difficulty, params)
        self.difficulty = difficulty or "easy"
        self.num_envs = self.task.num_envs
        self.metadata = {
            "autoreset_mode": self.autoreset_mode,
            "render_modes": list(RENDER_MODES),
            "render_fps": RENDER_FPS,
        }
        self._renderer = Renderer(self.task, render_mode) if render_mode else None
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, (self.task.obs_size,), np.float32)
        self.single_action_space = gym.spaces.Discrete(self.task.num_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._all_rows = np.arange(self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._any_autoreset = False
        self._needs_reset = True

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        """Reset all rows, or those in ``options["reset_mask"]`` (bool array of shape (N,)).

        ``seed``: None (continue each row's stream; OS entropy the first time), an int s
        (row i gets s + i) or a list of N non-negative ints.
        """
        rows = self._all_rows
        if options is not None and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), "
                    f"got {mask.dtype} {mask.shape}"
                )
            rows = np.flatnonzero(mask)
        if seed is None:
            if not self.task.rng.seeded:
                self.task.seed(self._all_rows, fresh_seed() + self._all_rows.astype(np.uint64))
        else:
            if isinstance(seed, (list, tuple, np.ndarray)):
                seeds = [check_seed(s) for s in seed]
                if len(seeds) != self.num_envs:
                    raise ValueError(
                        f"seed list must have num_envs={self.num_envs} entries, got {len(seeds)}"
                    )
                seeds = np.array(seeds, dtype=np.uint64)
                super().reset(seed=None)
            else:
                base = check_seed(seed, self.num_envs)
                seeds = np.uint64(base) + self._all_rows.astype(np.uint64)
                super().reset(seed=base)
            self.task.seed(rows, seeds[rows])
        self.task.reset(rows)
        if self._renderer is not None:
            self._renderer.reset(rows)
        self._autoreset[rows] = False
        self._any_autoreset = bool(np.count_nonzero(self._autoreset))
        self._needs_reset = False
        return self.task.observe(), {}

    def step(self, actions):
        if self._needs_reset:
            raise RuntimeError(f"{self.task.name}: call reset() before step()")
        task = self.task
        actions = task.check_actions(actions)
        reward, terminated, truncated = task.step(actions)
        renderer = self._renderer
        if renderer is not None:
            renderer.record(actions, reward)
        infos: dict[str, Any] = {}
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            if self._any_autoreset:
                rows = np.flatnonzero(self._autoreset)
                reward[rows] = 0.0
                terminated[rows] = False
                truncated[rows] = False
                task.reset(rows)
                if renderer is not None:
                    renderer.reset(rows)
            obs = task.observe()
            done = terminated | truncated
            self._any_autoreset = bool(np.count_nonzero(done))
            if self._any_autoreset:
                infos["is_success"] = task.success() & done
                infos["_is_success"] = done.copy()
            self._autoreset = done
        else:  # SAME_STEP
            obs = task.observe()
            done = terminated | truncated
            if np.count_nonzero(done):
                rows = np.flatnonzero(done)
                # gymnasium's format: an object array holding each ended row's observation.
                final_obs = np.full(self.num_envs, None, dtype=object)
                final_obs[rows] = np.fromiter(obs[rows], dtype=object, count=len(rows))
                infos["final_obs"] = final_obs
                infos["_final_obs"] = done.copy()
                infos["final_info"] = {"is_success": task.success() & done, "_is_success": done.copy()}
                infos["_final_info"] = done.copy()
                task.reset(rows)
                if renderer is not None:
                    renderer.reset(rows)
                obs[rows] = task.observe()[rows]
        return obs, reward, terminated, truncated, infos

    def render(self) -> tuple | None:
        """One frame per row (see :class:`memory_gym_envs.env.MemoryEnv.render`)."""
        if self._renderer is None:
            return warn_no_render_mode(self.task.name)
        return tuple(self._renderer.frames())

    # Policies that read the hidden state / current observation (for tests, tables, baselines).
    def oracle_action(self) -> np.ndarray:
        """Per-row oracle actions (a row awaiting its NEXT_STEP reset gets an ignored action)."""
        return self.task.oracle_action()

    def memoryless_action(self, obs) -> np.ndarray:
        return self.task.memoryless_action(np.asarray(obs, dtype=np.float32))
