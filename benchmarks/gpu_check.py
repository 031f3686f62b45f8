"""The GPU path checked in one command (issue 14): set-up, gpu tests, Mamba2 Triton == PyTorch,
core and MemoryPPO throughput, time to target on DelayedCue, and a profile of one MemoryPPO
cycle; one table at the end.

    uv run python benchmarks/gpu_check.py                    # all seven parts, under 8 minutes on one H100/H200
    uv run python benchmarks/gpu_check.py --parts 3,4        # chosen parts (ranges too: 2-7)
    uv run python benchmarks/gpu_check.py --budget-s 900     # the chosen parts' limits scaled to 900 s in all
    uv run python benchmarks/gpu_check.py --dry-run          # the parts, their limits and commands; runs nothing
    python3 benchmarks/gpu_check.py --python python3         # an environment prepared without uv (no set-up)
    uv run python benchmarks/gpu_check.py --device cpu --smoke --parts 7   # the profile on the CPU

Why this shape: a GPU machine is lent for minutes, with a clone of the repo and nothing else, so
the check must be ready before the machine is and must not lose everything to one hang. Each
part runs in its own subprocess under its own time limit (killed at it, with what it measured so
far kept), and the table and ``--out`` JSON say ok / failed / timeout / skipped per part. Without
CUDA the script says so and exits 0 having imported nothing but the standard library.
``--smoke`` runs the measuring parts with tiny sizes on whatever device is there (CPU too): it
checks the script itself, its figures mean nothing. ``--device cpu`` runs the measuring parts on
the CPU even where a GPU is (CPU figures; no GPU needed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASK = "MemoryGym/DelayedCue-v0"
PPO_CORES = ("mamba2", "gru", "pseudo_mamba")  # mamba2 first: its 4,096-env row is the target
PPO_ENVS = (1024, 4096, 16384)
TARGET_ROW = PROFILE_ROW = ("mamba2", 4096)
TARGETS = {"ppo_sps": 300_000, "mamba_vs_gru": 4.0}
#: Mamba2 parity tolerances: Triton's tl.dot runs float32 as TF32 on Hopper (about 1e-3 relative).
PARITY_ATOL = PARITY_RTOL = 5e-3
PARITY_GRAD_REL = 2e-2


@dataclass(frozen=True)
class Part:
    num: int
    name: str
    limit_s: float
    what: str


PARTS = (
    Part(
        1,
        "setup",
        90,
        "uv sync + the mamba extra (mamba-ssm built without isolation or CUDA extension); env check",
    ),
    Part(2, "gpu-tests", 60, "pytest -m gpu"),
    Part(3, "mamba2-parity", 40, "Mamba2 Triton == PyTorch backend: outputs, final states, gradients"),
    Part(
        4, "core-throughput", 60, "fwd+bwd tokens/s of every core at T=256 B=1024; Mamba2 Triton vs cuDNN GRU"
    ),
    Part(
        5,
        "ppo-throughput",
        95,
        "MemoryPPO env steps/s on DelayedCue medium, 1k/4k/16k envs, with the staged rollout",
    ),
    Part(6, "time-to-target", 100, "DelayedCue easy and medium to their target with the published budgets"),
    Part(
        7,
        "update-profile",
        30,
        "where one MemoryPPO cycle goes: rollout (env step, host<->device copies, policy) vs update",
    ),
)


# ---------------------------------------------------------------------------------------------- orchestrator
def parse_parts(text: str) -> list[int]:
    """'2,3' or '2-6' or '1,3-5' -> sorted part numbers; anything else is an argparse error."""
    nums: set[int] = set()
    try:
        for piece in text.split(","):
            lo, _, hi = piece.strip().partition("-")
            nums.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects part numbers like 2,3 or 2-6, got {text!r}") from None
    valid = {p.num for p in PARTS}
    if not nums or not nums <= valid:
        raise argparse.ArgumentTypeError(f"parts are {min(valid)}-{max(valid)}, got {text!r}")
    return sorted(nums)


def cuda_present() -> tuple[bool, str]:
    """(present, description) from the driver alone (nvidia-smi), so that a CPU machine decides
    without importing torch; CUDA_VISIBLE_DEVICES hiding every device counts as absent."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and not [d for d in visible.split(",") if d.strip() and d.strip() != "-1"]:
        return False, f"CUDA_VISIBLE_DEVICES={visible!r} hides every device"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False, "no NVIDIA driver (nvidia-smi not found)"
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"nvidia-smi failed ({exc})"
    gpus = [line.strip() for line in out.splitlines() if line.strip()]
    if not gpus:
        return False, "nvidia-smi lists no GPU"
    return True, "; ".join(gpus)


def scaled_limits(parts: list[int], budget_s: float | None) -> dict[int, float]:
    """Each chosen part's limit: its default, or its share of ``budget_s`` in proportion to the defaults."""
    chosen = [p for p in PARTS if p.num in parts]
    scale = 1.0 if budget_s is None else budget_s / sum(p.limit_s for p in chosen)
    return {p.num: p.limit_s * scale for p in chosen}


