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

from ..budgets import DQN_BUDGET
from ..recurrent_modes import RECURRENT_MODES
from ..validation import check_schedule
from . import catalog

DEFAULT_OUT = "suite_results"
#: The task `train` (and the main command) uses when none is given.
DEFAULT_TASK = "DelayedCue"
#: `train` defaults where no preset budget applies (algo dqn: ``budgets.DQN_BUDGET``); PPO runs
#: take their preset's budget.
TRAIN_CLI_DEFAULTS = {
    "steps": DQN_BUDGET.steps,
    "num_envs": DQN_BUDGET.num_envs,
    "recurrent_mode": "full",
    "device": "auto",
    "eval_episodes": 100,
    "checkpoint_every": 0,
}


def json_object(text: str) -> dict:
    """argparse type: a JSON object such as '{"n_steps": 64}'."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value


def _learning_rate(text: str) -> float | str:
    """argparse type of --lr: a number, or a text schedule ('lin_2e-3') kept as written."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        check_schedule("--lr", text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def curriculum_arg(text: str) -> dict | list | None:
    """argparse type: a curriculum as JSON ('{"param": "delay", "start": 10}', or a list of such
    objects run in order), or 'none'."""
    if text.strip().lower() == "none":
        return None
    from memory_agents.curriculum import parse_curriculum

    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        value = json_object(text)  # an object, or its error for anything else
    try:
        parse_curriculum(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def device_arg(text: str) -> str:
    """argparse type: a torch device name such as cpu, cuda, cuda:1 or auto (torch would fail later, deep inside)."""
    if text != "auto":
        import torch

        try:
            torch.device(text)
        except (RuntimeError, ValueError, TypeError):
            raise argparse.ArgumentTypeError(
                f"not a torch device (cpu, cuda, cuda:1, auto): {text!r}"
            ) from None
    return text


def seed_list(text: str) -> list[int]:
    """argparse type: comma-separated non-negative seeds, e.g. '0,1,2'."""
    try:
        seeds = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers like 0,1,2, got {text!r}"
        ) from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return seeds


def env_kwarg(text: str) -> tuple[str, object]:
    """argparse type: KEY=VALUE with a YAML value, e.g. delay=40 or delay=[40,80]."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expects KEY=VALUE, got {text!r}")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"the value of {key!r} is not valid YAML: {value!r}") from None


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `train` and `run`; None means "not given": the budget / suite / default decides."""
    p.add_argument("--steps", type=int, help="environment steps to train (default: the preset's budget)")
    p.add_argument(
        "--envs",
        "--num-envs",
        dest="num_envs",
        type=int,
        help="parallel environments (default: the preset's budget)",
    )
    p.add_argument(
        "--device",
        type=device_arg,
        help="torch device: cpu, cuda, cuda:1, auto (default auto; suites: their own)",
    )
    p.add_argument(
        "--recurrent-mode",
        "--mode",
        dest="recurrent_mode",
        choices=RECURRENT_MODES,
        help="MemoryPPO recurrent mode (default full)",
    )
    p.add_argument("--eval-episodes", type=int, help="episodes for the final evaluation (default 100)")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="checkpoint every N steps; the same command run again after a crash continues each "
        "unfinished run from its last checkpoint (0: none; default: train none, suites theirs)",
    )


def _add_env_flags(p: argparse.ArgumentParser, trained: bool) -> None:
    """--task / --difficulty / --env-kwargs(-kwarg): which environment (train, or eval / render a saved agent)."""
    if trained:
        p.add_argument(
            "--task", help="another task than the agent's (default: the one in run.json beside it)"
        )
        p.add_argument(
            "--difficulty",
            help="that preset as it is (drops the training env kwargs; default: the training env)",
        )
        p.add_argument(
            "--env-kwargs",
            type=json_object,
            default={},
            help="JSON task parameters on top of the training env (or --difficulty), e.g. '{\"delay\": 120}'",
        )
    else:
        p.add_argument("--task", default=DEFAULT_TASK, help="task name or id (default: %(default)s)")
        p.add_argument(
            "--difficulty", help="preset (default easy; tasks without presets, e.g. NeuroGym, take none)"
        )
        p.add_argument(
            "--env-kwargs", type=json_object, default={}, help="JSON task parameters overriding the preset"
        )
    p.add_argument(
        "--env-kwarg",
        dest="env_kwarg",
        action="append",
        type=env_kwarg,
        default=[],
        metavar="KEY=VALUE",
        help="one task parameter, repeatable (e.g. --env-kwarg delay=40); on top of --env-kwargs",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: fastest for small recurrent nets; 0: torch's choice)",
    )


