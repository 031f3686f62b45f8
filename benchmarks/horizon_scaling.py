"""How training cost grows with the delay on DelayedCue, per core.

Two figures per core and horizon:
- ``rss``: peak resident memory (MiB) of one full-BPTT MemoryPPO rollout + update over whole
  episodes (n_steps = horizon), measured in a fresh subprocess so each figure is its own peak;
- ``steps`` / ``time``: env steps and wall seconds until the success of the training episodes
  (a window of the last 256) reaches the target, capped by ``--max-steps``; "-" = not reached.
  Then the greedy success on fresh seeds at that point.

    uv run python benchmarks/horizon_scaling.py --rss-only                      # minutes
    uv run python benchmarks/horizon_scaling.py --cores gru --delays 60 400 --max-steps 3000000

Settings: 4 cues, the chrono / auto-rollout defaults of MemoryPPO, 64 envs, hidden 64, lr 2e-3;
``--curriculum`` starts the delay at 10 and grows it on success (memory_agents.curriculum).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGET = 0.95


def one_update(core: str, delay: int, num_envs: int) -> dict:
    import torch

    from memory_agents import MemoryPPO, make_vec_env

    torch.set_num_threads(1)
    env = make_vec_env(
        "MemoryGym/DelayedCue-v0", num_envs=num_envs, seed=0, env_kwargs={"num_cues": 4, "delay": delay}
    )
    model = MemoryPPO("MemoryPolicy", env, n_epochs=1, policy_kwargs=dict(memory=core, hidden_dim=64))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    model.learn(model.n_steps * num_envs)
    return {
        "core": core,
        "delay": delay,
        "n_steps": model.n_steps,
        "num_envs": num_envs,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mib": before,
        "seconds": time.perf_counter() - t0,
    }


def time_to_target(core: str, delay: int, max_steps: int, curriculum: bool, seed: int) -> dict:
    import numpy as np
    import torch
    from memory_agents.curriculum import CurriculumCallback, CurriculumSpec
    from stable_baselines3.common.callbacks import BaseCallback

    from memory_agents import MemoryPPO, make_vec_env

    torch.set_num_threads(1)
    spec = CurriculumSpec(param="delay", start=min(10, delay)).with_target(delay) if curriculum else None
    kwargs = {"num_cues": 4, "delay": delay, **(spec.build_kwargs() if spec else {})}
    env = make_vec_env("MemoryGym/DelayedCue-v0", num_envs=64, seed=seed * 2**32, env_kwargs=kwargs)
    model = MemoryPPO(
        "MemoryPolicy", env, learning_rate=2e-3, seed=seed, policy_kwargs=dict(memory=core, hidden_dim=64)
    )

    class Stop(BaseCallback):
        def __init__(self):
            super().__init__()
            self.window: list[float] = []
            self.reached = None

        def _on_step(self) -> bool:
            for done, info in zip(self.locals["dones"], self.locals["infos"]):
                if done and "is_success" in info:
                    self.window = (self.window + [float(info["is_success"])])[-256:]
            at_target = spec is None or model.curriculum_state["value"] == delay
            if at_target and len(self.window) == 256 and np.mean(self.window) >= TARGET:
                self.reached = self.num_timesteps
                return False
            return True

    stop = Stop()
    t0 = time.perf_counter()
    model.learn(max_steps, callback=[stop] + ([CurriculumCallback(spec)] if spec else []))
    elapsed = time.perf_counter() - t0
    from memory_agents.suite.evaluation import evaluate_agent

    ev_env = make_vec_env(
        "MemoryGym/DelayedCue-v0",
        num_envs=100,
        seed=seed * 2**32 + 2**31,
        env_kwargs={"num_cues": 4, "delay": delay},
    )
    success = evaluate_agent(model, ev_env, 200, deterministic=True)["success"]
    return {
        "core": core,
        "delay": delay,
        "steps": stop.reached,
        "seconds": elapsed if stop.reached else None,
        "trained": model.num_timesteps,
        "success": success,
        "curriculum": curriculum,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cores", nargs="+", default=["gru", "lstm", "mamba2", "pseudo_mamba", "pseudo_memory"])
    p.add_argument("--delays", type=int, nargs="+", default=[60, 400, 2000])
    p.add_argument("--rss-delays", type=int, nargs="+", default=[60, 400, 2000, 10000])
    p.add_argument("--rss-envs", type=int, default=64)
    p.add_argument("--max-steps", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--curriculum", action="store_true")
    p.add_argument("--rss-only", action="store_true")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: JSON args of one measurement
    args = p.parse_args()
    if args.one:
        job = json.loads(args.one)
        fn = one_update if job.pop("kind") == "rss" else time_to_target
        print(json.dumps(fn(**job)))
        return

    def run(job: dict) -> dict | None:
        out = subprocess.run(
            [sys.executable, __file__, "--one", json.dumps(job)], capture_output=True, text=True
        )
        if out.returncode:
            print(
                f"  failed: {job}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
            )
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(f"peak RSS of one full-BPTT rollout + update (n_steps = episode, {args.rss_envs} envs, hidden 64):")
    print("core".ljust(14) + "".join(f"D={d}".rjust(22) for d in args.rss_delays))
    for core in args.cores:
        cells = []
        for delay in args.rss_delays:
            r = run({"kind": "rss", "core": core, "delay": delay, "num_envs": args.rss_envs})
            cells.append(
                "failed".rjust(22)
                if r is None
                else f"{r['rss_mib']:7.0f} MiB {r['seconds']:7.1f} s".rjust(22)
            )
        print(core.ljust(14) + "".join(cells), flush=True)
    if args.rss_only:
        return
    print(
        f"\nenv steps / wall time to success >= {TARGET} on the training episodes (cap {args.max_steps:,}; "
        f"curriculum {'on' if args.curriculum else 'off'}); greedy success on fresh seeds:"
    )
    print("core".ljust(14) + "".join(f"D={d}".rjust(34) for d in args.delays))
    for core in args.cores:
        cells = []
        for delay in args.delays:
            r = run(
                {
                    "kind": "target",
                    "core": core,
                    "delay": delay,
                    "max_steps": args.max_steps,
                    "curriculum": args.curriculum,
                    "seed": args.seed,
                }
            )
            if r is None:
                cells.append("failed".rjust(34))
            elif r["steps"] is None:
                cells.append(f"- ({r['trained']:,} steps) {r['success']:.2f}".rjust(34))
            else:
                cells.append(f"{r['steps']:,} / {r['seconds']:.0f} s / {r['success']:.2f}".rjust(34))
        print(core.ljust(14) + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
