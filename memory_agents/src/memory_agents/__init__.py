"""memory_agents: recurrent agents with swappable memory cores for Stable-Baselines3."""
from .policies import MemoryActorCriticPolicy
from .ppo import MemoryPPO
from .vec_env import GymnasiumVecEnv, make_vec_env

__all__ = ["MemoryPPO", "MemoryActorCriticPolicy", "make_vec_env", "GymnasiumVecEnv"]
