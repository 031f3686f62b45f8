"""A recurrent PPO agent learns a NeuroGym task through the wrapper (slow: ~200k steps)."""

import numpy as np
import pytest

pytest.importorskip("neurogym")


def _trial_accuracy(model, make_vec_env, env_id, episodes):
    env = make_vec_env(env_id, num_envs=1, seed=1000, env_kwargs={"trials_per_episode": 10})
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


@pytest.mark.slow
def test_gru_ppo_beats_chance_on_perceptual_decision_making():
    torch = pytest.importorskip("torch")
    from memory_agents import MemoryPPO, make_vec_env

    torch.set_num_threads(1)
    env_id = "MemoryGym/NeuroGym-PerceptualDecisionMaking-v0"
    env = make_vec_env(env_id, num_envs=8, seed=0, env_kwargs={"trials_per_episode": 10})
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        n_steps=256,
        batch_size=512,
        n_epochs=4,
        learning_rate=1e-3,
        policy_kwargs=dict(memory="gru", hidden_dim=64),
        seed=0,
    )
    model.learn(total_timesteps=200_000)
    # A random policy scores ~1/3 here (tests/neurogym/test_wrapper.py); the run reached 0.85.
    assert _trial_accuracy(model, make_vec_env, env_id, episodes=10) >= 0.65
