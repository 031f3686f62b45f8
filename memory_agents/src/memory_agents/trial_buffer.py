"""Replay of whole trials for recurrent Q-learning.

Transition replay breaks recurrent networks: a single transition has no memory state and its
neighbours are gone. ``TrialReplayBuffer`` therefore stores *complete trials*, cut where the
env reports ``info["new_trial"]`` (an episode end always ends a trial, so on envs without
trials an episode is one trial), and replays them as padded sequences.

Each stored trial of ``L`` steps keeps

- ``obs``: ``L + 1`` observations: the ``L`` the agent acted on plus the observation that
  followed the last step (the first observation of the next trial, or the terminal observation
  when the episode ended there). Step ``t``'s TD target reads step ``t + 1`` of this one
  sequence, so the last step bootstraps from the replayed state after the whole trial;
- ``actions``, ``rewards`` (``L`` each) and ``terminal``: the trial ended the episode by
  termination, so its last step does not bootstrap (a time-limit truncation does bootstrap);
- ``ended``: the trial reached its own end (the env reported it, or terminated the episode)
  rather than being cut by a time-limit truncation, so a learner that values trials one at a
  time may stop bootstrapping there;
- ``start_state``: the memory state with which the agent began the trial (the initial state
  for a trial that starts an episode), so replay can start where the agent really was;
- ``prefix_obs``/``prefix_state``: up to ``burn_in`` observations of the same episode before
  the trial and the memory state before them, for an R2D2-style burn-in that refreshes the
  stale stored state with the current network.

Capacity is counted in trials; the oldest whole trial is evicted first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .cores.base import MAX_SIZE, check_positive_int


@dataclass
class Trial:
    """One complete trial (see module docstring for the fields)."""

    obs: np.ndarray  # (L + 1, D) float32
    actions: np.ndarray  # (L,) int64
    rewards: np.ndarray  # (L,) float32
    terminal: bool
    start_state: tuple[np.ndarray, ...]
    prefix_obs: np.ndarray  # (P, D) float32, P <= burn_in
    prefix_state: tuple[np.ndarray, ...]
    episode_start: bool  # the trial is the first of its episode
    env_index: int
    serial: int  # order of completion over the buffer's life
    ended: bool = True  # the default is what buffers pickled before this field read back

    @property
    def length(self) -> int:
        return len(self.actions)


@dataclass
class TrialBatch:
    """A padded batch of B trials, time first. ``Lmax`` = longest trial, ``P`` = longest prefix.

    obs (Lmax+1, B, D); actions/rewards/mask/bootstrap (Lmax, B); mask is 1 on real steps;
    bootstrap is 1 where the target adds gamma * Q(step t+1) (real steps except the last step
    of a terminal trial); trial_end (Lmax, B) is 1 on the last step of a trial that ``ended``
    (not on one cut by truncation); start_state tuple of (B, ...); prefix_obs (P, B, D) *left*-padded so
    every prefix ends at the trial start; prefix_lengths (B,); prefix_state tuple of (B, ...).
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor
    bootstrap: torch.Tensor
    trial_end: torch.Tensor
    lengths: torch.Tensor
    start_state: tuple[torch.Tensor, ...]
    prefix_obs: torch.Tensor
    prefix_lengths: torch.Tensor
    prefix_state: tuple[torch.Tensor, ...]
    trials: list[Trial]


def _rows(state: np.ndarray | torch.Tensor, rows: list[int]) -> np.ndarray:
    """Rows ``rows`` of one state tensor as a new numpy array (never a view of the caller's memory)."""
    if isinstance(state, torch.Tensor):
        return state.detach()[rows].cpu().numpy()
    return state[rows]


class _Stream:
    """The trial being written for one env, plus the episode's recent history for burn-in."""

    def __init__(self, burn_in: int):
        self.history: deque = deque(maxlen=burn_in) if burn_in > 0 else deque(maxlen=0)
        self.episode_start = True
        self.clear()

    def clear(self) -> None:
        self.obs: list[np.ndarray] = []
        self.actions: list[int] = []
        self.rewards: list[float] = []
        self.start_state = None
        self.prefix_obs = None
        self.prefix_state = None


