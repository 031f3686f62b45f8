"""TrialReplayDQN on NeuroGym: greedy trial accuracy vs env steps, and wall time, MPN vs GRU.

    uv run python benchmarks/dqn_neurogym.py                     # 2 tasks x MPN, GRU x seed 0, the CLI's DQN budget
    uv run python benchmarks/dqn_neurogym.py --seeds 0 1 2 --checkpoints 6
    uv run python benchmarks/dqn_neurogym.py --tasks DelayMatchSample --cores mpn --algo-kwargs '{"gamma": 0.9}'
    uv run python benchmarks/dqn_neurogym.py --cores mpn --memory-kwargs '{"mpn": {"m_bound": null}}'

Each run trains ``TrialReplayDQN`` with its defaults (core defaults, hidden 128) on
``MemoryGym/NeuroGym-<task>-v0`` (10 trials per episode) with the steps and parallel envs that
``memory-suite train --algo dqn`` uses by default (``--steps`` / ``--envs`` to change them). At
each checkpoint the greedy policy plays ``--eval-trials`` trials of a separate env (memory carried
across trials, reset at episode starts) and its trial accuracy is printed. "wall" is training
time only (the evaluations are excluded); it depends on the machine's load, so compare rows of
one run. The first row per task is a uniform random policy (the chance level of NeuroGym's
scoring); a "mean" row follows the seeds of a core.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import gymnasium as gym
import numpy as np
import torch
from memory_agents.budgets import DQN_BUDGET
from memory_agents.dqn import evaluate_trial_accuracy
from memory_agents.suite.config import env_seeds
from stable_baselines3.common.callbacks import BaseCallback

import memory_gym_envs  # noqa: F401  (registers the ids)
from memory_agents import TrialReplayDQN, make_vec_env


class RandomPolicy:
    def __init__(self, n_actions: int, seed: int):
        self.n, self.rng = n_actions, np.random.default_rng(seed)

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        return self.rng.integers(self.n, size=len(obs)), state


class Checkpoints(BaseCallback):
    """Greedy trial accuracy at the given env steps; accumulates training time between them."""

    def __init__(self, at: list[int], make_eval_env, eval_trials: int):
        super().__init__()
        self.at, self.make_eval_env, self.eval_trials = list(at), make_eval_env, eval_trials
        self.rows: list[tuple[int, float, float]] = []
        self.train_seconds, self._since = 0.0, None

    def _on_training_start(self) -> None:
        self._since = time.perf_counter()

    def _on_step(self) -> bool:
        if self.at and self.num_timesteps >= self.at[0]:
            self.at.pop(0)
            self.train_seconds += time.perf_counter() - self._since
            acc = evaluate_trial_accuracy(self.model, self.make_eval_env(), self.eval_trials, seed=10_000)
            self.rows.append((self.num_timesteps, acc, self.train_seconds))
            self._since = time.perf_counter()
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["ContextDecisionMaking", "DelayMatchSample"])
    parser.add_argument("--cores", nargs="+", default=["mpn", "gru"])
    parser.add_argument(
        "--steps", type=int, default=DQN_BUDGET.steps, help=f"env steps per run (default {DQN_BUDGET.steps})"
    )
    parser.add_argument(
        "--envs", type=int, default=DQN_BUDGET.num_envs, help=f"parallel envs (default {DQN_BUDGET.num_envs})"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--checkpoints", type=int, default=4, help="evaluations per run, evenly spaced")
    parser.add_argument("--eval-trials", type=int, default=200)
    parser.add_argument("--trials-per-episode", type=int, default=10)
    parser.add_argument("--algo-kwargs", type=json.loads, default={}, help="JSON dict for TrialReplayDQN")
    parser.add_argument(
        "--memory-kwargs",
        type=json.loads,
        default={},
        help='JSON {core: kwargs}, e.g. \'{"mpn": {"eta": 0.5}}\'',
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    if args.steps < args.checkpoints:
        parser.error(f"--steps must be >= --checkpoints, got {args.steps} < {args.checkpoints}")
    torch.set_num_threads(args.threads)
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} thread(s); steps={args.steps} envs={args.envs} seeds={args.seeds} "
        f"eval_trials={args.eval_trials} algo_kwargs={args.algo_kwargs} memory_kwargs={args.memory_kwargs}"
    )
    at = [round(args.steps * (k + 1) / args.checkpoints) for k in range(args.checkpoints)]
    env_kwargs = {"trials_per_episode": args.trials_per_episode}
    print(f"{'task':<22} {'core':<6} {'seed':>4}  " + "  ".join(f"{s:>7}" for s in at) + "   wall_s  steps/s")
    for task in args.tasks:
        env_id = f"MemoryGym/NeuroGym-{task}-v0"
        make_eval_env = lambda env_id=env_id: gym.make(env_id, **env_kwargs)  # noqa: E731
        eval_env = make_eval_env()
        chance = evaluate_trial_accuracy(
            RandomPolicy(int(eval_env.action_space.n), 0), eval_env, args.eval_trials, seed=10_000
        )
        print(f"{task:<22} {'random':<6} {'-':>4}  " + "  ".join(f"{chance:>7.2f}" for _ in at))
        for core in args.cores:
            finals = []
            for seed in args.seeds:
                model = TrialReplayDQN(
                    "MemoryQPolicy",
                    make_vec_env(
                        env_id, num_envs=args.envs, seed=env_seeds(seed).train, env_kwargs=env_kwargs
                    ),
                    seed=seed,
                    policy_kwargs=dict(memory=core, memory_kwargs=args.memory_kwargs.get(core, {})),
                    **args.algo_kwargs,
                )
                cb = Checkpoints(at, make_eval_env, args.eval_trials)
                model.learn(args.steps, callback=cb)
                finals.append(cb.rows[-1][1])
                wall = cb.rows[-1][2]
                print(
                    f"{task:<22} {core:<6} {seed:>4}  "
                    + "  ".join(f"{acc:>7.2f}" for _, acc, _ in cb.rows)
                    + f"  {wall:7.1f}  {args.steps / wall:7.0f}",
                    flush=True,
                )
            if len(args.seeds) > 1:
                print(
                    f"{task:<22} {core:<6} {'mean':>4}  final {np.mean(finals):.2f} (min {min(finals):.2f})"
                )


if __name__ == "__main__":
    main()
