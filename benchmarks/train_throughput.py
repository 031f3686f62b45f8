"""Training throughput (env steps/s, rollout + update) of MemoryPPO vs sb3-contrib RecurrentPPO.

    uv run python benchmarks/train_throughput.py            # 16 and 64 envs x 128 steps, 3 rollouts/row
    uv run python benchmarks/train_throughput.py --quick    # 16 envs only, 1 timed rollout per row
    uv run python benchmarks/train_throughput.py --device cuda --num-envs 4096 --core mamba2 --no-baseline

Same task (DelayedCue, 4 cues, delay 20), same env count and rollout size (n_steps) for every
row of a block, one process, CPU threads fixed by --threads. Rows:
  - RecurrentPPO LSTM 64 with its defaults (batch_size 128, n_epochs 10);
  - RecurrentPPO LSTM 64 with MemoryPPO's update settings (one minibatch, 8 epochs) for fairness;
  - MemoryPPO GRU 64 in each recurrent mode (defaults: one minibatch of the whole rollout, 8 epochs).
Timings are wall-clock: on a shared machine they move with the load; compare rows of one run.
"""

from __future__ import annotations

import argparse
import inspect
import time

import torch

from memory_agents import MemoryPPO, make_vec_env

TASK = "MemoryGym/DelayedCue-v0"


def timed_learn(model, rollouts: int) -> float:
    """Env steps/s over ``rollouts`` rollout+update cycles after one warm-up cycle."""
    per_rollout = model.n_steps * model.n_envs
    model.learn(per_rollout)  # warm-up: allocations, first-call costs
    start = time.perf_counter()
    model.learn(per_rollout * rollouts, reset_num_timesteps=False)
    return per_rollout * rollouts / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num-envs", type=int, nargs="+", default=None, help="env counts (default 16 64)")
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--rollouts", type=int, default=3, help="timed rollout+update cycles per row")
    parser.add_argument("--core", default="gru")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--delay", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 timed rollout per row")
    parser.add_argument("--no-baseline", action="store_true", help="skip sb3-contrib RecurrentPPO")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rollouts = 1 if args.quick else args.rollouts
    env_counts = args.num_envs or ([16] if args.quick else [16, 64])
    for num_envs in env_counts:
        run_block(args, num_envs, rollouts)


def run_block(args, num_envs: int, rollouts: int) -> None:
    env_kwargs = dict(num_cues=4, delay=args.delay)

    def env():
        return make_vec_env(TASK, num_envs=num_envs, seed=0, env_kwargs=env_kwargs)

    rollout = args.n_steps * num_envs
    n_epochs = inspect.signature(MemoryPPO).parameters["n_epochs"].default
    print(
        f"DelayedCue(4 cues, delay {args.delay}), {num_envs} envs x {args.n_steps} steps, "
        f"device {args.device}, {args.threads} thread(s), {rollouts} timed rollout(s) per row"
    )
    rows: list[tuple[str, float]] = []
    if not args.no_baseline:
        from sb3_contrib import RecurrentPPO

        lstm = dict(lstm_hidden_size=args.hidden)
        for label, kw in (
            ("RecurrentPPO LSTM (defaults: batch 128, 10 epochs)", {}),
            (
                f"RecurrentPPO LSTM (1 minibatch, {n_epochs} epochs)",
                dict(batch_size=rollout, n_epochs=n_epochs),
            ),
        ):
            model = RecurrentPPO(
                "MlpLstmPolicy",
                env(),
                n_steps=args.n_steps,
                policy_kwargs=lstm,
                seed=0,
                device=args.device,
                **kw,
            )
            rows.append((label, timed_learn(model, rollouts)))
            print(f"  {label:58s} {rows[-1][1]:10,.0f} steps/s", flush=True)
    for mode, kw in (("full", {}), ("truncated", dict(bptt_len=min(32, args.n_steps))), ("cached", {})):
        label = f"MemoryPPO {args.core} {args.hidden} ({mode})"
        model = MemoryPPO(
            "MemoryPolicy",
            env(),
            n_steps=args.n_steps,
            recurrent_mode=mode,
            seed=0,
            device=args.device,
            policy_kwargs=dict(memory=args.core, hidden_dim=args.hidden),
            **kw,
        )
        rows.append((label, timed_learn(model, rollouts)))
        print(f"  {label:58s} {rows[-1][1]:10,.0f} steps/s", flush=True)
    if not args.no_baseline:
        base, fair = rows[0][1], rows[1][1]
        print("  speed-up vs RecurrentPPO defaults / vs RecurrentPPO with the same update settings:")
        for label, sps in rows[2:]:
            print(f"    {label:56s} {sps / base:6.1f}x / {sps / fair:5.1f}x")


if __name__ == "__main__":
    main()
