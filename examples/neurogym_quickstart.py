"""NeuroGym tasks as episodic Gymnasium envs: trial boundaries, ground truth, vector envs.

    uv run python examples/neurogym_quickstart.py

Plays the ground-truth policy and a random policy on a few registered NeuroGym tasks and prints
their per-trial accuracy, then shows the trial keys in a vector env's infos.
"""

import gymnasium as gym
import numpy as np
from memory_gym_envs.neurogym import ground_truth_actions, make

import memory_gym_envs  # noqa: F401  (registers MemoryGym/NeuroGym-<Task>-v0)

TASKS = ("ContextDecisionMaking", "DelayMatchSample", "PerceptualDecisionMaking", "GoNogo", "ReadySetGo")


def play(env, policy, seed):
    """One episode; returns (trial accuracy, episode return, steps)."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        action = ground_truth_actions(env) if policy == "oracle" else int(rng.integers(env.action_space.n))
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        if terminated or truncated:
            return info["trial_accuracy"], total, steps


def main():
    print(f"{'task':28s} {'oracle acc':>10s} {'random acc':>10s} {'steps/episode':>14s}")
    for task in TASKS:
        env = gym.make(f"MemoryGym/NeuroGym-{task}-v0", trials_per_episode=50)
        oracle_acc, _, steps = play(env, "oracle", seed=0)
        random_acc, _, _ = play(env, "random", seed=0)
        print(f"{task:28s} {oracle_acc:10.2f} {random_acc:10.2f} {steps:14d}")

    # Any neurogym id with its own kwargs, plus previous reward / one-hot action in the observation.
    env = make(
        "PerceptualDecisionMaking-v0", dt=50, timing={"stimulus": 500}, pass_reward=True, pass_action=True
    )
    print("generic make:", env.observation_space, env.action_space)

    vec = gym.make_vec("MemoryGym/NeuroGym-DelayMatchSample-v0", num_envs=4, trials_per_episode=3)
    vec.reset(seed=0)
    for _ in range(40):
        _, _, _, _, infos = vec.step(ground_truth_actions(vec))
        if infos["new_trial"].any():
            print(
                "vector step: new_trial",
                infos["new_trial"],
                "trial_index",
                infos["trial_index"],
                "trial_correct",
                np.where(infos["_trial_correct"], infos["trial_correct"], None),
            )
    vec.close()


if __name__ == "__main__":
    main()