#: Shorthand flags of `train` for MemoryPPO keyword arguments (the main command's old flags).
ALGO_SHORTHANDS = (("lr", "learning_rate"), ("n_steps", "n_steps"), ("bptt_len", "bptt_len"))


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Every flag of `memory-suite train` (also the main command, `python -m memory_agents`)."""
    _add_env_flags(p, trained=False)
    p.add_argument("--core", default="gru", help="memory core (default %(default)s), or mlp (no memory)")
    p.add_argument("--algo", choices=catalog.ALGOS, default="ppo")
    p.add_argument(
        "--seed", type=int, default=0, help="run seed; env seeds follow from it (config.env_seeds)"
    )
    _add_train_flags(p)
    p.add_argument(
        "--hidden-dim", "--hidden", dest="hidden_dim", type=int, default=64, help="core hidden size"
    )
    p.add_argument(
        "--memory-kwargs",
        type=json_object,
        default={},
        help='JSON core options (suite YAML memory_kwargs), e.g. \'{"usage_rule": "strength"}\'',
    )
    p.add_argument(
        "--log-dir",
        "--logdir",
        dest="log_dir",
        default="runs",
        help="runs go to LOG_DIR/<run_id>/ (TensorBoard, model.zip, run.json)",
    )
    p.add_argument(
        "--resume", metavar="CHECKPOINT", help="continue from a saved agent (.zip) up to --steps in total"
    )
    p.add_argument(
        "--algo-kwargs",
        type=json_object,
        default={},
        help="JSON algorithm kwargs, each overriding the budget's, e.g. '{\"n_epochs\": 4}'",
    )
    p.add_argument(
        "--lr",
        type=_learning_rate,
        help="learning rate, or 'lin_<start>' for a linear decay to 0 (= --algo-kwargs learning_rate)",
    )
    p.add_argument("--n-steps", type=int, help="rollout length per env (= --algo-kwargs n_steps)")
    p.add_argument(
        "--bptt-len", type=int, help="chunk length for --mode truncated (= --algo-kwargs bptt_len)"
    )
    p.add_argument(
        "--curriculum",
        type=curriculum_arg,
        default=argparse.SUPPRESS,
        help='grow a live task parameter while training succeeds, JSON such as \'{"param": "delay", '
        '"start": 10, "threshold": 0.9}\' or a JSON list of such specs run in order '
        '(memory_agents.curriculum); "none" turns off the budget\'s',
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-suite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="tasks, difficulties, cores and shipped suites")
    p.add_argument(
        "what", nargs="?", choices=("tasks", "difficulties", "cores", "suites", "all"), default="all"
    )

    p = sub.add_parser(
        "train", help="train one task x core x seed (default: its preset's budget) and save the agent"
    )
    add_train_arguments(p)

    p = sub.add_parser("eval", help="evaluate a saved agent: success rate and return with 95%% CIs")
    p.add_argument("checkpoint", help="model.zip written by train / run / python -m memory_agents")
    p.add_argument("--episodes", type=int, default=100)
    _add_env_flags(p, trained=True)
    p.add_argument(
        "--seed", type=int, default=12345, help="evaluation stream (disjoint from every training stream)"
    )
    p.add_argument("--device", type=device_arg, default="auto")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of argmax")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "run", help="run a YAML suite (tasks x difficulties x cores x seeds) into one JSON file"
    )
    p.add_argument(
        "--suite",
        required=True,
        help=f"shipped suite name or a .yaml path (shipped: {', '.join(catalog.suite_names())})",
    )
    p.add_argument("--out", help=f"results JSON (default {DEFAULT_OUT}/<suite>.json)")
    p.add_argument("--log-dir", help=f"run directories (default {DEFAULT_OUT}/<suite>_runs)")
    p.add_argument(
        "--dry-run", action="store_true", help="list the runs (and which are already finished); train nothing"
    )
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes (local backend)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per run (default 1: fastest for small recurrent nets, and a busy CPU "
        "with more threads than free cores slows to a crawl; 0: CPUs / workers)",
    )
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument(
        "--address", help="Ray cluster address (e.g. auto or ray://host:10001); default: start a local Ray"
    )
    p.add_argument("--retries", type=int, default=1, help="extra attempts for a run that raised")
    p.add_argument("--seeds", type=seed_list, help="override the suite's seeds, e.g. 0,1")
    p.add_argument("--no-progress", action="store_true")
    _add_train_flags(p)

    p = sub.add_parser("compare", help="compare results with a reference: better / same / worse beyond noise")
    p.add_argument("results")
    p.add_argument("reference")
    p.add_argument("--metric", choices=("success", "return"), default="success")
    p.add_argument("--z", type=float, default=1.96, help="noise multiplier (standard errors)")
    p.add_argument(
        "--tolerance", type=float, default=0.0, help="extra absolute margin before calling a change"
    )
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 if any row is worse, failed or missing"
    )

    p = sub.add_parser("table", help="markdown table of a results file (means over seeds)")
    p.add_argument("results")

    p = sub.add_parser("plot", help="learning curves per task and success-vs-target bars as PNG")
    p.add_argument("results", nargs="+", help="one or more results JSON files")
    p.add_argument("--out-dir", default="plots")

    p = sub.add_parser("render", help="one episode of a saved agent as PNG and GIF, memory activity included")
    p.add_argument("checkpoint")
    p.add_argument(
        "--out", default="episode", help="output path without extension (.png and .gif are written)"
    )
    _add_env_flags(p, trained=True)
    p.add_argument("--seed", type=int, default=0, help="evaluation stream whose first episode is drawn")
    p.add_argument("--device", type=device_arg, default="cpu")
    p.add_argument("--no-gif", action="store_true")
    return parser


# ----------------------------------------------------------------------------- commands
def _set_threads(threads: int) -> None:
    if threads < 0:
        raise ValueError(f"--threads must be >= 0, got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)


def _env_kwargs(args) -> dict:
    """--env-kwargs with each --env-kwarg KEY=VALUE on top."""
    return {**args.env_kwargs, **dict(args.env_kwarg)}


def cmd_list(args) -> int:
    from .schema import plural

    what = args.what
    if what in ("tasks", "all"):
        print("tasks:")
        tasks = sorted(catalog.task_catalog().items())
        width = max(len(name) for name, _ in tasks) + 2
        for name, env_id in tasks:
            print(f"  {name:{width}s}{env_id}")
    if what in ("difficulties", "all"):
        print("difficulties: " + ", ".join(catalog.difficulties()))
    if what in ("cores", "all"):
        print("cores: " + ", ".join(catalog.core_names()))
    if what in ("suites", "all"):
        from .config import load_suite

        print("suites:")
        names = catalog.suite_names()
        width = max(map(len, names)) + 2
        lines = []
        for name in names:
            try:
                suite = load_suite(name)
                lines.append((name, plural(len(suite.runs), "run"), suite.description))
            except ValueError as exc:  # a shipped suite naming a task/core not built here
                lines.append((name, "", f"(unavailable: {exc})"))
        count = max(len(n.split()[0]) for _, n, _ in lines if n)
        for name, runs, text in lines:
            n, _, word = runs.partition(" ")
            print(f"  {name:{width}s}{n:>{count}s} {word:4s}  {text}")
    return 0


def train_spec(args):
    """The RunSpec of `train` flags: the preset's budget (PPO), each flag given overriding its key."""
    from .config import (
        TRAIN_DEFAULTS,
        RunSpec,
        check_algo_kwargs,
        check_core_for_algo,
        check_memory_kwargs,
        check_policy_kwargs,
        resolve_settings,
    )

    task, env_id = catalog.resolve_task(args.task)
    difficulty = catalog.task_difficulty(task, args.difficulty)
    core = catalog.check_core(args.core)
    env_kwargs = _env_kwargs(args)
    catalog.check_env_kwargs(task, difficulty, env_kwargs)
    algo_kwargs = dict(args.algo_kwargs)
    for flag, key in ALGO_SHORTHANDS:
        value = getattr(args, flag)
        if value is not None:
            if key in algo_kwargs and algo_kwargs[key] != value:
                raise ValueError(
                    f"--{flag.replace('_', '-')} {value} contradicts --algo-kwargs {key}={algo_kwargs[key]!r}"
                )
            algo_kwargs[key] = value
    policy_kwargs = {"hidden_dim": args.hidden_dim}
    check_core_for_algo(core, args.algo)
    check_algo_kwargs(args.algo, algo_kwargs)
    check_policy_kwargs(args.algo, policy_kwargs)
    check_memory_kwargs(core, args.memory_kwargs, args.hidden_dim)
    given = {
        k: getattr(args, k)
        for k in ("steps", "num_envs", "recurrent_mode", "device", "eval_episodes", "checkpoint_every")
        if getattr(args, k) is not None
    }
    if hasattr(args, "curriculum"):  # given (possibly "none"); absent: the budget's
        given["curriculum"] = args.curriculum
    settings, algo_kwargs, budget = resolve_settings(
        task,
        difficulty,
        env_kwargs,
        given,
        algo_kwargs,
        {**TRAIN_DEFAULTS, **TRAIN_CLI_DEFAULTS},
        args.algo == "ppo",
    )
    return RunSpec(
        task=task,
        env_id=env_id,
        difficulty=difficulty,
        core=core,
        seed=args.seed,
        algo=args.algo,
        algo_kwargs=algo_kwargs,
        policy_kwargs=policy_kwargs,
        memory_kwargs=dict(args.memory_kwargs),
        env_kwargs=env_kwargs,
        budget=budget,
        **settings,
    )


