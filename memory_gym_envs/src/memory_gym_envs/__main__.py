"""``python -m memory_gym_envs``: measure every registered task at every difficulty.

Prints one row per (task, difficulty): horizon, observation size, number of actions, target
success, and the measured mean return / success rate of the oracle, the best memoryless policy
and a uniform random policy (one episode per vector-env row). Long horizons use fewer episodes
(``--max-steps`` bounds episodes x horizon per measurement).
"""

from __future__ import annotations

import argparse
import sys
import time

from . import DIFFICULTIES, env_id, get_preset, list_tasks, task_class
from .evaluation import POLICIES, evaluate


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m memory_gym_envs", description=__doc__.split("\n\n")[0])
    p.add_argument("--episodes", type=int, default=300, help="episodes per policy (default 300)")
    p.add_argument(
        "--max-steps",
        type=int,
        default=1_000_000,
        help="cap on episodes x horizon per measurement (fewer episodes for long horizons)",
    )
    p.add_argument("--tasks", nargs="+", default=None, help="task names or ids (default: all)")
    p.add_argument("--difficulties", nargs="+", default=list(DIFFICULTIES), choices=DIFFICULTIES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--list",
        action="store_true",
        help="only print the task table (descriptions, ceilings, presets); no measurement",
    )
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error(f"--episodes must be >= 1, got {args.episodes}")
    if args.max_steps < 1:
        p.error(f"--max-steps must be >= 1, got {args.max_steps}")
    try:
        args.tasks = [task_class(t).name for t in (args.tasks or list_tasks())]
    except ValueError as e:
        p.error(str(e))
    return args


def print_task_table(names) -> None:
    """Markdown tables of the tasks (what to remember, memoryless ceiling) and their presets."""
    print(
        "| task | what the agent must remember | memoryless ceiling at easy: success / return "
        "| horizon easy / medium / hard / extreme |"
    )
    print("|---|---|---|---|")
    for name in names:
        cls = task_class(name)
        task = cls(1, **get_preset(name, "easy").params)
        horizons = " / ".join(f"{get_preset(name, d).horizon:,}" for d in DIFFICULTIES)
        print(
            f"| `{env_id(name)}` | {cls.description} | {task.memoryless_ceiling:.3g} / "
            f"{task.memoryless_return:.3g} | {horizons} |"
        )
    print("\n| task | " + " | ".join(DIFFICULTIES) + " |")
    print("|---|" + "---|" * len(DIFFICULTIES))
    for name in names:
        cells = []
        for d in DIFFICULTIES:
            p = get_preset(name, d)
            params = ", ".join(f"{k}={v}" for k, v in p.params.items())
            cells.append(f"{params}; target {p.target_success:g}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    args = _parse(argv)
    if args.list:
        print_task_table(args.tasks)
        return 0
    head = [
        "task",
        "difficulty",
        "horizon",
        "obs",
        "actions",
        "target",
        "episodes",
        "oracle ret/succ",
        "memoryless ret/succ (ceiling)",
        "random ret/succ",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    start = time.perf_counter()
    for name in args.tasks:
        for difficulty in args.difficulties:
            preset = get_preset(name, difficulty)
            episodes = max(1, min(args.episodes, args.max_steps // preset.horizon))
            task = task_class(name)(1, **preset.params)
            cells = []
            for policy in POLICIES:
                r = evaluate(name, policy, episodes=episodes, difficulty=difficulty, seed=args.seed)
                cell = f"{r.mean_return:.3f} / {r.success_rate:.3f}"
                if policy == "memoryless":
                    cell += f" ({task.memoryless_ceiling:.3g})"
                cells.append(cell)
            row = [
                name,
                difficulty,
                str(preset.horizon),
                str(task.obs_size),
                str(task.num_actions),
                f"{preset.target_success:.2f}",
                str(episodes),
                *cells,
            ]
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"\n({time.perf_counter() - start:.1f} s; ret = mean episode return, succ = success rate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
