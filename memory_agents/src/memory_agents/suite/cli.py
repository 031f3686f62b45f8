"""`memory-suite`: train, evaluate, run suites, compare, plot and render memory agents.

Every subcommand is a thin layer over a module of this package (training, evaluation, runner,
compare, plot, render), so what the CLI does is also callable from Python. Bad input exits
with status 2 and one line on stderr naming the bad value; a suite with failed runs or a
comparison with regressions (``--fail-on-regression``) exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import catalog

DEFAULT_OUT = "suite_results"


def json_object(text: str) -> dict:
    """argparse type: a JSON object such as '{"n_steps": 64}'."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value


def seed_list(text: str) -> list[int]:
    """argparse type: comma-separated non-negative seeds, e.g. '0,1,2'."""
    try:
        seeds = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers like 0,1,2, got {text!r}") from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return seeds


def _add_train_flags(p: argparse.ArgumentParser, with_defaults: bool) -> None:
    """Flags shared by `train` (defaults) and `run` (None = keep the suite's value)."""
    d = (lambda v: v) if with_defaults else (lambda v: None)
    p.add_argument("--steps", type=int, default=d(20_000), help="environment steps to train")
    p.add_argument("--envs", dest="num_envs", type=int, default=d(8), help="parallel environments")
    p.add_argument("--device", default=d("auto"), help="torch device: cpu, cuda, cuda:1, auto")
    p.add_argument("--recurrent-mode", choices=catalog.RECURRENT_MODES, default=d("full"),
                   help="MemoryPPO recurrent mode")
    p.add_argument("--eval-episodes", type=int, default=d(100), help="episodes for the final evaluation")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-suite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="tasks, difficulties, cores and shipped suites")
    p.add_argument("what", nargs="?", choices=("tasks", "difficulties", "cores", "suites", "all"), default="all")

    p = sub.add_parser("train", help="train one task x core x seed and save the agent")
    p.add_argument("--task", required=True, help="task name (DelayedCue) or id (MemoryGym/DelayedCue-v0)")
    p.add_argument("--difficulty", help="preset (default easy; tasks without presets, e.g. NeuroGym, take none)")
    p.add_argument("--core", default="gru")
    p.add_argument("--algo", choices=catalog.ALGOS, default="ppo")
    p.add_argument("--seed", type=int, default=0)
    _add_train_flags(p, with_defaults=True)
    p.add_argument("--hidden-dim", type=int, default=64)
    p.add_argument("--log-dir", default="runs", help="runs go to LOG_DIR/<run_id>/ (TensorBoard, model.zip)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue from a saved agent (.zip) up to --steps in total")
    p.add_argument("--checkpoint-every", type=int, default=0, help="also save checkpoints every N steps (0: only at the end)")
    p.add_argument("--algo-kwargs", type=json_object, default={}, help='JSON, e.g. \'{"n_steps": 64}\'')
    p.add_argument("--env-kwargs", type=json_object, default={}, help="JSON task parameters overriding the preset")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest for small recurrent nets; 0: torch's choice)")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("eval", help="evaluate a saved agent: success rate and return with 95%% CIs")
    p.add_argument("checkpoint", help="model.zip written by train / run")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--task", help="defaults to the task the agent was trained on (run.json beside it)")
    p.add_argument("--difficulty")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--device", default="auto")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of argmax")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("run", help="run a YAML suite (tasks x difficulties x cores x seeds) into one JSON file")
    p.add_argument("--suite", required=True, help=f"shipped suite name or a .yaml path (shipped: {', '.join(catalog.suite_names())})")
    p.add_argument("--out", help=f"results JSON (default {DEFAULT_OUT}/<suite>.json)")
    p.add_argument("--log-dir", help=f"run directories (default {DEFAULT_OUT}/<suite>_runs)")
    p.add_argument("--dry-run", action="store_true", help="list the runs (and which are already finished); train nothing")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes (local backend)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per run (default 1: fastest for small recurrent nets, and a busy CPU "
                        "with more threads than free cores slows to a crawl; 0: CPUs / workers)")
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--address", help="Ray cluster address (e.g. auto or ray://host:10001); default: start a local Ray")
    p.add_argument("--retries", type=int, default=1, help="extra attempts for a run that raised")
    p.add_argument("--seeds", type=seed_list, help="override the suite's seeds, e.g. 0,1")
    p.add_argument("--no-progress", action="store_true")
    _add_train_flags(p, with_defaults=False)

    p = sub.add_parser("compare", help="compare results with a reference: better / same / worse beyond noise")
    p.add_argument("results")
    p.add_argument("reference")
    p.add_argument("--metric", choices=("success", "return"), default="success")
    p.add_argument("--z", type=float, default=1.96, help="noise multiplier (standard errors)")
    p.add_argument("--tolerance", type=float, default=0.0, help="extra absolute margin before calling a change")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 if any row is worse, failed or missing")

    p = sub.add_parser("table", help="markdown table of a results file (means over seeds)")
    p.add_argument("results")

    p = sub.add_parser("plot", help="learning curves per task and success-vs-target bars as PNG")
    p.add_argument("results", nargs="+", help="one or more results JSON files")
    p.add_argument("--out-dir", default="plots")

    p = sub.add_parser("render", help="one episode of a saved agent as PNG and GIF, memory activity included")
    p.add_argument("checkpoint")
    p.add_argument("--out", default="episode", help="output path without extension (.png and .gif are written)")
    p.add_argument("--task")
    p.add_argument("--difficulty")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-gif", action="store_true")
    return parser


# ----------------------------------------------------------------------------- commands
def cmd_list(args) -> int:
    what = args.what
    if what in ("tasks", "all"):
        print("tasks:")
        for name, env_id in sorted(catalog.task_catalog().items()):
            print(f"  {name:28s} {env_id}")
    if what in ("difficulties", "all"):
        print("difficulties: " + ", ".join(catalog.difficulties()))
    if what in ("cores", "all"):
        print("cores: " + ", ".join(catalog.core_names()))
    if what in ("suites", "all"):
        from .config import load_suite

        print("suites:")
        for name in catalog.suite_names():
            try:
                suite = load_suite(name)
                print(f"  {name:14s} {len(suite.runs):4d} runs  {suite.description}")
            except ValueError as exc:  # a shipped suite naming a task/core not built here
                print(f"  {name:14s}  (unavailable: {exc})")
    return 0


def cmd_train(args) -> int:
    from .config import RunSpec
    from .training import train_run

    if args.threads < 0:
        raise ValueError(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    task, env_id = catalog.resolve_task(args.task)
    spec = RunSpec(task=task, env_id=env_id, difficulty=catalog.task_difficulty(task, args.difficulty),
                   core=catalog.check_core(args.core), seed=args.seed, algo=args.algo, steps=args.steps,
                   num_envs=args.num_envs, recurrent_mode=args.recurrent_mode, device=args.device,
                   eval_episodes=args.eval_episodes, algo_kwargs=args.algo_kwargs,
                   policy_kwargs={"hidden_dim": args.hidden_dim}, env_kwargs=args.env_kwargs)
    run_dir = Path(args.log_dir) / spec.run_id
    row = train_run(spec, run_dir, resume=args.resume, checkpoint_every=args.checkpoint_every,
                    progress=not args.no_progress)
    print(f"{row['run_id']}: success {row['success']:.3f} [{row['success_ci'][0]:.3f}, {row['success_ci'][1]:.3f}]"
          f"  return {row['return']:.3f}  {row['steps']} steps  {row['sps']:.0f} steps/s")
    print(f"saved agent: {row['checkpoint']}  (TensorBoard: {run_dir / 'tb'})")
    return 0


def cmd_eval(args) -> int:
    from .evaluation import evaluate_checkpoint

    res = evaluate_checkpoint(args.checkpoint, episodes=args.episodes, task=args.task, difficulty=args.difficulty,
                              seed=args.seed, device=args.device, deterministic=not args.stochastic)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"{res['task']} ({res['difficulty']}), {res['episodes']} episodes:")
        print(f"  success {res['success']:.3f}  95% CI [{res['success_ci'][0]:.3f}, {res['success_ci'][1]:.3f}] (Wilson)")
        print(f"  return  {res['return']:.3f}  95% CI [{res['return_ci'][0]:.3f}, {res['return_ci'][1]:.3f}] (Student t)")
    return 0


def cmd_run(args) -> int:
    from .config import load_suite
    from .runner import run_suite

    overrides = {k: getattr(args, k) for k in ("steps", "num_envs", "device", "recurrent_mode", "eval_episodes")}
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    suite = load_suite(args.suite, overrides)
    out = Path(args.out or f"{DEFAULT_OUT}/{suite.name}.json")
    log_dir = Path(args.log_dir or out.with_name(out.stem + "_runs"))
    summary = run_suite(suite, out, log_dir, workers=args.workers, threads=args.threads, backend=args.backend,
                        address=args.address, retries=args.retries, dry_run=args.dry_run,
                        progress=not args.no_progress)
    return 1 if summary["failed"] else 0


def cmd_compare(args) -> int:
    from .compare import compare_files, format_table

    rows = compare_files(args.results, args.reference, metric=args.metric, z=args.z, tolerance=args.tolerance)
    print(format_table(rows, args.metric))
    bad = [r for r in rows if r["verdict"] in ("worse", "failed", "missing")]
    return 1 if (args.fail_on_regression and bad) else 0


def cmd_table(args) -> int:
    from .compare import summary_markdown
    from .schema import load_results

    print(summary_markdown(load_results(args.results)))
    return 0


def cmd_plot(args) -> int:
    from .plot import plot_results

    for path in plot_results(args.results, args.out_dir):
        print(path)
    return 0


def cmd_render(args) -> int:
    from .render import render_episode

    for path in render_episode(args.checkpoint, args.out, task=args.task, difficulty=args.difficulty,
                               seed=args.seed, device=args.device, gif=not args.no_gif):
        print(path)
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "eval": cmd_eval, "run": cmd_run,
            "compare": cmd_compare, "table": cmd_table, "plot": cmd_plot, "render": cmd_render}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ValueError as exc:  # SuiteError, ResultsError and parameter errors: one clear line
        print(f"memory-suite {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
