"""memory_gym_envs: long-horizon memory tasks as Gymnasium environments."""
