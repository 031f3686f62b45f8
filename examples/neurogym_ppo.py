"""Train a recurrent PPO agent (GRU memory) on a NeuroGym task with trial boundaries.

    uv run python examples/neurogym_ppo.py --task PerceptualDecisionMaking --timesteps 200000
    uv run python examples/neurogym_ppo.py --quick      # a smoke run of a few thousand steps

The agent's memory is reset at episode starts only: inside an episode (`trials_per_episode`
trials) it carries over from trial to trial, as NeuroGym tasks are meant to be learned.
"""

import argparse

import numpy as np
import torch

from memory_agents import MemoryPPO, make_vec_env


def evaluate(model, env_id, episodes, trials_per_episode, seed=100):
    """Mean per-trial accuracy of the deterministic policy over `episodes` episodes."""
    env = make_vec_env(env_id, num_envs=1, seed=seed, env_kwargs={"trials_per_episode": trials_per_episode})
    obs, state, start = env.reset(), None, np.ones(1, dtype=bool)
    accuracies = []
    while len(accuracies) < episodes:
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, _, done, infos = env.step(action)
        start = done
        if done[0]:
            accuracies.append(infos[0]["trial_accuracy"])
    env.close()
    return float(np.mean(accuracies))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="PerceptualDecisionMaking")
    parser.add_argument("--memory", default="gru")
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument("--trials-per-episode", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny run to check the pipeline")
    args = parser.parse_args()
    if args.quick:
        args.timesteps = 4096
    torch.set_num_threads(1)

    env_id = f"MemoryGym/NeuroGym-{args.task}-v0"
    env = make_vec_env(env_id, num_envs=8, seed=0, env_kwargs={"trials_per_episode": args.trials_per_episode})
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        n_steps=256,
        batch_size=512,
        n_epochs=4,
        learning_rate=1e-3,
        policy_kwargs=dict(memory=args.memory, hidden_dim=64),
        seed=0,
        verbose=0,
    )
    before = evaluate(model, env_id, 3, args.trials_per_episode)
    model.learn(total_timesteps=args.timesteps)
    after = evaluate(model, env_id, 10, args.trials_per_episode)
    print(
        f"{args.task} ({args.memory}): trial accuracy {before:.2f} before training -> {after:.2f} "
        f"after {args.timesteps} steps"
    )


if __name__ == "__main__":
    main()
