"""Probe: can a core learn a task's memory when it is told the right actions?

Why: when PPO fails on a task, the cause is either the core (it cannot hold or learn to hold
what the task needs) or the reinforcement learning (credit assignment, exploration). This probe
removes the second: it trains core + linear head by behaviour cloning of the task's oracle
(cross-entropy on the oracle's action over whole episodes, full BPTT), then runs the clone
closed-loop on fresh episodes. On study / recall tasks only the recall steps are scored, so only
they enter the loss and the accuracy: elsewhere the oracle's action is arbitrary, and counting
those steps made a clone that recalled nothing read 0.9 accuracy. A core that cannot clone the oracle will not learn the task
by RL either; a core that can points the search at the RL side.

Prints, per task x core: accuracy on the scored steps of the last batch, closed-loop success on
fresh seeds, and wall time.

    uv run python benchmarks/oracle_imitation_probe.py --tasks CopyMemory --cores gru lstm \
        [--difficulty easy] [--iters 1500] [--hidden 64] [--env-kwargs '{"delay": 20}'] \
        [--core-kwargs '{"episode_positions": false}']
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from memory_agents.cores import make_core
from memory_agents.cores.base import horizon_defaults
from torch import nn

import memory_gym_envs  # noqa: F401  (registers the ids)


def oracle_batch(venv, horizon: int, seed: int):
    """One whole episode per row, acting with the oracle: (obs, starts, actions, scored) as
    tensors (T, B, .); ``scored`` marks the steps whose action counts (all, unless the task says)."""
    obs, _ = venv.reset(seed=seed)
    task = venv.unwrapped.task
    xs, starts, acts, scored = [], [], [], []
    start = np.ones(venv.num_envs, dtype=bool)
    for _ in range(horizon):
        a = venv.unwrapped.oracle_action()
        xs.append(obs)
        starts.append(start)
        acts.append(a)
        scored.append(task.scored() if hasattr(task, "scored") else np.ones(venv.num_envs, dtype=bool))
        obs, _, term, trunc, _ = venv.step(a)
        start = term | trunc
    return (
        torch.as_tensor(np.stack(xs), dtype=torch.float32),
        torch.as_tensor(np.stack(starts)),
        torch.as_tensor(np.stack(acts), dtype=torch.long),
        torch.as_tensor(np.stack(scored)),
    )


def closed_loop_success(core, head, venv, horizon: int, seed: int) -> float:
    """Success rate of the clone acting greedily, over each row's first episode."""
    obs, _ = venv.reset(seed=seed)
    n = venv.num_envs
    state = core.initial_state(n)
    start = torch.ones(1, n, dtype=torch.bool)
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    with torch.no_grad():
        for _ in range(horizon):
            y, state = core(torch.as_tensor(obs, dtype=torch.float32)[None], state, start)
            a = head(y[0]).argmax(-1).numpy()
            obs, _, term, trunc, info = venv.step(a)
            end = (term | trunc) & ~done
            if end.any() and "is_success" in info:
                success[end] = np.asarray(info["is_success"], dtype=bool)[end]
            done |= term | trunc
            start = torch.as_tensor(term | trunc)[None]
            if done.all():
                break
    return float(success.mean())


def run(task: str, core_name: str, args) -> dict:
    torch.manual_seed(args.seed)
    kwargs = {"difficulty": args.difficulty, **json.loads(args.env_kwargs)}
    env_id = f"MemoryGym/{task}-v0"
    venv = gym.make_vec(env_id, num_envs=args.batch, **kwargs)
    eval_env = gym.make_vec(env_id, num_envs=args.eval_episodes, **kwargs)
    horizon = int(venv.unwrapped.task.max_steps)
    obs_dim, n_actions = venv.single_observation_space.shape[0], int(venv.single_action_space.n)
    core_kwargs = json.loads(args.core_kwargs)
    core_kwargs.update(horizon_defaults(core_name, horizon, core_kwargs))
    core = make_core(core_name, obs_dim, args.hidden, **core_kwargs)
    head = nn.Linear(args.hidden, n_actions)
    opt = torch.optim.Adam([*core.parameters(), *head.parameters()], lr=args.lr)
    t0 = time.perf_counter()
    acc = 0.0
    for it in range(args.iters):
        x, starts, a, scored = oracle_batch(venv, horizon, seed=args.seed * 1_000_003 + it * args.batch)
        y, _ = core(x, core.initial_state(args.batch), starts)
        logits = head(y)[scored]
        a = a[scored]
        loss = nn.functional.cross_entropy(logits, a)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_([*core.parameters(), *head.parameters()], 1.0)
        opt.step()
        acc = float((logits.argmax(-1) == a).float().mean())
        if args.verbose and it % 100 == 0:
            print(f"  {task} {core_name} iter {it}: loss {loss.item():.3f} acc {acc:.3f}", flush=True)
    success = closed_loop_success(core, head, eval_env, horizon, seed=2**31 + args.seed)
    return {
        "task": task,
        "core": core_name,
        "train_acc": acc,
        "success": success,
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=["CopyMemory"])
    p.add_argument("--cores", nargs="+", default=["gru", "lstm", "mamba2", "pseudo_memory", "transformer"])
    p.add_argument("--difficulty", default="easy")
    p.add_argument("--env-kwargs", default="{}", help="JSON task parameters on top of the preset")
    p.add_argument("--core-kwargs", default="{}", help="JSON core options (horizon defaults fill the rest)")
    p.add_argument("--iters", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'task':<22}{'core':<16}{'train_acc':>10}{'success':>9}{'wall_s':>8}", flush=True)
    for task in args.tasks:
        for core_name in args.cores:
            r = run(task, core_name, args)
            print(
                f"{r['task']:<22}{r['core']:<16}{r['train_acc']:>10.3f}{r['success']:>9.3f}{r['wall_s']:>8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
