"""NeuroGym tasks as episodic Gymnasium envs with trial boundaries in `info`.

NeuroGym streams trials forever and never terminates; its `reset(seed)` does not seed the trial
generator (`TrialEnv.rng`) and plays one hidden random action on the first step. `NeuroGymEnv`
wraps the raw `neurogym.TrialEnv` (`env.unwrapped` of neurogym's own envs) so that:

* an episode is `trials_per_episode` trials (`terminated` on the step that ends the last one)
  and/or at most `max_steps` steps (`truncated`);
* every step's info carries `new_trial`, `trial_index`, `gt`; trial ends add `trial_correct`
  and `trial_performance`; the episode end adds `is_success`, `trial_accuracy` and
  `trials_completed`;
* `reset(seed=s)` reseeds every random source of the task, so trials are reproducible;
* the agent sees step 0 of the first trial (no hidden step).

Only `neurogym` itself is imported lazily (inside the constructor), so importing this module,
registering the ids, and importing `memory_gym_envs` never pull in neurogym, torch or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np

from ..validation import MAX_SIZE, check_choice, check_float, check_int

INSTALL_HINT = (
    'NeuroGym tasks need the optional extra: pip install "memory-gym-envs[neurogym]" '
    "(in the memory-gym workspace: uv sync). neurogym 2.3.1 pins gymnasium==0.29.*: lift the pin "
    'with uv\'s override-dependencies = ["gymnasium>=1.0,<2"], or with pip install neurogym==2.3.1 '
    "--no-deps plus its other dependencies (see the README's NeuroGym section)"
)

# A trial counts as correct when neurogym's own per-trial `performance` reaches this value
# (1 = correct; graded tasks such as Reaching1D give a fraction, PostDecisionWager's sure bet 0.7).
_FULL_PERFORMANCE = 1.0 - 1e-6


def import_neurogym():
    """Import neurogym, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module("neurogym")
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT}; import failed with: {exc}") from exc


def neurogym_task_ids() -> list[str]:
    """Every id neurogym registers with gymnasium (native tasks and collections), sorted."""
    import_neurogym()
    from neurogym.envs.registration import ALL_EXTENDED_ENVS

    return sorted(ALL_EXTENDED_ENVS)


def _make_trial_env(neurogym_id: str, kwargs: dict[str, Any]):
    """Build the raw neurogym TrialEnv for `neurogym_id` (with or without the `-v0` suffix)."""
    import_neurogym()
    from neurogym.core import TrialEnv

    env_id = neurogym_id if neurogym_id.endswith("-v0") else f"{neurogym_id}-v0"
    known = neurogym_task_ids()
    if env_id not in known:
        raise ValueError(f"neurogym_id must be one of {known}; got {neurogym_id!r}")
    spec = gym.spec(env_id)
    creator = gym.envs.registration.load_env_creator(spec.entry_point)
    task = creator(**{**spec.kwargs, **kwargs})
    task = task.unwrapped
    if not isinstance(task, TrialEnv):
        raise ValueError(
            f"neurogym_id {neurogym_id!r} is not a neurogym TrialEnv (got {type(task).__name__})"
        )
    return env_id, task


class _TrialHook:
    """Stands in as the task's `_top` so the wrapper sees each new trial as neurogym starts it.

    neurogym's `TrialEnv.step` zeroes `performance` right after `_top.new_trial()`, which wipes the
    initial value some tasks set there (GoNogo / DelayPairedAssociation: a no-go trial is correct
    unless the agent responds). The hook remembers that value so the wrapper can restore it.
    """

    def __init__(self, task) -> None:
        self.task = task
        self.initial_performance = 0

    def new_trial(self, **kwargs):
        from neurogym.core import TrialEnv

        self.task.performance = 0  # the finished trial's value is already in step's info
        trial = TrialEnv.new_trial(self.task, **kwargs)
        self.initial_performance = self.task.performance
        return trial


