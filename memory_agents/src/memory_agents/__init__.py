"""memory_agents: recurrent agents with swappable memory cores for Stable-Baselines3.

The public names load on first use (PEP 562), so ``import memory_agents.cores`` or the suite's
catalog does not pull in Stable-Baselines3 through this package's ``__init__``.
"""

from importlib import import_module

#: Public name -> the module that defines it.
_EXPORTS = {
    "MemoryPPO": "ppo",
    "MemoryActorCriticPolicy": "policies",
    "TrialReplayDQN": "dqn",
    "MemoryQPolicy": "dqn",
    "TrialReplayBuffer": "trial_buffer",
    "make_vec_env": "vec_env",
    "GymnasiumVecEnv": "vec_env",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
