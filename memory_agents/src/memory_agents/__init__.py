"""memory_agents: recurrent agents with swappable memory cores for Stable-Baselines3."""
