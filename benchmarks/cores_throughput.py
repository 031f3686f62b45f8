"""Forward+backward throughput (tokens/s = T * B per second) of every memory core.

    uv run python benchmarks/cores_throughput.py            # CPU (T=128, B=64); also GPU (T=256, B=1024) if present
    uv run python benchmarks/cores_throughput.py --quick    # a few seconds: small shapes, one timed step

On a GPU it also compares Mamba2's scan backends (mamba_ssm Triton vs pure PyTorch) and
torch's cuDNN GRU of the same width. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import torch
from memory_agents.cores import CORE_NAMES, make_core


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(
    core: torch.nn.Module, T: int, B: int, device: torch.device, iters: int, warmup: int, reset_prob: float
) -> float:
    """Tokens per second of forward + backward over a (T, B) batch, from the initial state."""
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(T, B, core.input_dim, generator=g).to(device)
    starts = (torch.rand(T, B, generator=g) < reset_prob).to(device)
    starts[0] = True

    def step():
        core.zero_grad(set_to_none=True)
        y, _ = core(x, None, starts)
        y.float().pow(2).mean().backward()

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sync(device)
    return T * B * iters / (time.perf_counter() - t0)


def run(device: torch.device, T: int, B: int, args) -> None:
    print(
        f"\n{device.type.upper()}  T={T} B={B} input={args.input_dim} hidden={args.hidden_dim} "
        f"reset_prob={args.reset_prob} threads={torch.get_num_threads()}"
    )
    print(f"{'core':<16}{'backend':<10}{'tokens/s':>14}")
    for name in args.cores:
        torch.manual_seed(0)
        core = make_core(name, args.input_dim, args.hidden_dim).to(device)
        try:
            tps = throughput(core, T, B, device, args.iters, args.warmup, args.reset_prob)
        except torch.OutOfMemoryError:
            print(f"{name:<16}{'':<10}{'out of memory':>14}")
            torch.cuda.empty_cache()
            continue
        backend = getattr(core, "last_backend", None) or "-"
        print(f"{name:<16}{backend:<10}{tps:>14,.0f}")
        del core
    if device.type == "cuda" and "mamba2" in args.cores:
        print("\nMamba2 scan backends vs cuDNN GRU (same width):")
        gru = torch.nn.GRU(args.input_dim, args.hidden_dim).to(device)

        class _Gru(torch.nn.Module):  # plain cuDNN call, no reset handling: the GRU's best case
            input_dim = args.input_dim

            def __init__(self):
                super().__init__()
                self.gru = gru

            def forward(self, x, state, starts):
                return self.gru(x)

        rows = [("cuDNN nn.GRU", _Gru())]
        for backend in ("triton", "torch"):
            try:
                rows.append(
                    (
                        f"mamba2[{backend}]",
                        make_core("mamba2", args.input_dim, args.hidden_dim, backend=backend).to(device),
                    )
                )
            except ImportError as err:
                print(f"  mamba2[{backend}]: unavailable ({err})")
        for label, module in rows:
            try:
                tps = throughput(module, T, B, device, args.iters, args.warmup, 0.0)
                print(f"  {label:<18}{tps:>14,.0f} tokens/s")
            except torch.OutOfMemoryError:
                print(f"  {label:<18}{'out of memory':>14}")
                torch.cuda.empty_cache()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small shapes and one timed iteration")
    p.add_argument("--cores", nargs="+", default=list(CORE_NAMES), choices=list(CORE_NAMES))
    p.add_argument("--input-dim", type=int, default=64)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument(
        "--reset-prob",
        type=float,
        default=0.0,
        help="chance that a row's episode restarts at a step (0: only at t=0)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--no-gpu", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cpu_shape, gpu_shape = (128, 64), (256, 1024)
    if args.quick:
        args.iters, args.warmup = 1, 1
        cpu_shape, gpu_shape = (32, 16), (64, 128)
    run(torch.device("cpu"), *cpu_shape, args)
    if torch.cuda.is_available() and not args.no_gpu:
        run(torch.device("cuda"), *gpu_shape, args)
    elif not args.no_gpu:
        print("\n(no CUDA device: GPU figures skipped)")


if __name__ == "__main__":
    main()
