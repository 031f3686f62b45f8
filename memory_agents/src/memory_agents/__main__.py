"""The main command: ``memory-suite train`` with its defaults, under the name ``python -m memory_agents``.

    uv run python -m memory_agents                                   # GRU on DelayedCue easy, the preset's budget
    uv run python -m memory_agents --core lstm --steps 300000
    uv run python -m memory_agents --task CopyMemory --difficulty easy --core mamba2
    uv run python -m memory_agents --env-kwarg delay=20 --seed 1     # a variant of the preset

It writes runs/<run_id>/ (run.json, model.zip, tb/) exactly as ``memory-suite train`` does (one
implementation: ``memory_agents.suite.cli``), so ``memory-suite eval runs/<run_id>/model.zip``
and ``memory-suite render`` work on the agent with no flags. It prints the budget used, then the
success rate on fresh evaluation episodes next to the memoryless ceiling. Bad input is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import sys

from .suite.cli import train_main


def main(argv: list[str] | None = None) -> int:
    """Run the main command; returns the exit status (0 ok, 2 bad input)."""
    return train_main(argv, prog="python -m memory_agents")


if __name__ == "__main__":
    sys.exit(main())