def runner(args) -> tuple[list[str], dict[str, str], str]:
    """(command prefix for Python, environment, how it was chosen). ``--python``: that interpreter
    with the workspace sources on PYTHONPATH; else ``uv run --no-sync python`` (set-up has synced;
    no network needed afterwards); else this interpreter."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.python or not shutil.which("uv"):
        srcs = [str(REPO / "memory_gym_envs" / "src"), str(REPO / "memory_agents" / "src")]
        env["PYTHONPATH"] = os.pathsep.join(srcs + [p for p in [os.environ.get("PYTHONPATH")] if p])
        python = args.python or sys.executable
        return [python], env, f"{python} (workspace sources on PYTHONPATH)"
    return ["uv", "run", "--no-sync", "python"], env, "uv run --no-sync python"


def run_logged(
    cmd: list[str], timeout: float, env: dict[str, str]
) -> tuple[int | None, bool, float, list[str]]:
    """Run ``cmd`` in its own process group, echo its output indented, kill the group at ``timeout``.
    Returns (exit code, timed out, seconds, output lines)."""
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
    except OSError as exc:
        return 127, False, time.perf_counter() - start, [f"cannot start {cmd[0]}: {exc}"]
    lines: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            print("    " + line, end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if proc.poll() is None:  # timeout or Ctrl-C: end the part's own process group
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=5)
    return proc.returncode, timed_out, time.perf_counter() - start, lines


def last_error(lines: list[str]) -> str:
    """The line that best says why a command failed: the last exception or error line, else the last line."""
    for line in reversed(lines):
        if re.search(r"(Error|Exception|error:|FAILED|Killed)", line):
            return line.strip()[:200]
    return lines[-1].strip()[:200] if lines else "no output"


def worker_cmd(prefix: list[str], part: int, result: Path, deadline: float, args) -> list[str]:
    cmd = [
        *prefix,
        str(Path(__file__).resolve()),
        "--worker",
        str(part),
        "--result",
        str(result),
        "--deadline",
        f"{deadline:.1f}",
        "--target-core",
        args.target_core,
        "--ppo-kwargs",
        args.ppo_kwargs,
        "--device",
        args.device,
    ]
    return cmd + (["--smoke"] if args.smoke else [])


def setup_commands(args, prefix: list[str]) -> list[tuple[list[str], dict[str, str]]]:
    """Part 1's commands: the README's set-up with the mamba extra, which belongs to memory-agents
    (``--package``), mamba-ssm built against the installed torch (root pyproject:
    no-build-isolation-package) without its CUDA extension; ``--inexact`` keeps a build made before."""
    if args.python or args.smoke or args.device == "cpu" or prefix[0] != "uv":
        return []
    mamba_env = {"MAMBA_FORCE_BUILD": "TRUE", "MAMBA_SKIP_CUDA_BUILD": "TRUE"}
    return [
        (["uv", "sync", "--inexact"], {}),
        (["uv", "pip", "install", "setuptools", "wheel", "ninja"], {}),
        (["uv", "sync", "--package", "memory-agents", "--extra", "mamba", "--inexact"], mamba_env),
    ]


def pytest_figure(lines: list[str]) -> str:
    """'5 passed, 0 failed, 1 skipped' from pytest's summary line."""
    summary = next(
        (line for line in reversed(lines) if re.search(r"\d+ (passed|failed|skipped|error)", line)), ""
    )
    counts = {
        word.rstrip("s"): int(n)
        for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary)
    }
    figure = f"{counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped"
    return figure + (f", {counts['error']} collection/test errors" if counts.get("error") else "")


def part_commands(part: Part, args, prefix: list[str], result: Path, deadline: float):
    """[(command, extra environment)] of a part: set-up then the environment check (worker 0),
    pytest, or the part's worker."""
    if part.num == 2:
        return [
            (
                [
                    *prefix,
                    "-m",
                    "pytest",
                    "-m",
                    "gpu",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--continue-on-collection-errors",
                ],
                {},
            )
        ]
    setup = setup_commands(args, prefix) if part.num == 1 else []
    return setup + [(worker_cmd(prefix, part.num if part.num != 1 else 0, result, deadline, args), {})]


def shell_line(cmd: list[str], extra_env: dict[str, str]) -> str:
    return " ".join([*(f"{k}={v}" for k, v in extra_env.items()), *cmd])


