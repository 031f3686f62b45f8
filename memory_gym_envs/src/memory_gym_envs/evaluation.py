"""Score the reference policies (oracle, best memoryless, random) on a task with the vector env.

Used by ``python -m memory_gym_envs`` and by the tests; one episode per vector row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from .validation import MAX_SIZE, check_int
from .vector import MemoryVectorEnv

__all__ = ["POLICIES", "EvalResult", "evaluate"]


def _oracle(env: MemoryVectorEnv, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return env.oracle_action()


def _memoryless(env: MemoryVectorEnv, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return env.memoryless_action(obs)


def _random(env: MemoryVectorEnv, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, env.single_action_space.n, size=env.num_envs)


POLICIES: dict[str, Callable] = {"oracle": _oracle, "memoryless": _memoryless, "random": _random}


@dataclass(frozen=True)
class EvalResult:
    mean_return: float
    success_rate: float
    episodes: int
    returns: np.ndarray
    successes: np.ndarray


def evaluate(
    task: Any,
    policy: str | Callable,
    episodes: int = 200,
    difficulty: str = "easy",
    seed: int = 0,
    **params,
) -> EvalResult:
    """Run ``episodes`` episodes (one per vector row) of ``policy`` and return the scores.

    ``policy``: "oracle", "memoryless", "random" or a callable ``(env, obs, rng) -> actions``.
    """
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {list(POLICIES)} or a callable, got {policy!r}")
        policy = POLICIES[policy]
    episodes = check_int("episodes", episodes, 1, MAX_SIZE)
    env = MemoryVectorEnv(
        task, num_envs=episodes, difficulty=difficulty, autoreset_mode=AutoresetMode.SAME_STEP, **params
    )
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    returns = np.zeros(episodes)
    successes = np.zeros(episodes, dtype=bool)
    finished = np.zeros(episodes, dtype=bool)
    for _ in range(env.task.horizon):
        obs, reward, terminated, truncated, info = env.step(policy(env, obs, rng))
        returns += np.where(finished, 0.0, reward)
        done = (terminated | truncated) & ~finished
        if done.any():
            successes[done] = info["final_info"]["is_success"][done]
            finished |= done
            if finished.all():
                break
    if not finished.all():
        raise RuntimeError(f"{env.task.name}: episodes ran past the horizon {env.task.horizon}")
    env.close()
    return EvalResult(float(returns.mean()), float(successes.mean()), episodes, returns, successes)
