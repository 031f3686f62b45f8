"""Evaluate an agent over N whole episodes: success rate and mean return with 95% intervals.

Episodes are spread over the vector env as SB3's ``evaluate_policy`` does (env i runs
``(N + i) // n_envs`` episodes), so short episodes cannot crowd out long ones and bias the score.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int
from .stats import mean_interval, wilson_interval


def run_episodes(
    model, env, n_episodes: int, deterministic: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(success per episode as 0/1, return per episode, trials) for ``n_episodes`` episodes of ``env``.

    ``trials`` is (n_episodes, 2): correct and completed trials per episode, where the env scores
    trials (NeuroGym tasks report ``trial_accuracy`` and ``trials_completed`` at episode end);
    None for envs that do not."""
    check_int("episodes", n_episodes, 1)
    n_envs = env.num_envs
    targets = np.array([(n_episodes + i) // n_envs for i in range(n_envs)], dtype=np.int64)
    counts = np.zeros(n_envs, dtype=np.int64)
    running = np.zeros(n_envs, dtype=np.float64)
    successes, returns, trials = [], [], []
    obs = env.reset()
    state = None
    starts = np.ones(n_envs, dtype=bool)
    while (counts < targets).any():
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        obs, rewards, dones, infos = env.step(actions)
        running += np.asarray(rewards, dtype=np.float64)
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                info = infos[i]
                if "is_success" not in info:
                    raise ValueError(
                        f"{env.__class__.__name__}: episode ended without info['is_success']; "
                        "memory-suite evaluates MemoryGym tasks, which report it"
                    )
                successes.append(float(bool(info["is_success"])))
                returns.append(float(running[i]))
                if "trials_completed" in info:
                    done = float(info["trials_completed"])
                    trials.append((float(info["trial_accuracy"]) * done, done))
                counts[i] += 1
            running[i] = 0.0
        starts = np.asarray(dones, dtype=bool)
    scored = len(trials) == len(successes)
    return np.asarray(successes), np.asarray(returns), np.asarray(trials) if scored else None


def summarize(successes, returns, trials=None, confidence: float = 0.95) -> dict:
    """Success rate and mean return with intervals; ``trial_accuracy``: correct / completed trials
    over all episodes (None where ``trials`` is None: the env does not score trials)."""
    n = len(successes)
    k = int(np.sum(successes))
    lo, hi = wilson_interval(k, n, confidence)
    mean, rlo, rhi = mean_interval(returns, confidence)
    trial_accuracy = None
    if trials is not None and trials[:, 1].sum() > 0:
        trial_accuracy = float(trials[:, 0].sum() / trials[:, 1].sum())
    return {
        "episodes": n,
        "success": k / n,
        "success_ci": [lo, hi],
        "return": mean,
        "return_ci": [rlo, rhi],
        "trial_accuracy": trial_accuracy,
    }


def evaluate_agent(model, env, n_episodes: int, deterministic: bool = True) -> dict:
    """{'episodes', 'success', 'success_ci', 'return', 'return_ci', 'trial_accuracy'} over ``n_episodes``."""
    return summarize(*run_episodes(model, env, n_episodes, deterministic))


def evaluate_checkpoint(
    checkpoint,
    episodes: int = 100,
    task: str | None = None,
    difficulty: str | None = None,
    seed: int = 12345,
    device: str = "auto",
    deterministic: bool = True,
    num_envs: int = 16,
    env_kwargs: dict | None = None,
) -> dict:
    """Load a saved agent and evaluate it on its training env, or on ``task`` / ``difficulty`` /
    ``env_kwargs`` (see ``artifacts.eval_target``). The episodes are the evaluation stream of
    ``seed`` (``config.env_seeds``), disjoint from every run's training episodes."""
    from .artifacts import check_spaces, eval_target, load_agent, make_env
    from .config import env_seeds

    check_int("episodes", episodes, 1)
    model, info = load_agent(checkpoint, device=device)
    target = eval_target(checkpoint, info, task, difficulty, env_kwargs)
    env = make_env(target, min(num_envs, episodes), env_seeds(seed).eval)
    try:
        check_spaces(model, env, target)
        result = evaluate_agent(model, env, episodes, deterministic)
    finally:
        env.close()
    return {**target, "seed": seed, "checkpoint": str(checkpoint), "deterministic": deterministic, **result}
