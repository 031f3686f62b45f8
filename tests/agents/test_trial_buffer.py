"""TrialReplayBuffer invariants: complete trials in order, whole-trial eviction, padding masks."""

import numpy as np
import pytest
import torch
from memory_agents.trial_buffer import TrialReplayBuffer


def feed(buffer, schedule, n_envs=1, episode_trials=None):
    """Drive ``buffer.add`` with a synthetic stream.

    ``schedule[i]`` is env i's list of trial lengths; obs row = (trial id, step in trial);
    the state is (global step,) so stored start states can be checked. An episode ends
    (terminated) after every ``episode_trials`` trials.
    """
    counters = [dict(trial=0, step=0, tot=0) for _ in range(n_envs)]
    total = max(sum(s) for s in schedule)
    completed = []
    for _ in range(total):
        obs = np.zeros((n_envs, 2), np.float32)
        nxt = np.zeros((n_envs, 2), np.float32)
        ends = np.zeros(n_envs, bool)
        dones = np.zeros(n_envs, bool)
        state = np.zeros((n_envs, 1), np.float32)
        for i, c in enumerate(counters):
            lens = schedule[i]
            if c["trial"] >= len(lens):
                continue
            obs[i] = (c["trial"], c["step"])
            state[i] = c["tot"]
            c["step"] += 1
            c["tot"] += 1
            if c["step"] == lens[c["trial"]]:
                ends[i] = True
                c["trial"] += 1
                c["step"] = 0
                dones[i] = episode_trials is not None and c["trial"] % episode_trials == 0
            nxt[i] = (c["trial"], c["step"])
        completed += buffer.add(obs, obs[:, 1], np.ones(n_envs), nxt, dones, dones, ends, (state,))
    return completed


def test_trials_are_complete_and_in_order():
    buf = TrialReplayBuffer(capacity=10)
    lens = [3, 5, 1, 4]
    done = feed(buf, [lens])
    assert [t.length for t in buf.trials] == lens
    assert [t.serial for t in buf.trials] == [0, 1, 2, 3]
    for k, t in enumerate(done):
        np.testing.assert_array_equal(t.obs[:-1, 0], k)  # one trial per record
        np.testing.assert_array_equal(t.obs[:-1, 1], np.arange(t.length))  # steps in order
        np.testing.assert_array_equal(t.obs[-1], (k + 1, 0))  # next trial's first obs follows
        assert t.start_state[0][0] == sum(lens[:k])  # state at the trial's first step
        assert not t.terminal


def test_capacity_evicts_whole_oldest_trials():
    buf = TrialReplayBuffer(capacity=3)
    lens = [2, 3, 4, 5, 6]
    feed(buf, [lens])
    assert len(buf) == 3
    assert [t.serial for t in buf.trials] == [2, 3, 4]
    assert [t.length for t in buf.trials] == [4, 5, 6]
    assert buf.num_steps == 15


def test_episode_end_is_terminal_and_restarts_episode():
    buf = TrialReplayBuffer(capacity=10)
    feed(buf, [[2, 2, 2, 2]], episode_trials=2)
    assert [t.terminal for t in buf.trials] == [False, True, False, True]
    assert [t.episode_start for t in buf.trials] == [True, False, True, False]


def test_parallel_envs_do_not_mix():
    buf = TrialReplayBuffer(capacity=20, n_envs=2)
    feed(buf, [[2, 3, 2], [4, 1, 1, 1]], n_envs=2)
    for env in (0, 1):
        trials = [t for t in buf.trials if t.env_index == env]
        assert [int(t.obs[0, 0]) for t in trials] == list(range(len(trials)))
        assert [t.length for t in trials] == ([2, 3, 2] if env == 0 else [4, 1, 1, 1])


def test_collate_pads_with_masks_and_bootstrap_flags():
    buf = TrialReplayBuffer(capacity=10)
    feed(buf, [[2, 4]], episode_trials=2)
    batch = buf.collate(list(buf.trials))
    assert batch.obs.shape == (5, 2, 2) and batch.actions.shape == (4, 2)
    torch.testing.assert_close(batch.mask, torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    # trial 0 ends mid-episode: its last step bootstraps; trial 1 ends the episode: it does not.
    torch.testing.assert_close(
        batch.bootstrap, torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    )
    # both trials reached their end: the last real step of each is flagged
    torch.testing.assert_close(
        batch.trial_end, torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    )
    assert torch.all(batch.obs[3:, 0] == 0)  # padding is zeros
    torch.testing.assert_close(batch.start_state[0], torch.tensor([[0.0], [2.0]]))


def test_truncation_cuts_a_trial_without_ending_it():
    buf = TrialReplayBuffer(capacity=10)
    one = np.ones(1, bool)
    no = np.zeros(1, bool)
    state = (np.zeros((1, 1), np.float32),)
    obs = np.zeros((1, 2), np.float32)
    buf.add(obs, [0], [0.0], obs, no, no, one, state)  # the env reports a trial end
    buf.add(obs, [0], [0.0], obs, one, no, no, state)  # truncated mid-trial
    buf.add(obs, [0], [0.0], obs, one, one, no, state)  # terminated: the trial ends with the episode
    assert [t.ended for t in buf.trials] == [True, False, True]
    assert [t.terminal for t in buf.trials] == [False, False, True]
    torch.testing.assert_close(buf.collate(list(buf.trials)).trial_end, torch.tensor([[1.0, 0.0, 1.0]]))


def test_burn_in_prefix_comes_from_the_same_episode():
    buf = TrialReplayBuffer(capacity=10, burn_in=3)
    feed(buf, [[2, 4, 3, 2]], episode_trials=2)
    t0, t1, t2, t3 = buf.trials
    assert len(t0.prefix_obs) == 0 and len(t2.prefix_obs) == 0  # episode starts: nothing before
    np.testing.assert_array_equal(t1.prefix_obs, [[0, 0], [0, 1]])  # only 2 steps exist before
    np.testing.assert_array_equal(t3.prefix_obs, [[2, 0], [2, 1], [2, 2]])
    assert t3.prefix_state[0][0] == 6 and t3.start_state[0][0] == 9
    batch = buf.collate([t1, t3])
    assert batch.prefix_obs.shape == (3, 2, 2)
    torch.testing.assert_close(batch.prefix_lengths, torch.tensor([2, 3]))
    torch.testing.assert_close(batch.prefix_obs[0, 0], torch.zeros(2))  # left padding


def test_sample_and_errors():
    buf = TrialReplayBuffer(capacity=5, seed=0)
    with pytest.raises(ValueError, match="empty"):
        buf.sample(2)
    feed(buf, [[1, 2, 3]])
    batch = buf.sample(4)
    assert batch.obs.shape[1] == 4
    for kwargs, name in [
        (dict(capacity=0), "capacity"),
        (dict(n_envs=0), "n_envs"),
        (dict(burn_in=-1), "burn_in"),
    ]:
        with pytest.raises(ValueError, match=name):
            TrialReplayBuffer(**kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0)
