"""Train the same MemoryPPO agent with each memory core on one task and compare, SB3 style.

uv run python examples/compare_cores.py                      # DelayedCue, 4 cues, delay 10
uv run python examples/compare_cores.py --cores gru lstm pseudo_mamba mlp --steps 200000
"""

import argparse
import time

import torch
from stable_baselines3.common.evaluation import evaluate_policy

from memory_agents import MemoryPPO, make_vec_env

parser = argparse.ArgumentParser()
parser.add_argument(
    "--cores",
    nargs="+",
    default=["gru", "lstm", "pseudo_mamba", "mlp"],
    help="memory cores to compare ('mlp' = no memory)",
)
parser.add_argument("--steps", type=int, default=100_000)
parser.add_argument("--delay", type=int, default=10)
parser.add_argument("--cues", type=int, default=4)
args = parser.parse_args()
torch.set_num_threads(1)

task = dict(num_cues=args.cues, delay=args.delay)
print(f"DelayedCue {task}, {args.steps:,} steps per core; chance = {1 / args.cues:.2f}")
for core in args.cores:
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=32, seed=0, env_kwargs=task)
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        n_steps=64,
        learning_rate=2e-3,
        seed=0,
        policy_kwargs=dict(memory=core, hidden_dim=64),
    )
    start = time.perf_counter()
    model.learn(args.steps)
    seconds = time.perf_counter() - start
    eval_env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=16, seed=1_000, env_kwargs=task)
    success, _ = evaluate_policy(model, eval_env, n_eval_episodes=200, deterministic=True)
    print(f"  {core:14s} success {success:.2f}   {seconds:6.1f} s   {args.steps / seconds:8,.0f} steps/s")