def cmd_train(args) -> int:
    from .config import describe_budget
    from .training import train_run

    _set_threads(args.threads)
    spec = train_spec(args)
    if spec.budget is not None:
        print(describe_budget(spec.budget), flush=True)
    run_dir = Path(args.log_dir) / spec.run_id
    row = train_run(
        spec,
        run_dir,
        resume=args.resume,
        progress=not args.no_progress,
        log=lambda line: print(line, flush=True),
    )
    marks = [
        f"{name} {value:.2f}"
        for name, value in (
            ("memoryless ceiling", catalog.memoryless_ceiling(spec.task, spec.difficulty, spec.env_kwargs)),
            ("target", row["target_success"]),
        )
        if value is not None
    ]
    lo, hi = row["success_ci"]
    print(f"trained {row['steps']:,} steps in {row['train_time']:.0f} s ({row['sps']:,.0f} steps/s)")
    print(
        f"success {row['success']:.3f} [{lo:.3f}, {hi:.3f}] over {row['eval_episodes']} fresh episodes"
        + (f" ({', '.join(marks)})" if marks else "")
        + f"; return {row['return']:.3f}"
        + (f"; trial accuracy {row['trial_accuracy']:.3f}" if row.get("trial_accuracy") is not None else "")
    )
    print(
        f"saved agent: {row['checkpoint']}  (TensorBoard: {run_dir / 'tb'}; "
        f"evaluate again: memory-suite eval {row['checkpoint']})"
    )
    return 0


