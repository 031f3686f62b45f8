"""How far MemoryPPO's gradients reach back in time: the names the algorithm, its rollout buffer,
the suite YAML and the CLI all accept (a leaf module, so the suite can list them without torch).

- ``full``: exact BPTT over whole rollouts;
- ``truncated``: chunks of ``bptt_len`` steps re-run from stored states (after ``burn_in``);
- ``cached``: one step from the state stored at each step (cheapest, approximate).
"""

RECURRENT_MODES = ("full", "truncated", "cached")
