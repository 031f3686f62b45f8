"""Stable-Baselines3 VecEnvs for memory-gym: an array adapter over gymnasium's native VectorEnv.

``GymnasiumVecEnv`` keeps observations, rewards and dones as the arrays the vector env returns;
the only per-env Python work is SB3's list of info dicts, and only finished episodes get
entries there (terminal observation, time-limit flag, Monitor-style episode stats, the task's
final info such as ``is_success``). ``make_vec_env`` builds it for MemoryGym ids and falls back
to SB3's ``make_vec_env`` (DummyVecEnv + Monitor) for any other id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from memory_gym_envs.ids import in_namespace
from memory_gym_envs.validation import check_seed
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv

from .validation import MAX_SIZE, SB3_SEED_LIMIT, check_int, check_kwargs_dict

_SKIP_INFO = {"final_obs", "final_info", "episode"}


class GymnasiumVecEnv(VecEnv):
    """SB3 VecEnv over a ``gymnasium.vector.VectorEnv`` in SAME_STEP autoreset mode.

    SB3 expects what SAME_STEP gives: at a done step the returned observation is already the next
    episode's first one and the last one is in ``info["terminal_observation"]``. Episode returns
    and lengths are tracked here in arrays and reported as Monitor's ``info["episode"]``, so
    ``env_is_wrapped(Monitor)`` answers True.
    """

    def __init__(self, venv: gym.vector.VectorEnv):
        mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if AutoresetMode(mode) is not AutoresetMode.SAME_STEP:
            raise ValueError(
                f"GymnasiumVecEnv needs a vector env with autoreset_mode=SAME_STEP, got {mode!r}"
            )
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._ep_return = np.zeros(self.num_envs, dtype=np.float64)
        self._ep_length = np.zeros(self.num_envs, dtype=np.int64)
        self._t_start = time.time()
        #: The raw vector infos of the latest step (arrays), for consumers that want them batched.
        self.last_infos: dict[str, Any] = {}

    def reset(self):
        seed = self._seeds[0]
        options = self._options[0] or None
        obs, infos = self.venv.reset(seed=seed, options=options)
        self._reset_seeds()
        self._reset_options()
        self._ep_return[:] = 0.0
        self._ep_length[:] = 0
        self.last_infos = infos
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape((self.num_envs, *self.action_space.shape))

    def step_wait(self):
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        rewards = np.asarray(rewards, dtype=np.float32)
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        dones = terminated | truncated
        self._ep_return += rewards
        self._ep_length += 1
        self.last_infos = infos
        info_list: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        done_idx = np.flatnonzero(dones)
        if done_idx.size:
            self._fill_done_infos(info_list, done_idx, terminated, truncated, infos)
            self._ep_return[done_idx] = 0.0
            self._ep_length[done_idx] = 0
        self._fill_step_infos(info_list, infos)
        return obs, rewards, dones, info_list

    def _fill_done_infos(self, info_list, done_idx, terminated, truncated, infos) -> None:
        final_obs = infos.get("final_obs")
        # gymnasium puts the terminal step's info under "final_info" (SAME_STEP); a task may also
        # leave it at the top level. Merge both, "final_info" winning.
        sources = [infos]
        if isinstance(infos.get("final_info"), dict):
            sources.append(infos["final_info"])
        elapsed = round(time.time() - self._t_start, 6)
        for i in done_idx:
            info = info_list[i]
            for src in sources:
                for key, value in src.items():
                    if key.startswith("_") or key in _SKIP_INFO:
                        continue
                    mask = src.get("_" + key)
                    if mask is None or mask[i]:
                        info[key] = value[i]
            if final_obs is not None:
                info["terminal_observation"] = final_obs[i]
            info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            info["episode"] = {"r": float(self._ep_return[i]), "l": int(self._ep_length[i]), "t": elapsed}

    @staticmethod
    def _fill_step_infos(info_list, infos) -> None:
        # Per-step info keys (not just episode ends) for the rows that have them.
        for key, value in infos.items():
            if key.startswith("_") or key in _SKIP_INFO:
                continue
            mask = infos.get("_" + key)
            rows = range(len(info_list)) if mask is None else np.flatnonzero(mask)
            values = value.tolist() if isinstance(value, np.ndarray) else value
            for i in rows:
                info_list[i].setdefault(key, values[i])

    def close(self) -> None:
        self.venv.close()

    def _indices(self, indices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices=None) -> list[bool]:
        return [wrapper_class is Monitor for _ in self._indices(indices)]

    def render(self, mode: str | None = None):
        return self.venv.render()


def _task_and_spec(env) -> tuple[Any, Any]:
    """The MemoryGym task behind ``env`` (our adapter's native vector env, or row 0 of another
    SB3 VecEnv) and, for the latter, the gymnasium spec; Nones where the env does not say."""
    task = getattr(getattr(env, "venv", None), "task", None)
    if task is not None or not isinstance(env, VecEnv):
        return task, None
    try:
        unwrapped, spec = env.get_attr("unwrapped", [0])[0], env.get_attr("spec", [0])[0]
    except (AttributeError, IndexError, NotImplementedError):
        return None, None
    return getattr(unwrapped, "task", None), spec


def episode_horizon(env, live: bool = False) -> int | None:
    """Longest episode of ``env`` in steps (a MemoryGym task's ``max_steps``, else the id's
    ``max_episode_steps``), or None when the env does not say. ``live``: under the task's live
    parameters (a curriculum stage, ``task.live_max_steps``) instead of the built ones."""
    task, spec = _task_and_spec(env)
    if task is None:
        limit = getattr(spec, "max_episode_steps", None)
        return int(limit) if limit else None
    horizon = (live and getattr(task, "live_max_steps", None)) or getattr(task, "max_steps", None)
    horizon = horizon or getattr(task, "horizon", None)
    return int(horizon) if horizon else None


def memory_span(env) -> int | None:
    """How far back ``env``'s actions may need to look (a MemoryGym task's ``memory_span``), else
    its longest episode (``episode_horizon``): what a core's memory timescales should cover."""
    span = getattr(_task_and_spec(env)[0], "memory_span", None)
    return int(span) if span else episode_horizon(env)


def make_vec_env(
    env_id: str,
    num_envs: int = 8,
    seed: int | None = 0,
    difficulty: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> VecEnv:
    """An SB3 VecEnv of ``num_envs`` copies of ``env_id``, row i seeded ``seed + i``.

    MemoryGym ids use the task's native batched vector env behind ``GymnasiumVecEnv``; other ids
    use SB3's ``make_vec_env`` (DummyVecEnv of Monitor-wrapped envs).
    """
    num_envs = check_int("num_envs", num_envs, 1, MAX_SIZE)
    kwargs = check_kwargs_dict("env_kwargs", env_kwargs)
    if difficulty is not None:
        kwargs["difficulty"] = difficulty
    native = in_namespace(env_id)
    if seed is not None:  # checked here: SB3's VecEnv.seed fails on a bad one without naming it
        seed = check_seed(seed, num_envs) if native else check_int("seed", seed, 0, SB3_SEED_LIMIT - num_envs)
    if native:
        import memory_gym_envs  # noqa: F401  (registers the ids)

        # MemoryGym vector entry points take the autoreset mode as a keyword (gymnasium refuses
        # vector_kwargs for vector entry points).
        venv = gym.make_vec(env_id, num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
        env = GymnasiumVecEnv(venv)
    else:
        env = sb3_make_vec_env(env_id, n_envs=num_envs, env_kwargs=kwargs)
    if seed is not None:
        env.seed(seed)
    return env