class NeuroGymEnv(gym.Env):
    """A NeuroGym task as a Gymnasium env whose episodes are a number of trials.

    Args:
        neurogym_id: a neurogym id such as "DelayMatchSample-v0" (the "-v0" may be left out).
        trials_per_episode: trials per episode (None: episodes end only at `max_steps`).
        max_steps: step limit per episode, `truncated=True` when reached (None: no limit).
        pass_reward: append the previous reward to the observation (like neurogym's PassReward).
        pass_action: append the previous action, one-hot, to the observation (neurogym's
            PassAction appends the action index; a one-hot suits a neural network better).
        success_threshold: `is_success` is `trial_accuracy >= success_threshold` at episode end.
        difficulty: must be None; accepted so that callers passing the MemoryGym `difficulty`
            keyword get a clear error instead of neurogym's TypeError.
        **neurogym_kwargs: passed to the neurogym task (`dt`, `timing`, `rewards`, ...).

    The agent's memory is meant to persist across trials inside an episode (NeuroGym's tasks
    are learned as a stream of trials); only episode starts reset it. Rewards are neurogym's own.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        neurogym_id: str,
        trials_per_episode: int | None = 10,
        max_steps: int | None = None,
        pass_reward: bool = False,
        pass_action: bool = False,
        success_threshold: float = 0.8,
        difficulty: str | None = None,
        **neurogym_kwargs,
    ) -> None:
        if difficulty is not None:
            raise ValueError(
                f"difficulty must be None for NeuroGym tasks (they have no difficulty presets; set neurogym "
                f"kwargs such as timing, cohs or sigma instead); got {difficulty!r}"
            )
        self.trials_per_episode = check_int("trials_per_episode", trials_per_episode, 1, optional=True)
        self.max_steps = check_int("max_steps", max_steps, 1, optional=True)
        if self.trials_per_episode is None and self.max_steps is None:
            raise ValueError(
                "trials_per_episode and max_steps cannot both be None (episodes would never end)"
            )
        self.success_threshold = check_float("success_threshold", success_threshold, 0.0, 1.0)
        self.pass_reward = bool(pass_reward)
        self.pass_action = bool(pass_action)

        self.neurogym_id, self.task = _make_trial_env(neurogym_id, neurogym_kwargs)
        task_action_space = self.task.action_space
        if not isinstance(task_action_space, gym.spaces.Discrete):
            raise ValueError(
                f"neurogym_id {self.neurogym_id!r} has action space {task_action_space}; "
                "the wrapper supports Discrete action spaces only"
            )
        obs_shape = self.task.observation_space.shape
        if obs_shape is None or len(obs_shape) != 1:
            raise ValueError(
                f"neurogym_id {self.neurogym_id!r} has observation shape {obs_shape}; need a flat vector"
            )
        self._task_obs_size = int(obs_shape[0])
        self._num_actions = int(task_action_space.n)
        size = self._task_obs_size + int(self.pass_reward) + self._num_actions * int(self.pass_action)
        low = np.full(size, -np.inf, dtype=np.float32)
        high = np.full(size, np.inf, dtype=np.float32)
        if self.pass_action:
            low[-self._num_actions :] = 0.0
            high[-self._num_actions :] = 1.0
        # neurogym's own bounds are not always kept by its noisy observations, hence unbounded.
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.Discrete(self._num_actions)

        self._hook = _TrialHook(self.task)
        self.task.set_top(self._hook)
        self.task_seed: int | None = None
        self._steps = 0
        self._trial_index = 0
        self._correct = 0
        self._prev_reward = 0.0
        self._prev_action = -1

    # ------------------------------------------------------------------ helpers
    @property
    def has_ground_truth(self) -> bool:
        """Whether the task defines a ground-truth action per step (Bandit, DawTwoStep do not)."""
        return bool(self.task._has_gt)  # noqa: SLF001

    def oracle_action(self) -> int:
        """Ground-truth action for the step about to be taken (neurogym's `gt[t_ind]`).

        neurogym reports `info["gt"]` only after the step; the trial arrays hold it beforehand.
        """
        if not self.has_ground_truth:
            raise ValueError(f"{self.neurogym_id} defines no ground-truth action")
        action = int(self.task.gt[self.task.t_ind])
        if not 0 <= action < self._num_actions:  # e.g. Reaching1D's gt is a target angle
            raise ValueError(
                f"{self.neurogym_id}'s ground truth {action} is not an action in [0, {self._num_actions - 1}]"
            )
        return action

    def _seed_task(self, seed: int) -> None:
        """Reseed every random source of the task: `rng`, timing samplers, numpy Generators."""
        self.task_seed = int(seed)
        self.task.seed(self.task_seed)  # rng, action_space and TruncExp-style timing objects
        for name, value in vars(self.task).items():
            if isinstance(value, np.random.Generator):  # e.g. AnnubesEnv._rng
                setattr(self.task, name, np.random.default_rng(self.task_seed))

    def _observation(self, task_obs) -> np.ndarray:
        parts = [np.asarray(task_obs, dtype=np.float32).reshape(self._task_obs_size)]
        if self.pass_reward:
            parts.append(np.array([self._prev_reward], dtype=np.float32))
        if self.pass_action:
            one_hot = np.zeros(self._num_actions, dtype=np.float32)
            if self._prev_action >= 0:
                one_hot[self._prev_action] = 1.0
            parts.append(one_hot)
        return np.concatenate(parts)

    def _first_task_obs(self) -> np.ndarray:
        ob = getattr(self.task, "ob", None)
        if isinstance(ob, np.ndarray) and ob.ndim == 2 and self.task.t_ind < len(ob):
            return ob[self.task.t_ind]
        return np.zeros(self._task_obs_size, dtype=np.float32)  # tasks that build obs in _step

    def _gt_now(self) -> int:
        return int(self.task.gt[self.task.t_ind]) if self.has_ground_truth else -1

    # --------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or self.task_seed is None:
            self._seed_task(int(self.np_random.integers(2**32)))
        task = self.task
        task.num_tr = 0
        task.t = task.t_ind = 0
        self._hook.new_trial()
        self._steps = 0
        self._trial_index = 0
        self._correct = 0
        self._prev_reward = 0.0
        self._prev_action = -1
        return self._observation(self._first_task_obs()), {
            "new_trial": False,
            "trial_index": 0,
            "gt": self._gt_now(),
        }

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an int in [0, {self._num_actions - 1}]; got {action!r}")
        action = int(action)
        gt = self._gt_now()
        task_obs, reward, _, _, task_info = self.task.step(action)
        new_trial = bool(task_info.get("new_trial", False))
        if "gt" in task_info:
            gt = int(np.asarray(task_info["gt"]).reshape(-1)[0])
        info: dict[str, Any] = {"new_trial": new_trial, "trial_index": self._trial_index, "gt": gt}
        self._steps += 1
        terminated = False
        if new_trial:
            performance = float(task_info.get("performance", 0.0))
            correct = performance >= _FULL_PERFORMANCE
            self._correct += int(correct)
            info["trial_correct"] = correct
            info["trial_performance"] = performance
            self.task.performance = self._hook.initial_performance  # undo neurogym's zeroing
            self._trial_index += 1
            terminated = self.trials_per_episode is not None and self._trial_index >= self.trials_per_episode
        truncated = not terminated and self.max_steps is not None and self._steps >= self.max_steps
        if terminated or truncated:
            accuracy = self._correct / self._trial_index if self._trial_index else 0.0
            info["trials_completed"] = self._trial_index
            info["trial_accuracy"] = accuracy
            info["is_success"] = bool(self._trial_index > 0 and accuracy >= self.success_threshold)
        self._prev_reward = float(reward)
        self._prev_action = action
        return self._observation(task_obs), float(reward), terminated, truncated, info


def make(
    neurogym_id: str,
    trials_per_episode: int | None = 10,
    max_steps: int | None = None,
    pass_reward: bool = False,
    pass_action: bool = False,
    **neurogym_kwargs,
) -> NeuroGymEnv:
    """Any neurogym id (native or collection) with its kwargs as an episodic `NeuroGymEnv`."""
    return NeuroGymEnv(
        neurogym_id,
        trials_per_episode=trials_per_episode,
        max_steps=max_steps,
        pass_reward=pass_reward,
        pass_action=pass_action,
        **neurogym_kwargs,
    )


def make_vector_env(
    num_envs: int,
    neurogym_id: str,
    autoreset_mode: gym.vector.AutoresetMode | str = gym.vector.AutoresetMode.NEXT_STEP,
    **kwargs,
) -> gym.vector.SyncVectorEnv:
    """Vector entry point of the registered ids: `num_envs` NeuroGymEnvs in a SyncVectorEnv.

    Lets `gym.make_vec(id, num_envs=N, autoreset_mode=...)` take the autoreset mode as a keyword,
    the way the native MemoryGym vector envs do. Row i reset with seed s behaves like a single
    env reset with seed s + i (gymnasium's vector seeding). The trial keys reach the vector
    infos as per-env arrays with `_key` masks.
    """
    num_envs = check_int("num_envs", num_envs, 1, MAX_SIZE)
    allowed = [m.value for m in gym.vector.AutoresetMode]
    mode = gym.vector.AutoresetMode(
        check_choice("autoreset_mode", getattr(autoreset_mode, "value", autoreset_mode), allowed)
    )
    return gym.vector.SyncVectorEnv(
        [lambda: NeuroGymEnv(neurogym_id, **kwargs) for _ in range(num_envs)], autoreset_mode=mode
    )
