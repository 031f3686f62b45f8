"""Probe: how much of a cue seen at t=0 survives D blank steps in a freshly initialised core.

Why: a recurrent agent can only learn to remember what its initial dynamics keep long enough for
the gradient to see. For each core (and initialisation option) this prints, at delays D:
- ``sens``: cue sensitivity, mean distance between the outputs at step D for different cues,
  divided by the mean output norm (0 = the cue is forgotten);
- ``grad``: gradient reach, the norm of d y_D / d x_0 (0 = no learning signal reaches the cue).

    uv run python benchmarks/cue_retention_probe.py [--delays 60 400 2000] [--hidden 64] [--only mamba2]
"""

from __future__ import annotations

import argparse

import torch
from memory_agents.cores import make_core

VARIANTS = {
    "gru": ("gru", {}),
    "gru chrono": ("gru", {"max_timescale": None}),
    "lstm": ("lstm", {}),
    "lstm chrono": ("lstm", {"max_timescale": None}),
    "mamba2": ("mamba2", {}),
    "mamba2 horizon": ("mamba2", {"max_timescale": None}),
    "pseudo_mamba": ("pseudo_mamba", {}),
    "pseudo_mamba horizon": ("pseudo_mamba", {"max_timescale": None}),
    "pseudo_memory": ("pseudo_memory", {}),
    "mamba2_memory": ("mamba2_memory", {}),
    "mamba2_memory horizon": ("mamba2_memory", {"max_timescale": None}),
}


def probe(core, num_cues: int, delay: int) -> tuple[float, float]:
    dim = core.input_dim
    x = torch.zeros(delay + 1, num_cues, dim)
    x[0, torch.arange(num_cues), torch.arange(num_cues)] = 1.0
    x.requires_grad_(True)
    state = core.initial_state(num_cues)
    starts = torch.zeros(delay + 1, num_cues, dtype=torch.bool)
    starts[0] = True
    y, _ = core(x, state, starts)
    last = y[-1]
    dist = torch.cdist(last, last).sum() / (num_cues * (num_cues - 1))
    sens = float((dist / (last.norm(dim=-1).mean() + 1e-12)).detach())
    (grad,) = torch.autograd.grad(last.sum(), x)
    return sens, float(grad[0].norm())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--delays", type=int, nargs="+", default=[60, 400, 2000])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--cues", type=int, default=8)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", nargs="+", help="run only the variants whose label starts with one of these")
    args = p.parse_args()
    torch.set_num_threads(1)
    header = "core".ljust(24) + "".join(f"D={d}: sens / grad".rjust(26) for d in args.delays)
    print(header)
    for label, (name, kwargs) in VARIANTS.items():
        if args.only and not any(label.startswith(o) for o in args.only):
            continue
        cells = []
        for delay in args.delays:
            kw = {k: (delay if v is None else v) for k, v in kwargs.items()}  # horizon: timescale = delay
            sens = grad = 0.0
            for seed in range(args.seeds):
                torch.manual_seed(seed)
                core = make_core(name, args.cues + 2, args.hidden, **kw)
                s, g = probe(core, args.cues, delay)
                sens, grad = sens + s / args.seeds, grad + g / args.seeds
            cells.append(f"{sens:9.2e} / {grad:9.2e}".rjust(26))
        print(label.ljust(24) + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
