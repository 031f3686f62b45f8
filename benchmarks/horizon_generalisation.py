"""Does a trained agent's memory hold beyond the horizon it was trained on?

Evaluates saved agents (``model.zip`` written by ``memory-suite train`` / ``run``) on their own
task with the delay (or corridor) of each difficulty preset, keeping every other parameter of
the training task (an agent's observation and action sizes are fixed), and prints one row per
agent: success on fresh evaluation episodes at each horizon.

    uv run python benchmarks/horizon_generalisation.py runs/*/model.zip [--episodes 200]

A memory that holds scores at longer delays what it scores at its own; an agent that learned
the timing of one fixed delay fails at every other one, shorter ones included.
"""

from __future__ import annotations

import argparse

#: The parameter that sets each task's horizon.
HORIZON_PARAM = {
    "TMazePassive": "corridor_length",
    "TMazeActive": "corridor_length",
    "NBack": "length",
    "DistractorNavigation": "episode_length",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=7, help="evaluation stream (config.env_seeds)")
    p.add_argument("--extra", type=int, nargs="*", default=[], help="more horizons to try, e.g. 20 120")
    args = p.parse_args()

    import torch
    from memory_agents.suite.artifacts import load_run_info
    from memory_agents.suite.evaluation import evaluate_checkpoint

    from memory_gym_envs import DIFFICULTIES, get_preset

    torch.set_num_threads(1)
    for ckpt in args.checkpoints:
        info = load_run_info(ckpt) or {}
        task = info.get("task")
        if task is None:
            print(f"{ckpt}: no run.json beside it; skipped")
            continue
        param = HORIZON_PARAM.get(task, "delay")
        own = {
            **get_preset(task, info["difficulty"]).params,
            **((info.get("config") or {}).get("env_kwargs") or {}),
        }
        values = sorted({get_preset(task, d).params[param] for d in DIFFICULTIES} | set(args.extra))
        cells = []
        for value in values:
            res = evaluate_checkpoint(
                ckpt, episodes=args.episodes, seed=args.seed, device="cpu", env_kwargs={**own, param: value}
            )
            mark = "*" if value == own[param] else ""
            cells.append(f"{param}={value}{mark}: {res['success']:.2f}")
        print(
            f"{task} {info['difficulty']} {info.get('core')} s{info.get('seed')}  " + "  ".join(cells),
            flush=True,
        )


if __name__ == "__main__":
    main()
