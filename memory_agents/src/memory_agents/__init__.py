"""memory_agents: recurrent agents with swappable memory cores for Stable-Baselines3."""

from .dqn import MemoryQPolicy, TrialReplayDQN
from .policies import MemoryActorCriticPolicy
from .ppo import MemoryPPO
from .trial_buffer import TrialReplayBuffer
from .vec_env import GymnasiumVecEnv, make_vec_env

__all__ = [
    "MemoryPPO",
    "MemoryActorCriticPolicy",
    "TrialReplayDQN",
    "MemoryQPolicy",
    "TrialReplayBuffer",
    "make_vec_env",
    "GymnasiumVecEnv",
]
