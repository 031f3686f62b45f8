"""Seeds the row RNG cannot take (uint64 keys) are a ValueError naming the range, for the single
env and for the vector env, whose row i is seeded s + i."""

import gymnasium as gym
import numpy as np
import pytest

import memory_gym_envs  # noqa: F401  (registers the ids)

ID = "MemoryGym/DelayedCue-v0"


def test_single_env_seed_range():
    env = gym.make(ID)
    with pytest.raises(
        ValueError, match=r"seed must be an int in \[0, 2\*\*64 - 1\] or None, got 1180591620717411303424"
    ):
        env.reset(seed=2**70)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64 - 1\].*got -1"):
        env.reset(seed=-1)
    top, _ = env.reset(seed=2**64 - 1)  # the largest seed works
    again, _ = env.reset(seed=np.uint64(2**64 - 1))
    np.testing.assert_array_equal(top, again)


def test_vector_env_seed_range_leaves_room_for_every_row():
    envs = gym.make_vec(ID, num_envs=4)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64 - 4\] \(row i of 4 is seeded seed \+ i\)"):
        envs.reset(seed=2**64 - 3)  # row 3 would need 2**64
    obs, _ = envs.reset(seed=2**64 - 4)
    single, _ = gym.make(ID).reset(seed=2**64 - 1)
    np.testing.assert_array_equal(obs[3], single)  # row 3 plays the single env seeded s + 3
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64 - 1\].*got 18446744073709551616"):
        envs.reset(seed=[0, 1, 2, 2**64])