def cmd_eval(args) -> int:
    from .evaluation import evaluate_checkpoint

    _set_threads(args.threads)
    res = evaluate_checkpoint(
        args.checkpoint,
        episodes=args.episodes,
        task=args.task,
        difficulty=args.difficulty,
        seed=args.seed,
        device=args.device,
        deterministic=not args.stochastic,
        env_kwargs=_env_kwargs(args),
    )
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"{res['label']}, {res['episodes']} episodes:")
        print(
            f"  success {res['success']:.3f}  95% CI [{res['success_ci'][0]:.3f}, {res['success_ci'][1]:.3f}] (Wilson)"
        )
        print(
            f"  return  {res['return']:.3f}  95% CI [{res['return_ci'][0]:.3f}, {res['return_ci'][1]:.3f}] (Student t)"
        )
        if res["trial_accuracy"] is not None:
            print(f"  trial accuracy {res['trial_accuracy']:.3f} (correct / completed trials)")
    return 0


def cmd_run(args) -> int:
    from .config import load_suite
    from .runner import run_suite

    overrides = {
        k: getattr(args, k)
        for k in ("steps", "num_envs", "device", "recurrent_mode", "eval_episodes", "checkpoint_every")
    }
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    suite = load_suite(args.suite, overrides)
    out = Path(args.out or f"{DEFAULT_OUT}/{suite.name}.json")
    log_dir = Path(args.log_dir or out.with_name(out.stem + "_runs"))
    summary = run_suite(
        suite,
        out,
        log_dir,
        workers=args.workers,
        threads=args.threads,
        backend=args.backend,
        address=args.address,
        retries=args.retries,
        dry_run=args.dry_run,
        progress=not args.no_progress,
    )
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

    _set_threads(args.threads)
    for path in render_episode(
        args.checkpoint,
        args.out,
        task=args.task,
        difficulty=args.difficulty,
        seed=args.seed,
        device=args.device,
        gif=not args.no_gif,
        env_kwargs=_env_kwargs(args),
    ):
        print(path)
    return 0


COMMANDS = {
    "list": cmd_list,
    "train": cmd_train,
    "eval": cmd_eval,
    "run": cmd_run,
    "compare": cmd_compare,
    "table": cmd_table,
    "plot": cmd_plot,
    "render": cmd_render,
}


def _run(command, args, name: str) -> int:
    try:
        return command(args)
    except ValueError as exc:  # SuiteError, ResultsError and parameter errors: one clear line
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return _run(COMMANDS[args.command], args, f"memory-suite {args.command}")


def train_main(argv=None, prog: str = "python -m memory_agents") -> int:
    """`memory-suite train` under another name: the main command (``python -m memory_agents``)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=TRAIN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_train_arguments(parser)
    return _run(cmd_train, parser.parse_args(argv), prog)


TRAIN_DESCRIPTION = """\
Train a memory agent (MemoryPPO, GRU core by default) on a task preset (DelayedCue easy by default)
with the preset's published training budget, save it, and print its success rate on fresh
evaluation episodes next to the memoryless ceiling. Same as `memory-suite train`: writes
LOG_DIR/<run_id>/ with run.json, model.zip and tb/, so `memory-suite eval <run dir>/model.zip`
and `memory-suite render` work on the agent with no flags. Any flag given overrides just its key
of the budget (e.g. --steps, --envs, --lr, --algo-kwargs '{"n_epochs": 4}').
"""


if __name__ == "__main__":
    sys.exit(main())
