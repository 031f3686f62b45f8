"""Does a memory core carry a cue to the query step? Two quick probes on DelayedCue-shaped inputs.

1. Cue sensitivity at init: the core's output at the query step for each of C cues; the mean
   pairwise distance between those outputs relative to their mean norm (0 = the cue is lost).
2. A tiny supervised delayed recall: linear head on the query-step output, cross-entropy on the
   cue, Adam; greedy accuracy on fresh batches along training (chance 1/C).

The init sensitivity is not a verdict by itself (a GRU starts near 0 too and learns in ~100
steps); for the MPN it shows how strongly M is written and read, which also scales the gradient
that has to grow the memory path (both are proportional to eta).

One run on the 2-vCPU VM (1 thread, other jobs running), defaults::

    config          cue-sens@init  acc@25  acc@50  acc@100  acc@200  acc@300
    gru                    0.0021   0.254   0.262    1.000    1.000    1.000
    mpn:eta=0.1            0.0087   0.254   0.262    0.207    0.236    0.523
    mpn  (eta=1.0)         0.2216   0.254   1.000    1.000    1.000    1.000
    mpn:m_bound=1.0        0.1477   0.254   0.262    0.721    1.000    1.000

Observations as MemoryGym/DelayedCue-v0: ``[cue_flag, query_flag, one-hot cue]``, all zero during
the delay. Prints one line per core configuration.

    uv run python benchmarks/mpn_memory_probe.py
    uv run python benchmarks/mpn_memory_probe.py --configs gru "mpn:eta=0.1" "mpn:learn_eta=True" --steps 300
"""

from __future__ import annotations

import argparse
import ast
import itertools
import time

import torch
from memory_agents.cores import make_core


def delayed_cue_batch(cues: torch.Tensor, num_cues: int, delay: int) -> torch.Tensor:
    T, B = delay + 2, cues.shape[0]
    x = torch.zeros(T, B, 2 + num_cues)
    x[0, :, 0] = 1.0
    x[0, torch.arange(B), 2 + cues] = 1.0
    x[-1, :, 1] = 1.0
    return x


def parse_config(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    kwargs = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        kwargs[k] = ast.literal_eval(v)
    return name, kwargs


def cue_sensitivity(name, kwargs, num_cues, delay, hidden, seeds) -> float:
    rels = []
    for seed in seeds:
        torch.manual_seed(seed)
        core = make_core(name, 2 + num_cues, hidden, **kwargs)
        with torch.no_grad():
            y, _ = core(delayed_cue_batch(torch.arange(num_cues), num_cues, delay))
        yq = y[-1]  # (C, H)
        dists = [(yq[a] - yq[b]).norm() for a, b in itertools.combinations(range(num_cues), 2)]
        rels.append(float(torch.stack(dists).mean() / yq.norm(dim=1).mean().clamp_min(1e-12)))
    return sum(rels) / len(rels)


def supervised_curve(name, kwargs, num_cues, delay, hidden, steps, lr, batch, seed, checkpoints):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    core = make_core(name, 2 + num_cues, hidden, **kwargs)
    head = torch.nn.Linear(hidden, num_cues)
    opt = torch.optim.Adam([*core.parameters(), *head.parameters()], lr=lr)
    accs = {}
    for step in range(1, steps + 1):
        cues = torch.randint(0, num_cues, (batch,), generator=g)
        y, _ = core(delayed_cue_batch(cues, num_cues, delay))
        loss = torch.nn.functional.cross_entropy(head(y[-1]), cues)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in checkpoints:
            cues = torch.randint(0, num_cues, (512,), generator=g)
            with torch.no_grad():
                y, _ = core(delayed_cue_batch(cues, num_cues, delay))
                accs[step] = float((head(y[-1]).argmax(-1) == cues).float().mean())
    return accs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--configs",
        nargs="+",
        default=["gru", "mpn:eta=0.1", "mpn", "mpn:m_bound=1.0"],
        help='core specs "name:key=value,key=value"',
    )
    p.add_argument("--num-cues", type=int, default=4)
    p.add_argument("--delay", type=int, default=10)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    checkpoints = sorted({s for s in (25, 50, 100, 200, 300, 500, 1000, args.steps) if s <= args.steps})
    print(
        f"DelayedCue-shaped inputs: {args.num_cues} cues, delay {args.delay}, hidden {args.hidden}; "
        f"supervised: Adam lr {args.lr}, batch {args.batch}, seed {args.seed}"
    )
    print(
        f"{'config':34s} {'cue-sens@init':>13s}  "
        + "  ".join(f"acc@{s:<4d}" for s in checkpoints)
        + "   wall_s"
    )
    for spec in args.configs:
        name, kwargs = parse_config(spec)
        t0 = time.perf_counter()
        sens = cue_sensitivity(name, kwargs, args.num_cues, args.delay, args.hidden, seeds=range(5))
        accs = supervised_curve(
            name,
            kwargs,
            args.num_cues,
            args.delay,
            args.hidden,
            args.steps,
            args.lr,
            args.batch,
            args.seed,
            checkpoints,
        )
        print(
            f"{spec:34s} {sens:13.4f}  "
            + "  ".join(f"{accs[s]:8.3f}" for s in checkpoints)
            + f"   {time.perf_counter() - t0:6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