def run_part(part: Part, limit: float, args, prefix, env, workdir: Path) -> dict:
    """Run one part under its limit; its row for the table."""
    print(f"\n== part {part.num} {part.name} (limit {limit:.0f} s): {part.what}", flush=True)
    deadline = time.time() + limit
    result_path = workdir / f"part{part.num}.json"
    commands = part_commands(part, args, prefix, result_path, deadline)
    seconds, rc, timed_out, lines = 0.0, 0, False, []
    for cmd, extra_env in commands:
        print("  $ " + shell_line(cmd, extra_env), flush=True)
        rc, timed_out, secs, out = run_logged(cmd, deadline - time.time(), {**env, **extra_env})
        seconds += secs
        lines += out
        if rc != 0 or timed_out:
            break
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    if timed_out:
        status, figure = "timeout", result.get("figure") or f"nothing measured within {limit:.0f} s"
        figure = f"{figure} [cut at {limit:.0f} s]"
    elif rc != 0:
        status = "failed"
        figure = (
            f"{result['figure']}; then: {last_error(lines)}" if result.get("figure") else last_error(lines)
        )
    elif part.num == 2:
        status, figure = "ok", pytest_figure(lines)
    else:
        status, figure = result.get("status", "failed"), result.get("figure", "the worker wrote no result")
    if part.num == 2 and status != "ok" and not timed_out:
        figure = f"{pytest_figure(lines)} (exit {rc})"
    if part.num == 1 and len(commands) == 1:
        figure = f"no uv set-up (--python, --smoke, --device cpu or no uv), environment checked: {figure}"
    return {
        "part": part.num,
        "name": part.name,
        "status": status,
        "figure": figure,
        "seconds": round(seconds, 1),
        "limit_s": round(limit, 1),
        "commands": [shell_line(c, e) for c, e in commands],
        "details": result.get("details", {}),
    }


def print_table(rows: list[dict]) -> None:
    print("\n| part | status | figure | seconds |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['part']} {r['name']} | {r['status']} | {r['figure']} | {r['seconds']:.0f} |")


