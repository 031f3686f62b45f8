"""Env steps and wall time to reach 0.95 success on DelayedCue (4 cues, delay 20):
MemoryPPO vs sb3-contrib RecurrentPPO (LSTM 64, 8 envs, its defaults).

    uv run python benchmarks/learning_efficiency.py              # MemoryPPO seeds 0-2 + RecurrentPPO, <= 600k steps
    uv run python benchmarks/learning_efficiency.py --quick      # delay 10, up to 150k steps
    uv run python benchmarks/learning_efficiency.py --no-baseline --core pseudo_mamba
    uv run python benchmarks/learning_efficiency.py --no-baseline --n-epochs 16 --lr 3e-3   # tuned

"Reached" = the success rate of the last 100 training episodes (stochastic policy) is >= the
target at the end of a rollout; the agent is then evaluated deterministically on fresh seeds.
Reference (issue 5, 2-core CPU): RecurrentPPO LSTM 64 / 8 envs was at chance (0.23) after 50k
steps and at 1.0 after 300k steps (390 s, ~770 steps/s). Goal: 0.95 in 3x fewer env steps and
20x less wall time. Wall time depends on the machine's load: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

from memory_agents import MemoryPPO, make_vec_env

TASK = "MemoryGym/DelayedCue-v0"


class StopAtSuccess(BaseCallback):
    """Stop training once the mean success of the last ``window`` episodes reaches ``target``."""

    def __init__(self, target: float, window: int = 100):
        super().__init__()
        self.target, self.window = target, window
        self.reached_at: tuple[int, float] | None = None
        self.curve: list[tuple[int, float]] = []
        self.start = time.perf_counter()

    def _on_rollout_end(self) -> None:
        buffer = list(self.model.ep_success_buffer)[-self.window :]
        if len(buffer) >= self.window:
            rate = float(np.mean(buffer))
            self.curve.append((self.num_timesteps, rate))
            if rate >= self.target and self.reached_at is None:
                self.reached_at = (self.num_timesteps, time.perf_counter() - self.start)

    def _on_step(self) -> bool:
        return self.reached_at is None


def run(label: str, model, budget: int, target: float, env_kwargs: dict) -> tuple[int, float] | None:
    """Train until the target (or the budget); print the result; return (steps, seconds) if reached."""
    stop = StopAtSuccess(target)
    start = time.perf_counter()
    model.learn(budget, callback=stop)
    seconds = time.perf_counter() - start
    eval_env = make_vec_env(TASK, num_envs=16, seed=10_000, env_kwargs=env_kwargs)
    success, _ = evaluate_policy(model, eval_env, n_eval_episodes=200, deterministic=True)
    if stop.reached_at is not None:
        steps, secs = stop.reached_at
        result = f"reached {target} at {steps:>9,} steps, {secs:7.1f} s"
    else:
        result = f"not reached in {model.num_timesteps:,} steps ({seconds:.1f} s)"
    print(
        f"  {label:60s} {result}   eval success {success:.2f}   ({model.num_timesteps / seconds:,.0f} steps/s)"
    )
    marks = [f"{s // 1000}k:{r:.2f}" for s, r in stop.curve[:: max(1, len(stop.curve) // 8)]]
    print(f"  {'':60s} curve {' '.join(marks)}", flush=True)
    return stop.reached_at


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=int, default=20)
    parser.add_argument("--budget", type=int, default=600_000, help="max env steps per agent")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--core", default="gru")
    parser.add_argument("--num-envs", type=int, default=32, help="MemoryPPO envs (RecurrentPPO uses 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small nets: 1 is fastest)")
    parser.add_argument(
        "--n-epochs", type=int, default=8, help="MemoryPPO epochs per rollout (default: its default, 8)"
    )
    parser.add_argument("--lr", type=float, default=2e-3, help="MemoryPPO learning rate")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="MemoryPPO seeds")
    parser.add_argument(
        "--memory-kwargs", type=json.loads, default={}, help="core options as JSON, e.g. '{\"num_slots\": 4}'"
    )
    parser.add_argument(
        "--batch-size",
        default="auto",
        help="MemoryPPO batch_size: 'auto' (default), 'none' (the whole rollout) or env steps",
    )
    parser.add_argument("--quick", action="store_true", help="delay 10, budget 150k")
    parser.add_argument("--no-baseline", action="store_true", help="skip sb3-contrib RecurrentPPO")
    args = parser.parse_args()
    if args.quick:
        args.delay, args.budget = 10, 150_000
    batch_size = {"auto": "auto", "none": None}.get(args.batch_size.lower(), None)
    if args.batch_size.lower() not in ("auto", "none"):
        batch_size = int(args.batch_size)
    torch.set_num_threads(args.threads)
    env_kwargs = dict(num_cues=4, delay=args.delay)
    print(
        f"DelayedCue(4 cues, delay {args.delay}): steps / wall time to {args.target} success "
        f"(budget {args.budget:,} steps, {args.threads} thread(s))"
    )

    reached = []
    for seed in args.seeds:
        env = make_vec_env(TASK, num_envs=args.num_envs, seed=seed, env_kwargs=env_kwargs)
        model = MemoryPPO(
            "MemoryPolicy",
            env,
            n_steps=64,
            n_epochs=args.n_epochs,
            batch_size=batch_size,
            learning_rate=args.lr,
            seed=seed,
            policy_kwargs=dict(memory=args.core, hidden_dim=64, memory_kwargs=dict(args.memory_kwargs)),
        )
        options = f" {json.dumps(args.memory_kwargs)}" if args.memory_kwargs else ""
        label = (
            f"MemoryPPO {args.core}{options} 64, {args.num_envs} envs, {args.n_epochs} ep, lr {args.lr:g}, "
            f"batch {args.batch_size}, seed {seed}"
        )
        reached.append(run(label, model, args.budget, args.target, env_kwargs))
    hits = [r for r in reached if r is not None]
    if hits:
        steps, secs = np.median([h[0] for h in hits]), np.median([h[1] for h in hits])
        print(
            f"  MemoryPPO: {len(hits)}/{len(reached)} seeds reached {args.target}; median {steps:,.0f} steps, "
            f"{secs:.1f} s",
            flush=True,
        )

    if not args.no_baseline:
        from sb3_contrib import RecurrentPPO

        env = make_vec_env(TASK, num_envs=8, seed=args.seeds[0], env_kwargs=env_kwargs)
        model = RecurrentPPO(
            "MlpLstmPolicy", env, policy_kwargs=dict(lstm_hidden_size=64), seed=args.seeds[0], device="cpu"
        )
        run("RecurrentPPO LSTM 64, 8 envs (defaults)", model, args.budget, args.target, env_kwargs)


if __name__ == "__main__":
    main()
