"""MemoryPPO learns DelayedCue (4 cues, chance 0.25) with memory, and cannot without it.

Training stops early once the last 100 training episodes reach 0.95 success; the verdict is a
deterministic evaluation on fresh seeds.
"""

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

from memory_agents import MemoryPPO, make_vec_env

torch.set_num_threads(1)
CUE = "MemoryGym/DelayedCue-v0"


class StopAtSuccess(BaseCallback):
    def __init__(self, target=0.95, window=100):
        super().__init__()
        self.target, self.window = target, window

    def _on_step(self):
        buffer = list(self.model.ep_success_buffer)[-self.window :]
        return not (len(buffer) >= self.window and np.mean(buffer) >= self.target and self.n_calls % 64 == 0)


def train_and_evaluate(memory: str, delay: int, budget: int, seed: int = 0, early_stop: bool = True) -> float:
    task = dict(num_cues=4, delay=delay)
    env = make_vec_env(CUE, num_envs=32, seed=seed, env_kwargs=task)
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        n_steps=64,
        n_epochs=8,
        learning_rate=2e-3,
        seed=seed,
        policy_kwargs=dict(memory=memory, hidden_dim=64),
    )
    model.learn(budget, callback=StopAtSuccess() if early_stop else None)
    eval_env = make_vec_env(CUE, num_envs=16, seed=10_000 + seed, env_kwargs=task)
    success, _ = evaluate_policy(model, eval_env, n_eval_episodes=200, deterministic=True)
    return success


# mamba2 takes about 50 s here (early stop); with mamba_ssm's D=1 skip init it stayed at chance.
@pytest.mark.parametrize("memory", ["gru", "lstm", "mamba2"])
def test_memory_cores_solve_delayed_cue_delay_10(memory):
    success = train_and_evaluate(memory, delay=10, budget=150_000)
    assert success >= 0.9, f"{memory}: success {success:.2f} on DelayedCue(4 cues, delay 10)"


def test_memoryless_policy_stays_near_chance_delay_10():
    success = train_and_evaluate("mlp", delay=10, budget=40_000, early_stop=False)
    assert success < 0.5, f"memoryless policy scored {success:.2f}; chance is 0.25"


@pytest.mark.slow
@pytest.mark.parametrize("memory", ["gru", "lstm", "pseudo_mamba"])
def test_memory_cores_solve_delayed_cue_delay_20(memory):
    """Three seeds: at least two solve it (>= 0.9) and every one is well above chance (>= 0.45).
    PPO can settle on telling two pairs of cues apart (~0.5): LSTM seed 0 did (0.57 after 400k
    and after 700k steps) while seeds 1 and 2 reached 1.00."""
    successes = [train_and_evaluate(memory, delay=20, budget=400_000, seed=seed) for seed in (0, 1, 2)]
    assert sum(s >= 0.9 for s in successes) >= 2 and min(successes) >= 0.45, (
        f"{memory}: successes {successes} on DelayedCue(4 cues, delay 20)"
    )


@pytest.mark.slow
def test_memoryless_policy_stays_near_chance_delay_20():
    success = train_and_evaluate("mlp", delay=20, budget=200_000, early_stop=False)
    assert success < 0.5