def git_commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short=12", "HEAD"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--parts", type=parse_parts, default=parse_parts("1-7"), help="e.g. 2,3 or 2-6 (default all)"
    )
    p.add_argument(
        "--budget-s",
        type=float,
        help="total seconds for the chosen parts, spread as their default limits "
        f"are (default {sum(x.limit_s for x in PARTS):.0f} for all seven)",
    )
    p.add_argument("--dry-run", action="store_true", help="list the parts, limits and commands; run nothing")
    p.add_argument(
        "--out", default="gpu_check.json", help="JSON of the table and details (default %(default)s)"
    )
    p.add_argument(
        "--python",
        help="run the parts with this interpreter (an environment prepared without uv); "
        "set-up then only checks the environment",
    )
    p.add_argument(
        "--target-core", default="gru", help="core of part 6 (default %(default)s, the main command's)"
    )
    p.add_argument(
        "--ppo-kwargs", default="{}", help="JSON MemoryPPO kwargs for part 5, e.g. '{\"batch_size\": null}'"
    )
    p.add_argument(
        "--smoke", action="store_true", help="tiny sizes on any device (CPU too): checks the script only"
    )
    p.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="where the measuring parts run (default %(default)s; cpu: CPU figures, no GPU needed)",
    )
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.budget_s is not None and args.budget_s <= 0:
        p.error(f"--budget-s must be > 0, got {args.budget_s}")
    try:
        json.loads(args.ppo_kwargs)
    except json.JSONDecodeError:
        p.error(f"--ppo-kwargs must be a JSON object, got {args.ppo_kwargs!r}")
    if args.worker is not None:
        return run_worker(args)

    limits = scaled_limits(args.parts, args.budget_s)
    present, gpu = cuda_present()
    prefix, env, how = runner(args)
    if args.dry_run:
        print(f"CUDA: {gpu if present else 'none (' + gpu + ')'}; parts run under {how}")
        for part in PARTS:
            if part.num in limits:
                print(f"  part {part.num} {part.name:<16} limit {limits[part.num]:5.0f} s  {part.what}")
                for cmd, extra_env in part_commands(part, args, prefix, Path("RESULT.json"), 0.0):
                    print("      $ " + shell_line(cmd, extra_env))
        print(f"  total {sum(limits.values()):.0f} s")
        return 0
    if not present and not args.smoke and args.device == "cuda":
        print(f"No CUDA GPU present ({gpu}): nothing measured. Run this on a CUDA machine.")
        return 0
    started = time.time()
    print(
        f"GPU check {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {gpu if present else 'no GPU'}; device {args.device}; "
        f"commit {git_commit()}; parts {args.parts}; Python under {how}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        for part in PARTS:
            if part.num in limits:
                rows.append(run_part(part, limits[part.num], args, prefix, env, Path(tmp)))
            else:
                rows.append(
                    {
                        "part": part.num,
                        "name": part.name,
                        "status": "skipped",
                        "figure": "not chosen",
                        "seconds": 0.0,
                        "limit_s": 0.0,
                        "commands": [],
                        "details": {},
                    }
                )
    for row in rows:
        profile = row["details"].get("profile")
        if profile:
            print(f"\nProfile of one MemoryPPO cycle ({row['details'].get('profile_row')}):")
            print("\n".join("  " + line for line in profile))
    print_table(rows)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gpu": gpu if present else None,
        "commit": git_commit(),
        "python": how,
        "smoke": args.smoke,
        "total_s": round(time.time() - started, 1),
        "parts": rows,
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{report['total_s']:.0f} s in all; table and details in {args.out}")
    return 0 if all(r["status"] in ("ok", "skipped") for r in rows) else 1


# ---------------------------------------------------------------------------------------------- workers
class Result:
    """The part's result file, rewritten after every measurement so that a kill keeps what was measured."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.data: dict = {"status": "ok", "figure": "", "details": {}}

    def update(self, status: str | None = None, figure: str | None = None, **details) -> None:
        if status is not None:
            self.data["status"] = status
        if figure is not None:
            self.data["figure"] = figure
        self.data["details"].update(details)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, default=str))
        os.replace(tmp, self.path)


def run_worker(args) -> int:
    result = Result(args.result)
    worker = {
        0: check_environment,
        3: mamba2_parity,
        4: core_throughput,
        5: ppo_throughput,
        6: time_to_target,
        7: update_profile,
    }
    worker[args.worker](args, result)
    return 0


def device_for(args):
    """CUDA (a worker without it fails with a line saying why), the CPU with ``--device cpu``, or
    in --smoke whatever is there."""
    import torch

    if args.device == "cuda" and torch.cuda.is_available():
        return torch.device("cuda")
    if args.device == "cpu" and not args.smoke:
        return torch.device("cpu")
    if args.smoke:
        torch.set_num_threads(1)  # small nets on a shared CPU: more threads than free cores slow them 10x
        return torch.device("cpu")
    raise SystemExit(f"torch {torch.__version__} sees no CUDA device (built for CUDA {torch.version.cuda})")


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k" if x >= 1e3 else f"{x:.0f}"


def check_environment(args, result: Result) -> None:
    """Part 1's last step: what later parts need is importable (torch with CUDA, the workspace,
    mamba_ssm's Triton SSD kernels through the core's own loader)."""
    import torch
    from memory_agents.cores.mamba2 import load_mamba_chunk_scan

    import memory_gym_envs  # noqa: F401

    cuda = torch.cuda.is_available()
    name = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    mamba = load_mamba_chunk_scan() is not None
    figure = (
        f"torch {torch.__version__} ({name}), triton {triton_version or 'missing'}, "
        f"mamba_ssm Triton SSD {'importable' if mamba else 'NOT importable'}"
    )
    print(figure)
    cpu_only = args.smoke or args.device == "cpu"
    ok = cpu_only or (cuda and mamba)
    result.update(
        status="ok" if ok else "failed",
        figure=figure,
        torch=torch.__version__,
        cuda=torch.version.cuda,
        device=name,
        triton=triton_version,
        mamba_ssm=mamba,
    )


def mamba2_parity(args, result: Result) -> None:
    """Triton scan == PyTorch scan for the same Mamba2 weights: T=256 with resets on and next to
    chunk boundaries (and a row that resets at t=0, discarding its stored state), and the T=1
    rollout step; both from a stored non-zero state. Matmuls in PyTorch run in full float32."""
    import torch
    from memory_agents.cores import make_core
    from memory_agents.cores.mamba2 import load_mamba_chunk_scan

    dev = device_for(args)
    if dev.type != "cuda" or load_mamba_chunk_scan() is None:
        result.update(status="skipped", figure="needs CUDA and mamba-ssm (the mamba extra)")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    figures, ok = [], True
    for T, B in ((256, 64), (1, 64)):
        torch.manual_seed(0)
        tri = make_core("mamba2", 64, 128, backend="triton").to(dev)
        ref = make_core("mamba2", 64, 128, backend="torch").to(dev)
        ref.load_state_dict(tri.state_dict())
        x = torch.randn(T, B, 64, device=dev)
        state0 = tuple(0.5 * torch.randn(B, *shape, device=dev) for shape in tri.state_shapes())
        starts = torch.rand(T, B, device=dev) < 0.02
        starts[0, 0] = True
        if T > 128:
            starts[63, 1] = starts[64, 2] = starts[65, 3] = starts[128, 3] = True
        weight = torch.randn(T, B, 128, device=dev)
        runs = []
        for core in (tri, ref):
            xi = x.clone().requires_grad_(True)
            si = tuple(s.clone().requires_grad_(True) for s in state0)
            y, (conv, ssm) = core(xi, si, starts)
            ((y * weight).sum() + ssm.pow(2).sum() + conv.pow(2).sum()).backward()
            grads = {
                "x": xi.grad,
                "conv_state0": si[0].grad,
                "ssm_state0": si[1].grad,
                **{n: q.grad for n, q in core.named_parameters()},
            }
            runs.append((y.detach(), conv.detach(), ssm.detach(), grads, core.last_backend))
        (y1, c1, h1, g1, b1), (y2, c2, h2, g2, b2) = runs
        dy, dc, dh = ((a - b).abs().max().item() for a, b in ((y1, y2), (c1, c2), (h1, h2)))
        rel = {n: ((g1[n] - g2[n]).norm() / (g2[n].norm() + 1e-12)).item() for n in g2 if g2[n] is not None}
        close = all(
            torch.allclose(a, b, atol=PARITY_ATOL, rtol=PARITY_RTOL)
            for a, b in ((y1, y2), (c1, c2), (h1, h2))
        )
        worst = max(rel, key=rel.get)
        ok &= close and rel[worst] <= PARITY_GRAD_REL and (b1, b2) == ("triton", "torch")
        print(
            f"T={T} B={B} backends {b1}/{b2}: max|dy| {dy:.1e}, max|d conv state| {dc:.1e}, "
            f"max|d ssm state| {dh:.1e}"
        )
        print("  gradient |a-b|/|b|: " + ", ".join(f"{n} {v:.1e}" for n, v in rel.items()))
        figures.append(
            f"T={T}: max|dy| {dy:.1e}, max|dstate| {max(dc, dh):.1e}, grad rel <= {rel[worst]:.1e}"
        )
        result.update(
            **{
                f"T{T}": {
                    "max_abs_y": dy,
                    "max_abs_conv_state": dc,
                    "max_abs_ssm_state": dh,
                    "grad_rel": rel,
                    "backends": [b1, b2],
                }
            }
        )
    tol = f"(tol {PARITY_ATOL:g} abs+rel, grads {PARITY_GRAD_REL:g} rel)"
    figure = ("equal " if ok else "DIFFER ") + "; ".join(figures) + f" {tol}"
    result.update(status="ok" if ok else "failed", figure=figure)


def core_throughput(args, result: Result) -> None:
    """Tokens/s of forward+backward per core (benchmarks/cores_throughput.py's timing), first the
    issue's ratio: Mamba2 with the Triton scan vs the GRU core (one cuDNN call per reset-free
    stretch) at the same width, 128 and 256."""
    import torch
    from cores_throughput import throughput
    from memory_agents.cores import CORE_NAMES, make_core

    dev = device_for(args)
    T, B, iters, warmup = (16, 8, 1, 1) if args.smoke else (256, 1024, 5, 2)
    rows: dict[str, dict] = {}

    def measure(label: str, name: str, hidden: int, **kw) -> float | None:
        torch.manual_seed(0)
        try:
            core = make_core(name, 64, hidden, **kw).to(dev)
            tps = throughput(core, T, B, dev, iters, warmup, 0.0)
            rows[label] = {"tokens_per_s": tps, "backend": getattr(core, "last_backend", None)}
        except (ImportError, ValueError) as exc:  # backend="triton" where mamba-ssm / CUDA is missing
            rows[label] = {"unavailable": str(exc)}
            tps = None
        except torch.OutOfMemoryError:
            rows[label] = {"unavailable": "out of memory"}
            tps = None
        core = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        shown = f"{tps:>14,.0f} tokens/s" if tps else rows[label]["unavailable"]
        print(f"  {label:<24}{rows[label].get('backend') or '':<8}{shown}", flush=True)
        return tps

    print(f"{dev.type} T={T} B={B} input 64, forward+backward, {iters} timed iterations after {warmup}")
    ratios = {}
    for hidden in (128, 256):
        gru = measure(f"gru H={hidden}", "gru", hidden)
        mamba = measure(f"mamba2[triton] H={hidden}", "mamba2", hidden, backend="triton")
        ratios[hidden] = mamba / gru if mamba and gru else None
        result.update(rows=rows, ratios=ratios)
    measure("mamba2[torch] H=128", "mamba2", 128, backend="torch")
    for name in CORE_NAMES:
        if name not in ("gru", "mamba2"):
            measure(f"{name} H=128", name, 128)
    shown = ", ".join(f"{r:.1f}x at H={h}" if r else f"n/a at H={h}" for h, r in ratios.items())
    met = [r for r in ratios.values() if r]
    verdict = "" if not met else " (met)" if min(met) >= TARGETS["mamba_vs_gru"] else " (not met)"
    fastest = max(
        ((r["tokens_per_s"], label) for label, r in rows.items() if "tokens_per_s" in r), default=None
    )
    figure = f"mamba2 Triton / cuDNN GRU: {shown}; target >= {TARGETS['mamba_vs_gru']:g}x{verdict}; " + (
        f"fastest {fastest[1]} {rate(fastest[0])} tokens/s" if fastest else "no core measured"
    )
    print(figure)
    result.update(figure=figure, rows=rows, ratios=ratios, shape={"T": T, "B": B})


def time_calls(owner, name: str, totals: dict, key: str, device, count: dict | None = None) -> None:
    """Replace ``owner.name`` (a bound method) by a timed copy that synchronizes the GPU before and after."""
    original = getattr(owner, name)

    def timed(*a, **kw):
        sync(device)
        t0 = time.perf_counter()
        out = original(*a, **kw)
        sync(device)
        totals[key] = totals.get(key, 0.0) + time.perf_counter() - t0
        if count is not None:
            count[key] = count.get(key, 0) + 1
        return out

    setattr(owner, name, timed)


def profile_cycle(model, device) -> list[str]:
    """One more rollout + update of ``model`` (already warmed up) with synchronized timers on its
    parts; lines naming where the time went, the largest part last. With the staged rollout the
    two copies and the policy step are timed apart; the plain step is one item."""
    stepper = model._device_rollout
    env = model.env
    venv = getattr(env, "venv", None)  # GymnasiumVecEnv: the task's batched arrays under SB3's adapter
    step_kind = stepper.step_mode if stepper is not None else "plain, not staged"
    timed = [
        (model, "collect_rollouts", "rollout"),
        (model, "train", "update"),
        (env, "step", "env step"),
        (model.rollout_buffer, "add", "buffer add"),
        (model, "_loss", "loss forward (sequence re-run)"),
        (model.policy.optimizer, "step", "optimizer step"),
    ]
    if venv is not None:
        timed.append((venv, "step", "task step"))
    if stepper is not None:
        step_items = [
            (stepper, "upload", "host->device copy (observations + starts)"),
            (stepper, "policy_step", f"policy step ({step_kind})"),
            (stepper, "download", "device->host copy (actions)"),
        ]
    else:
        step_items = [(model, "_act", "plain step (copies + eager policy)")]
    timed += step_items
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for owner, name, key in timed:
        time_calls(owner, name, totals, key, device, counts)
    steps = model.n_steps * model.n_envs
    try:
        model.learn(steps, reset_num_timesteps=False)
    finally:
        for owner, name, _ in timed:
            delattr(owner, name)
    get = lambda key: totals.get(key, 0.0)  # noqa: E731
    roll, upd = get("rollout"), get("update")
    parts = {}
    if venv is not None:
        parts["env step: task arrays"] = get("task step")
        parts["env step: SB3 adapter (info dicts, episode stats)"] = get("env step") - get("task step")
    else:
        parts["env step"] = get("env step")
    for _, _, key in step_items:
        parts[key] = get(key)
    parts["buffer add"] = get("buffer add")
    parts["rest of rollout (Python, callbacks, GAE; by difference)"] = roll - sum(parts.values())
    n_loss = counts.get("loss forward (sequence re-run)", 0)
    upd_parts = {
        f"loss forward (sequence re-run), {n_loss} minibatches": get("loss forward (sequence re-run)"),
        "optimizer step": get("optimizer step"),
    }
    upd_parts["backward + grad clip + batching (by difference)"] = upd - sum(upd_parts.values())
    cycle = roll + upd
    lines = [
        f"cycle {cycle:.2f} s = {steps:,} env steps ({rate(steps / cycle)} steps/s, timers synchronized)",
        f"rollout {roll:.2f} s ({roll / cycle:.0%}), {model.n_steps} steps of {model.n_envs} envs, "
        f"policy step {step_kind}:",
    ]
    lines += [f"  {k:<58}{v:8.3f} s {v / cycle:5.0%}" for k, v in parts.items()]
    lines.append(f"update {upd:.2f} s ({upd / cycle:.0%}), {model.n_epochs} epochs:")
    lines += [f"  {k:<58}{v:8.3f} s {v / cycle:5.0%}" for k, v in upd_parts.items()]
    largest = max({**parts, **upd_parts}.items(), key=lambda kv: kv[1])
    lines.append(f"largest: {largest[0]} ({largest[1] / cycle:.0%} of the cycle)")
    return lines


def update_profile(args, result: Result) -> None:
    """Part 7: where one MemoryPPO cycle's time goes (``profile_cycle``), for PROFILE_ROW on
    DelayedCue medium after one warm-up cycle (compilation, autotuning, graph capture)."""
    from memory_agents import MemoryPPO, make_vec_env

    dev = device_for(args)
    core, n_envs = (PROFILE_ROW[0], 8) if args.smoke else PROFILE_ROW
    difficulty = "easy" if args.smoke else "medium"
    env = make_vec_env(TASK, num_envs=n_envs, seed=0, difficulty=difficulty)
    kwargs = {"staged_rollout": True, **json.loads(args.ppo_kwargs)}  # staged on the CPU too
    model = MemoryPPO("MemoryPolicy", env, device=dev, seed=0, policy_kwargs=dict(memory=core), **kwargs)
    t0 = time.perf_counter()
    model.learn(model.n_steps * n_envs)
    warmup = time.perf_counter() - t0
    print(f"{core}, {n_envs} envs, DelayedCue {difficulty} on {dev.type}: warm-up cycle {warmup:.1f} s")
    lines = profile_cycle(model, dev)
    print("\n".join(lines), flush=True)
    stepper = model._device_rollout
    cycle, rollout = lines[0].split(" = ")[0], lines[1].split(",")[0]
    result.update(
        figure=f"{core} @{n_envs} envs on {dev.type}: {cycle}, {rollout}, {lines[-1]}",
        profile=lines,
        profile_row=f"{core}, {n_envs} envs, DelayedCue {difficulty}, {dev.type}",
        rollout_step=None if stepper is None else stepper.step_mode,
        rollout_fallback=None if stepper is None else stepper.fallback,
    )


def ppo_throughput(args, result: Result) -> None:
    """Env steps/s of MemoryPPO training (rollout + update, its defaults: n_steps = the horizon,
    402; on CUDA the staged rollout of ``memory_agents.device_rollout``) on DelayedCue medium.
    Warm-up: one cycle per core at the first size (kernel compilation, autotuning, graph capture);
    then one timed cycle per row. A row that would not end before the deadline (estimated from the
    core's previous row) is skipped, not cut."""
    import gc

    import torch

    from memory_agents import MemoryPPO, make_vec_env

    dev = device_for(args)
    deadline = args.deadline - 8
    env_counts = (4, 8, 16) if args.smoke else PPO_ENVS
    difficulty = "easy" if args.smoke else "medium"  # smoke: 62-step rollouts, the CPU is slow at 402
    target_row = (TARGET_ROW[0], env_counts[1])
    ppo_kwargs = json.loads(args.ppo_kwargs)
    rows: list[dict] = []
    per_step: dict[str, float] = {}
    for n_envs in env_counts:
        for core in PPO_CORES:
            row = {"core": core, "envs": n_envs}
            rows.append(row)
            if core in per_step:
                need = per_step[core] * n_envs + 5
                if time.time() + need > deadline:
                    row["skipped"] = f"needs ~{need:.0f} s, {max(deadline - time.time(), 0):.0f} s left"
                    print(f"  {core:<13}{n_envs:>6} envs  skipped: {row['skipped']}", flush=True)
                    continue
            env = make_vec_env(TASK, num_envs=n_envs, seed=0, difficulty=difficulty)
            model = MemoryPPO(
                "MemoryPolicy", env, device=dev, seed=0, policy_kwargs=dict(memory=core), **ppo_kwargs
            )
            steps = model.n_steps * n_envs
            if core not in per_step:
                model.learn(steps)  # warm-up
            totals: dict[str, float] = {}
            time_calls(model, "collect_rollouts", totals, "rollout", dev)
            time_calls(model, "train", totals, "update", dev)
            t0 = time.perf_counter()
            model.learn(steps, reset_num_timesteps=model.num_timesteps == 0)
            cycle = time.perf_counter() - t0
            del model.collect_rollouts, model.train
            per_step[core] = cycle / n_envs
            backend = getattr(model.policy.memory_core, "last_backend", None)
            stepper = model._device_rollout
            seq_len = {"full": model.n_steps, "truncated": model.bptt_len, "cached": 1}[model.recurrent_mode]
            row.update(
                sps=steps / cycle,
                cycle_s=cycle,
                rollout_s=totals["rollout"],
                update_s=totals["update"],
                n_steps=model.n_steps,
                minibatches=steps // (seq_len * model._sequences_per_batch),
                backend=backend,
                rollout_step=stepper.step_mode if stepper else "plain",
                rollout_fallback=stepper.fallback if stepper else None,
            )
            print(
                f"  {core:<13}{n_envs:>6} envs  {rate(row['sps']):>7} steps/s  (rollout {totals['rollout']:.1f} s, "
                f"update {totals['update']:.1f} s, {row['minibatches']} minibatches x {model.n_epochs} epochs, "
                f"scan {backend or '-'}, rollout step {row['rollout_step']})",
                flush=True,
            )
            result.update(figure=ppo_figure(rows, target_row), rows=rows)
            del model, env
            gc.collect()
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    result.update(figure=ppo_figure(rows, target_row), rows=rows)


def ppo_figure(rows: list[dict], target_row) -> str:
    done = [r for r in rows if "sps" in r]
    if not done:
        return "no row measured"
    key = next((r for r in done if (r["core"], r["envs"]) == target_row), None)
    best = max(done, key=lambda r: r["sps"])
    head = (
        f"{key['core']} @{key['envs']} envs {rate(key['sps'])} steps/s (target >= {rate(TARGETS['ppo_sps'])}: "
        f"{'met' if key['sps'] >= TARGETS['ppo_sps'] else 'not met'})"
        if key
        else f"{target_row[0]} @{target_row[1]} envs not measured"
    )
    return f"{head}; best {best['core']} @{best['envs']} {rate(best['sps'])}; {len(done)}/{len(rows)} rows"


def time_to_target(args, result: Result) -> None:
    """DelayedCue easy, then medium, trained as ``memory-suite train --task DelayedCue --difficulty D
    --device cuda`` builds the run (published budget, medium's delay curriculum, the run's env
    seeds), stopped once the training success over the last window of episodes at the task's own
    delay reaches the preset's target, or at the part's deadline; then the suite's evaluation."""
    from collections import deque

    import numpy as np
    from memory_agents.curriculum import CurriculumCallback, build_kwargs
    from memory_agents.suite import catalog, cli, training
    from memory_agents.suite.config import curriculum_spec, env_seeds
    from memory_agents.suite.evaluation import evaluate_agent
    from stable_baselines3.common.callbacks import BaseCallback

    dev = device_for(args)
    window = 256

    class TargetStop(BaseCallback):
        """Stops at the target (rate over ``window`` episodes begun at the final stage) or the cap."""

        def __init__(self, target: float, final_value: int | None, cap: float):
            super().__init__()
            self.target, self.final_value, self.cap = target, final_value, cap
            self.recent: deque[float] = deque(maxlen=window)
            self.stage = None
            self.fresh = None  # rows whose running episode was drawn at the current stage
            self.reached = None
            self.rate = None

        def _on_step(self) -> bool:
            state = getattr(self.model, "curriculum_state", None)
            stage = state["value"] if state else None
            dones = np.asarray(self.locals["dones"], dtype=bool)
            if self.fresh is None:  # the first episodes were drawn from the build kwargs, not a stage
                self.stage, self.fresh = stage, np.full(len(dones), self.final_value is None)
            elif stage != self.stage:  # rows reset at this step drew their episode before the change
                self.stage, self.fresh = stage, np.zeros(len(dones), dtype=bool)
                self.recent.clear()
                return time.perf_counter() < self.cap
            if stage == self.final_value:
                infos = self.locals["infos"]
                self.recent.extend(
                    float(bool(infos[i]["is_success"]))
                    for i in np.flatnonzero(dones & self.fresh)
                    if "is_success" in infos[i]
                )
                if len(self.recent) == window:
                    self.rate = float(np.mean(self.recent))
                    if self.rate >= self.target:
                        self.reached = int(self.num_timesteps)
                        return False
            self.fresh |= dones
            return time.perf_counter() < self.cap

    figures = []
    with tempfile.TemporaryDirectory(prefix="gpu_check_runs_") as tmp:
        for difficulty, share in (("easy", 0.35), ("medium", 1.0)):
            spec = cli.train_spec(
                cli.build_parser().parse_args(
                    [
                        "train",
                        "--task",
                        "DelayedCue",
                        "--difficulty",
                        difficulty,
                        "--core",
                        args.target_core,
                        "--device",
                        dev.type,
                        *(["--envs", "8", "--eval-episodes", "8"] if args.smoke else []),
                    ]
                )
            )
            target = catalog.target_success(spec.task, spec.difficulty)
            curriculum = curriculum_spec(spec.task, spec.difficulty, spec.env_kwargs, spec.curriculum)
            seeds = env_seeds(spec.seed)
            env = training.make_env(
                spec, spec.num_envs, seeds.train, build_kwargs(curriculum) if curriculum else None
            )
            model = training._build_model(spec, env, Path(tmp) / difficulty, None)
            env.seed(seeds.train)  # as train_run: model construction reseeded the env with the model seed
            left = args.deadline - 20 - time.time()  # the evaluation and exit after each run
            cap_s = 3.0 if args.smoke else max(left * share - (15 if difficulty == "easy" else 0), 1.0)
            stop = TargetStop(
                target, curriculum[-1].target if curriculum else None, time.perf_counter() + cap_s
            )
            callbacks = ([CurriculumCallback(curriculum)] if curriculum else []) + [stop]
            t0 = time.perf_counter()
            model.learn(training.whole_rollouts(model, spec.steps), callback=callbacks)
            seconds = time.perf_counter() - t0
            env.close()
            eval_env = training.make_env(spec, min(spec.num_envs, spec.eval_episodes), seeds.eval)
            ev = evaluate_agent(model, eval_env, spec.eval_episodes, deterministic=True)
            eval_env.close()
            stage = getattr(model, "curriculum_state", {}).get("value") if curriculum else None
            row = {
                "core": spec.core,
                "target": target,
                "reached_at_step": stop.reached,
                "steps": int(model.num_timesteps),
                "seconds": seconds,
                "cap_s": cap_s,
                "budget_steps": spec.steps,
                "envs": spec.num_envs,
                "train_success_window": stop.rate,
                "eval_success": ev["success"],
                "eval_ci": ev["success_ci"],
                "curriculum_stage": stage,
                "curriculum_target": curriculum[-1].target if curriculum else None,
            }
            if stop.reached:
                what = f"{difficulty} {target:g} at {stop.reached:,} steps in {seconds:.0f} s"
            elif model.num_timesteps >= spec.steps:
                what = (
                    f"{difficulty} not reached within the {spec.steps / 1e6:g}M-step budget ({seconds:.0f} s)"
                )
            else:
                what = f"{difficulty} not reached in {seconds:.0f} s cap ({model.num_timesteps:,} steps)"
            if curriculum and stage != curriculum[-1].target:
                what += f", delay stage {stage}/{curriculum[-1].target}"
            what += f", eval {ev['success']:.2f}"
            print(
                f"  {spec.core} {what}; training success over the last {window} episodes at the final stage: "
                f"{'-' if stop.rate is None else f'{stop.rate:.2f}'}",
                flush=True,
            )
            figures.append(what)
            result.update(figure=f"{spec.core}: " + "; ".join(figures), **{difficulty: row})


if __name__ == "__main__":
    sys.exit(main())
