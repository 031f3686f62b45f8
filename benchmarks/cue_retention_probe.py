"""Probe: how much of a cue seen at t=0 survives D blank steps in a freshly initialised core.

Why: a recurrent agent can only learn to remember what its initial dynamics keep long enough for
the gradient to see. For each core (and initialisation option) this prints, at delays D:
- ``sens``: cue sensitivity, mean distance between the outputs at step D for different cues,
  divided by the mean output norm (0 = the cue is forgotten);
- ``grad``: gradient reach, the norm of d y_D / d x_0 (0 = no learning signal reaches the cue).

Then, for the slot-memory cores, ``slot retention``: the cue is written with the gate open, the
gate is then held at a small value g (a nearly shut gate, as a trained agent's is between cues)
for D steps, and the table prints how much of the cue's write is left in its slot (1 = intact),
per usage rule (which slot each write goes to).

    uv run python benchmarks/cue_retention_probe.py [--delays 60 400 2000] [--hidden 64] [--only mamba2]
"""

from __future__ import annotations

import argparse
import math

import torch
from memory_agents.cores import make_core


def _delay(d: int) -> int:
    return d


def _four_delays(d: int) -> int:
    return 4 * d


def _past_delay(d: int) -> int:
    return d + 1


#: label -> (core, kwargs); a callable kwarg is called with the delay (e.g. timescale = delay).
VARIANTS = {
    "gru": ("gru", {}),
    "gru chrono": ("gru", {"max_timescale": _delay}),
    "lstm": ("lstm", {}),
    "lstm chrono": ("lstm", {"max_timescale": _delay}),
    "mamba2": ("mamba2", {}),
    "mamba2 max=D": ("mamba2", {"max_timescale": _delay}),
    "pseudo_mamba": ("pseudo_mamba", {}),
    "pseudo_mamba max=D": ("pseudo_mamba", {"max_timescale": _delay}),
    "pseudo_mamba max=4D": ("pseudo_mamba", {"max_timescale": _four_delays}),
    "pseudo_memory": ("pseudo_memory", {}),
    # max_timescale sets the write gate's bias to logit(K / D): each slot rewritten about once in D
    "pseudo_memory max=D": ("pseudo_memory", {"max_timescale": _delay}),
    "mamba2_memory": ("mamba2_memory", {}),
    "mamba2_memory max=D": ("mamba2_memory", {"max_timescale": _delay}),
    # Attention keeps the cue exactly while it is in the window, but spreads its weights over
    # every cached step: the read of the cue thins out as the blank steps pile up.
    "transformer window>D": ("transformer", {"window": _past_delay}),
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


SLOT_VARIANTS = {
    f"{name} {rule}": (name, {"usage_rule": rule})
    for name in ("pseudo_memory", "mamba2_memory")
    for rule in ("recency", "strength")
}


@torch.no_grad()
def slot_retention(core, num_cues: int, delay: int, gate_logit: float) -> float:
    """Fraction of the cue's write still in its slot after ``delay`` steps of gate sigmoid(gate_logit)."""
    x = torch.zeros(delay + 1, num_cues, core.input_dim)
    x[0, torch.arange(num_cues), torch.arange(num_cues)] = 1.0
    core.gate.weight.zero_()
    core.gate.bias.fill_(60.0)  # write the cue
    state = core(x[:1], core.initial_state(num_cues))[1]
    cue_slot = state[-2].abs().sum(-1).argmax(-1)  # the only slot written so far
    core.gate.bias.fill_(gate_logit)
    left = torch.ones(num_cues)
    for t in range(1, delay + 1):
        target = state[-1].argmin(-1)  # where this step's write goes
        _, state, readings = core(x[t : t + 1], state, return_readings=True)
        g = readings["gate"][0, :, 0]
        left = left * torch.where(target == cue_slot, 1 - g, torch.ones_like(g))
    return float(left.mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--delays", type=int, nargs="+", default=[60, 400, 2000])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--cues", type=int, default=8)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", nargs="+", help="run only the variants whose label starts with one of these")
    p.add_argument(
        "--gate-logits", type=float, nargs="+", default=[-3.0, -5.0], help="slot retention: shut-gate logits"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    header = "core".ljust(24) + "".join(f"D={d}: sens / grad".rjust(26) for d in args.delays)
    print(header)
    for label, (name, kwargs) in VARIANTS.items():
        if args.only and not any(label.startswith(o) for o in args.only):
            continue
        cells = []
        for delay in args.delays:
            kw = {k: (v(delay) if callable(v) else v) for k, v in kwargs.items()}
            sens = grad = 0.0
            for seed in range(args.seeds):
                torch.manual_seed(seed)
                core = make_core(name, args.cues + 2, args.hidden, **kw)
                s, g = probe(core, args.cues, delay)
                sens, grad = sens + s / args.seeds, grad + g / args.seeds
            cells.append(f"{sens:9.2e} / {grad:9.2e}".rjust(26))
        print(label.ljust(24) + "".join(cells), flush=True)
    print()
    print("slot retention".ljust(32) + "".join(f"D={d}".rjust(10) for d in args.delays))
    for label, (name, kwargs) in SLOT_VARIANTS.items():
        if args.only and not any(label.startswith(o) for o in args.only):
            continue
        for logit in args.gate_logits:
            cells = []
            for delay in args.delays:
                left = 0.0
                for seed in range(args.seeds):
                    torch.manual_seed(seed)
                    core = make_core(name, args.cues + 2, args.hidden, **kwargs)
                    left += slot_retention(core, args.cues, delay, logit) / args.seeds
                cells.append(f"{left:10.3f}")
            gate = f"g={1 / (1 + math.exp(-logit)):.4f}"
            print(f"{label} {gate}".ljust(32) + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
