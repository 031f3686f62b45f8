"""Env steps per second of every MemoryGym task: native vector env vs gymnasium SyncVectorEnv.

    uv run python benchmarks/env_throughput.py            # N = 1, 64, 1024, 4096; ~1 s per cell
    uv run python benchmarks/env_throughput.py --quick    # N = 1, 64, 1024; short timings

Both run in this process with the same random actions (NEXT_STEP autoreset, easy preset unless
--difficulty); "ratio" = native / sync. Steps/s are per CPU second of this process by default
(``--clock cpu``: one core's worth, robust on a shared machine); ``--clock wall`` for wall-clock.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import memory_gym_envs  # noqa: E402

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def steps_per_second(env, seconds: float, min_steps: int = 3, clock=time.process_time) -> float:
    """Env-steps/s (vector steps x num_envs) of random actions for about ``seconds`` of ``clock``."""
    n = env.num_envs
    actions = np.random.default_rng(0).integers(0, env.single_action_space.n, size=(64, n))
    env.reset(seed=0)
    for i in range(3):  # warm-up
        env.step(actions[i])
    steps, start = 0, clock()
    while True:
        for _ in range(8):
            env.step(actions[steps % 64])
            steps += 1
        elapsed = clock() - start
        if elapsed >= seconds and steps >= min_steps:
            return steps * n / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 1, 64, 1024 and 0.2 s per cell")
    p.add_argument("--num-envs", type=int, nargs="+", default=None)
    p.add_argument("--seconds", type=float, default=None, help="time per measurement")
    p.add_argument("--tasks", nargs="+", default=None, help="task names (default: all)")
    p.add_argument("--difficulty", default="easy", choices=memory_gym_envs.DIFFICULTIES)
    p.add_argument("--no-sync", action="store_true", help="skip the SyncVectorEnv baseline")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="cpu (default) or wall time")
    args = p.parse_args()
    sizes = args.num_envs or ([1, 64, 1024] if args.quick else [1, 64, 1024, 4096])
    seconds = args.seconds or (0.2 if args.quick else 1.0)
    ids = (
        [memory_gym_envs.env_id(memory_gym_envs.task_class(t).name) for t in args.tasks]
        if args.tasks
        else memory_gym_envs.list_tasks()
    )

    print(f"| task | N | native steps/s ({args.clock}) | SyncVectorEnv steps/s | ratio |")
    print("|---|---|---|---|---|")
    for env_id in ids:
        for n in sizes:
            native = gym.make_vec(env_id, num_envs=n, difficulty=args.difficulty)
            clock = CLOCKS[args.clock]
            fast = steps_per_second(native, seconds, clock=clock)
            if args.no_sync:
                slow_txt, ratio_txt = "-", "-"
            else:
                sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", difficulty=args.difficulty)
                slow = steps_per_second(sync, seconds, min_steps=2, clock=clock)
                sync.close()
                slow_txt, ratio_txt = f"{slow:,.0f}", f"{fast / slow:,.1f}x"
            print(f"| {env_id.split('/')[1]} | {n} | {fast:,.0f} | {slow_txt} | {ratio_txt} |", flush=True)


if __name__ == "__main__":
    main()
