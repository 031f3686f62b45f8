"""Train a Mamba2-memory PPO agent on CopyMemory (reproduce L tokens after a delay), SB3 style.

uv run python examples/train_mamba2_copy_memory.py                  # 3 tokens, delay 10
uv run python examples/train_mamba2_copy_memory.py --steps 2000000 --length 5 --delay 50
uv run python examples/train_mamba2_copy_memory.py --device cuda    # Triton kernels if installed
"""

import argparse

import torch
from stable_baselines3.common.evaluation import evaluate_policy

from memory_agents import MemoryPPO, make_vec_env

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300_000)
parser.add_argument("--length", type=int, default=3)
parser.add_argument("--vocab", type=int, default=4)
parser.add_argument("--delay", type=int, default=10)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()
torch.set_num_threads(2)

task = dict(length=args.length, vocab_size=args.vocab, delay=args.delay)
env = make_vec_env("MemoryGym/CopyMemory-v0", num_envs=32, seed=0, env_kwargs=task)
model = MemoryPPO(
    "MemoryPolicy",
    env,
    n_steps=64,
    learning_rate=2e-3,
    recurrent_mode="full",  # exact BPTT over each 64-step rollout
    policy_kwargs=dict(memory="mamba2", hidden_dim=64),
    tensorboard_log="runs/examples",
    device=args.device,
    verbose=1,
)
model.learn(args.steps, progress_bar=True, tb_log_name="mamba2_copy_memory")
model.save("runs/examples/mamba2_copy_memory.zip")

eval_env = make_vec_env("MemoryGym/CopyMemory-v0", num_envs=16, seed=1_000, env_kwargs=task)
mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=100, deterministic=True)
print(f"mean return {mean_return:.3f} (fraction of tokens recalled; chance {1 / args.vocab:.2f})")