class TrialReplayBuffer:
    """Stores complete trials from ``n_envs`` parallel step streams and samples padded batches.

    Args:
        capacity: number of trials kept; adding one more evicts the oldest whole trial.
        n_envs: number of parallel envs whose steps ``add`` receives.
        burn_in: number of same-episode steps before each trial to keep for burn-in (0 = none).
        seed: seed of the sampling RNG.
    """

    def __init__(self, capacity: int = 500, n_envs: int = 1, burn_in: int = 0, seed: int | None = None):
        self.capacity = check_positive_int("capacity", capacity, 1, MAX_SIZE)
        self.n_envs = check_positive_int("n_envs", n_envs, 1)
        self.burn_in = check_positive_int("burn_in", burn_in, 0, MAX_SIZE)
        self.trials: deque[Trial] = deque(maxlen=self.capacity)
        self.rng = np.random.default_rng(seed)
        self.num_trials_added = 0
        self._streams = [_Stream(self.burn_in) for _ in range(self.n_envs)]

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def num_steps(self) -> int:
        """Number of stored (acted-on) steps over all kept trials."""
        return sum(t.length for t in self.trials)

    def reset_streams(self) -> None:
        """Drop partly written trials (call when the env is reset outside the step stream)."""
        self._streams = [_Stream(self.burn_in) for _ in range(self.n_envs)]

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        dones: np.ndarray,
        terminated: np.ndarray,
        trial_ends: np.ndarray,
        states: Sequence[np.ndarray | torch.Tensor],
    ) -> list[Trial]:
        """Record one vectorised step of every env; return the trials it completed.

        Args:
            obs: (n_envs, ...) observations the actions were taken on.
            actions, rewards: (n_envs,).
            next_obs: (n_envs, ...) observation after the step (the terminal one where done).
            dones: (n_envs,) the episode ended at this step (terminated or truncated).
            terminated: (n_envs,) the episode ended by termination (no bootstrap).
            trial_ends: (n_envs,) the env reported that the step ended a trial (``info["new_trial"]``).
            states: memory state before ``obs`` was consumed (after any episode reset),
                a tuple of (n_envs, ...) arrays or tensors.
        """
        n = self.n_envs
        obs = np.asarray(obs, dtype=np.float32).reshape(n, -1)
        next_obs = np.asarray(next_obs, dtype=np.float32).reshape(n, -1)
        actions = np.asarray(actions).reshape(n)
        rewards = np.asarray(rewards, dtype=np.float32).reshape(n)
        dones = np.asarray(dones, dtype=bool).reshape(n)
        terminated = np.asarray(terminated, dtype=bool).reshape(n)
        reported_ends = np.asarray(trial_ends, dtype=bool).reshape(n)
        trial_ends = reported_ends | dones
        states = tuple(s if isinstance(s, torch.Tensor) else np.asarray(s) for s in states)
        for s in states:
            if s.shape[0] != n:
                raise ValueError(
                    f"states must have n_envs={n} rows first, got a state tensor of shape {tuple(s.shape)}"
                )
        # The state is kept only where a trial starts, and for burn-in's history: copy just those rows.
        keep = [i for i in range(n) if self.burn_in > 0 or not self._streams[i].actions]
        if keep:
            states = tuple(_rows(s, keep) for s in states)
        row_of = {i: k for k, i in enumerate(keep)}
        done_trials = []
        for i in range(n):
            stream = self._streams[i]
            row_state = tuple(s[row_of[i]] for s in states) if i in row_of else None
            if not stream.actions:
                stream.start_state = row_state
                if stream.history:
                    stream.prefix_obs = np.stack([o for o, _ in stream.history])
                    stream.prefix_state = stream.history[0][1]
                else:
                    stream.prefix_obs = np.zeros((0, obs.shape[1]), dtype=np.float32)
                    stream.prefix_state = row_state
            stream.obs.append(obs[i].copy())
            stream.actions.append(int(actions[i]))
            stream.rewards.append(float(rewards[i]))
            if self.burn_in > 0:
                stream.history.append((obs[i].copy(), row_state))
            if trial_ends[i]:
                trial = Trial(
                    obs=np.stack([*stream.obs, next_obs[i].copy()]),
                    actions=np.asarray(stream.actions, dtype=np.int64),
                    rewards=np.asarray(stream.rewards, dtype=np.float32),
                    terminal=bool(dones[i] and terminated[i]),
                    ended=bool(reported_ends[i] or (dones[i] and terminated[i])),
                    start_state=stream.start_state,
                    prefix_obs=stream.prefix_obs,
                    prefix_state=stream.prefix_state,
                    episode_start=stream.episode_start,
                    env_index=i,
                    serial=self.num_trials_added,
                )
                self.num_trials_added += 1
                self.trials.append(trial)
                done_trials.append(trial)
                stream.clear()
                stream.episode_start = bool(dones[i])
                if dones[i]:
                    stream.history.clear()
        return done_trials

    def sample(self, batch_size: int = 4, device: torch.device | str = "cpu") -> TrialBatch:
        """Sample ``batch_size`` trials uniformly (without replacement when enough are stored)."""
        batch_size = check_positive_int("batch_size", batch_size, 1)
        if len(self.trials) == 0:
            raise ValueError("cannot sample from an empty TrialReplayBuffer (0 complete trials stored)")
        idx = self.rng.choice(len(self.trials), size=batch_size, replace=len(self.trials) < batch_size)
        return self.collate([self.trials[int(i)] for i in idx], device=device)

    @staticmethod
    def collate(trials: Sequence[Trial], device: torch.device | str = "cpu") -> TrialBatch:
        """Pad ``trials`` into a time-first ``TrialBatch`` (see its docstring)."""
        B = len(trials)
        lengths = np.array([t.length for t in trials])
        plens = np.array([len(t.prefix_obs) for t in trials])
        L, P, D = int(lengths.max()), int(plens.max()), trials[0].obs.shape[1]
        obs = np.zeros((L + 1, B, D), dtype=np.float32)
        actions = np.zeros((L, B), dtype=np.int64)
        rewards = np.zeros((L, B), dtype=np.float32)
        mask = np.zeros((L, B), dtype=np.float32)
        bootstrap = np.zeros((L, B), dtype=np.float32)
        trial_end = np.zeros((L, B), dtype=np.float32)
        prefix = np.zeros((P, B, D), dtype=np.float32)
        for b, t in enumerate(trials):
            n = t.length
            obs[: n + 1, b] = t.obs
            actions[:n, b] = t.actions
            rewards[:n, b] = t.rewards
            mask[:n, b] = 1.0
            bootstrap[:n, b] = 1.0
            if t.terminal:
                bootstrap[n - 1, b] = 0.0
            trial_end[n - 1, b] = float(t.ended)
            if len(t.prefix_obs):
                prefix[P - len(t.prefix_obs) :, b] = t.prefix_obs

        def as_t(a, dtype=None):
            return torch.as_tensor(a, device=device, dtype=dtype)

        def stack_state(states):
            return tuple(as_t(np.stack(parts)) for parts in zip(*states))

        return TrialBatch(
            obs=as_t(obs),
            actions=as_t(actions),
            rewards=as_t(rewards),
            mask=as_t(mask),
            bootstrap=as_t(bootstrap),
            trial_end=as_t(trial_end),
            lengths=as_t(lengths, torch.long),
            start_state=stack_state([t.start_state for t in trials]),
            prefix_obs=as_t(prefix),
            prefix_lengths=as_t(plens, torch.long),
            prefix_state=stack_state([t.prefix_state for t in trials]),
            trials=list(trials),
        )
