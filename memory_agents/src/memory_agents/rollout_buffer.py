"""Rollout storage for recurrent PPO: (n_steps, n_envs) tensors plus the recurrent states each
``recurrent_mode`` needs to re-run the memory core, served as minibatches of sequences.

Every mode is one layout, "M sequences of T steps, each starting from a stored state":
- ``full``: M = n_envs whole rollouts (T = n_steps) from the state at the rollout start;
- ``truncated``: M = n_chunks * n_envs chunks of ``bptt_len`` steps, each from the state stored
  ``burn_in`` steps before the chunk (those steps are re-run without gradient first);
- ``cached``: M = n_steps * n_envs single steps, each from the state stored at that step.
Only those states are stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_action_dim, get_obs_shape

from .cores.base import State
from .recurrent_modes import RECURRENT_MODES
from .validation import check_choice


class SequenceSamples(NamedTuple):
    """One minibatch of M sequences: tensors are (T, M, ...), states (M, ...), burn-in (K, M, ...)."""

    observations: torch.Tensor
    actions: torch.Tensor
    episode_starts: torch.Tensor
    old_values: torch.Tensor
    old_log_prob: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    states: State
    burn_in_observations: torch.Tensor | None
    burn_in_episode_starts: torch.Tensor | None
    mask: torch.Tensor | None = None  # (T, M) bool, False on padding (set by pack_episodes)
    burn_in_skip: torch.Tensor | None = None  # (M,) bool: rows whose stored state needs no burn-in


_PACKED_FIELDS = (
    "observations",
    "actions",
    "episode_starts",
    "old_values",
    "old_log_prob",
    "advantages",
    "returns",
)


def pack_episodes(batch: SequenceSamples, states: State) -> tuple[SequenceSamples, State]:
    """Re-batch M sequences of T steps as N episode segments of T' <= T steps (padded, masked).

    Gradients never cross an episode start (the state is reset there), so running each segment
    as its own column gives exactly the same losses and gradients as running the sequences, in
    T' sequential core steps instead of T: on a rollout holding several short episodes per env
    this divides the update's sequential work. A sequence's first segment starts from its state;
    the others start with an episode start, so their state is reset by the core. Returns the
    batch unchanged (mask None) when no sequence contains an episode start after its first step.
    """
    starts = batch.episode_starts
    T, M = starts.shape
    if T == 1:
        return batch, states
    boundary = starts.detach().cpu().numpy().T != 0  # (M, T)
    boundary[:, 0] = True
    seg_start = np.flatnonzero(boundary.reshape(-1))  # flat m * T + t, sorted
    if len(seg_start) == M:
        return batch, states
    lengths = np.diff(np.append(seg_start, M * T))
    T2 = int(lengths.max())
    offset = np.arange(T2)[:, None]
    valid = offset < lengths[None, :]  # (T2, N)
    src = seg_start[None, :] + np.where(valid, offset, 0)
    time_major = (src % T) * M + src // T  # index into the (T * M) flattening of (T, M, ...)
    dev = starts.device
    index = torch.as_tensor(time_major, device=dev)
    mask = torch.as_tensor(valid, device=dev)
    fields = {}
    for name in _PACKED_FIELDS:
        x = getattr(batch, name)
        fields[name] = x.reshape(T * M, *x.shape[2:])[index]
    fields["episode_starts"] = fields["episode_starts"] * mask  # padding continues, never resets
    seq_of_segment = torch.as_tensor(seg_start // T, device=dev)
    packed = batch._replace(
        **fields,
        mask=mask,
        states=(),
        burn_in_observations=None,
        burn_in_episode_starts=None,
        burn_in_skip=None,
    )
    return packed, tuple(s[seq_of_segment] for s in states)


def _seq(x: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """(n_steps, B, ...) -> (n_steps // n_chunks, n_chunks * B, ...), sequence j = chunk * B + env."""
    n_steps, B = x.shape[:2]
    L = n_steps // n_chunks
    rest = x.shape[2:]
    return x.reshape(n_chunks, L, B, *rest).transpose(0, 1).reshape(L, n_chunks * B, *rest)


class MemoryRolloutBuffer:
    """Rollout tensors on the training device; see the module docstring for the stored states."""

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        state_shapes: tuple[tuple[int, ...], ...],
        initial_state_fn,
        device: torch.device,
        recurrent_mode: str = "full",
        bptt_len: int | None = None,
        burn_in: int = 0,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
    ):
        check_choice("recurrent_mode", recurrent_mode, RECURRENT_MODES)
        self.n_steps, self.n_envs = n_steps, n_envs
        self.mode = recurrent_mode
        self.bptt_len = (
            bptt_len if recurrent_mode == "truncated" else (n_steps if recurrent_mode == "full" else 1)
        )
        self.burn_in = burn_in if recurrent_mode == "truncated" else 0
        self.n_chunks = n_steps // self.bptt_len
        self.gamma, self.gae_lambda = gamma, gae_lambda
        self.device = device
        self.obs_shape = get_obs_shape(observation_space)
        self.action_shape = (
            () if isinstance(action_space, spaces.Discrete) else (get_action_dim(action_space),)
        )
        self.action_dtype = torch.long if isinstance(action_space, spaces.Discrete) else torch.float32
        self.obs_dtype = torch.float32
        self.state_shapes = state_shapes
        self._initial_state_fn = initial_state_fn

        T, B = n_steps, n_envs
        kw = dict(device=device)
        self.observations = torch.zeros((T, B, *self.obs_shape), dtype=self.obs_dtype, **kw)
        self.actions = torch.zeros((T, B, *self.action_shape), dtype=self.action_dtype, **kw)
        self.rewards = np.zeros((T, B), dtype=np.float32)
        self.episode_starts = np.zeros((T, B), dtype=np.float32)
        self.values = torch.zeros((T, B), dtype=torch.float32, **kw)
        self.log_probs = torch.zeros((T, B), dtype=torch.float32, **kw)
        self.advantages = np.zeros((T, B), dtype=np.float32)
        self.returns = np.zeros((T, B), dtype=np.float32)

        # Steps whose state (before that step) the mode needs; slot k holds state of store_steps[k].
        if self.mode == "full":
            self.store_steps = [0]
        elif self.mode == "cached":
            self.store_steps = list(range(T))
        else:  # truncated: chunk c re-runs from step c*L - burn_in; chunk 0's comes from the previous rollout
            self.store_steps = [c * self.bptt_len - self.burn_in for c in range(1, self.n_chunks + 1)]
            if self.burn_in == 0:
                self.store_steps = [c * self.bptt_len for c in range(self.n_chunks)]
        self._slot_of = {t: k for k, t in enumerate(self.store_steps)}
        self.states = tuple(torch.zeros((len(self.store_steps), B, *shape), **kw) for shape in state_shapes)
        if self.burn_in > 0:
            K = self.burn_in
            self.tail_observations = torch.zeros((K, B, *self.obs_shape), dtype=self.obs_dtype, **kw)
            self.tail_episode_starts = torch.zeros((K, B), **kw)
            self.tail_state = tuple(s.clone() for s in initial_state_fn(B))
            self.start_state = tuple(s.clone() for s in initial_state_fn(B))
            # False when the steps before this rollout are unknown (first rollout, or the previous
            # one was interrupted by a callback): chunk 0 then re-runs from the rollout-start state.
            self.tail_valid = False
        self.pos = 0
        self.full = False

    # ------------------------------------------------------------------ filling
    def reset(self) -> None:
        """Start a new rollout; with burn-in, keep the last ``burn_in`` steps of the previous one."""
        if self.burn_in > 0:
            self.tail_valid = self.full
        if self.burn_in > 0 and self.full:
            K = self.burn_in
            self.tail_observations.copy_(self.observations[-K:])
            self.tail_episode_starts.copy_(torch.as_tensor(self.episode_starts[-K:], device=self.device))
            for tail, s in zip(self.tail_state, self.states):
                tail.copy_(s[-1])  # stored at step n_steps - burn_in
        self.pos = 0
        self.full = False

    def forget_history(self) -> None:
        """The envs were reset: there is no previous rollout to burn in from."""
        if self.burn_in > 0:
            self.tail_observations.zero_()
            self.tail_episode_starts.fill_(1.0)
            self.tail_state = tuple(s.clone() for s in self._initial_state_fn(self.n_envs))
            self.tail_valid = False
        self.full = False

    def maybe_store_state(self, state: State) -> None:
        """Store ``state`` (the state before the step about to be added) if the mode needs it."""
        if self.burn_in > 0 and self.pos == 0:
            for dst, s in zip(self.start_state, state):
                dst.copy_(s)
        k = self._slot_of.get(self.pos)
        if k is not None:
            for dst, s in zip(self.states, state):
                dst[k].copy_(s)

    def add(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        rewards: np.ndarray,
        episode_starts: np.ndarray,
        values: torch.Tensor,
        log_probs: torch.Tensor,
    ) -> None:
        t = self.pos
        self.observations[t].copy_(obs.reshape(self.n_envs, *self.obs_shape))
        self.actions[t].copy_(actions.reshape(self.n_envs, *self.action_shape))
        self.rewards[t] = rewards
        self.episode_starts[t] = episode_starts
        self.values[t].copy_(values.reshape(self.n_envs))
        self.log_probs[t].copy_(log_probs.reshape(self.n_envs))
        self.pos += 1
        self.full = self.pos == self.n_steps

    def compute_returns_and_advantage(self, last_values: torch.Tensor, dones: np.ndarray) -> None:
        """GAE(lambda) as SB3's RolloutBuffer (numpy on CPU: the loop is over steps, not envs)."""
        values = self.values.cpu().numpy()
        last_values = last_values.detach().cpu().numpy().reshape(self.n_envs)
        last_gae = np.zeros(self.n_envs, dtype=np.float32)
        for t in reversed(range(self.n_steps)):
            if t == self.n_steps - 1:
                non_terminal = 1.0 - dones.astype(np.float32)
                next_values = last_values
            else:
                non_terminal = 1.0 - self.episode_starts[t + 1]
                next_values = values[t + 1]
            delta = self.rewards[t] + self.gamma * next_values * non_terminal - values[t]
            last_gae = delta + self.gamma * self.gae_lambda * non_terminal * last_gae
            self.advantages[t] = last_gae
        self.returns[:] = self.advantages + values

    # ------------------------------------------------------------------ sampling
    @property
    def n_sequences(self) -> int:
        return self.n_chunks * self.n_envs

    def get(
        self, sequences_per_batch: int, generator: torch.Generator | None = None
    ) -> Iterator[SequenceSamples]:
        """Yield shuffled minibatches of ``sequences_per_batch`` sequences covering the rollout once."""
        assert self.full, "the rollout buffer is not full"
        dev = self.device
        n_chunks = self.n_chunks
        as_t = lambda a: torch.as_tensor(a, device=dev)  # noqa: E731
        data = {
            "observations": _seq(self.observations, n_chunks),
            "actions": _seq(self.actions, n_chunks),
            "episode_starts": _seq(as_t(self.episode_starts), n_chunks),
            "old_values": _seq(self.values, n_chunks),
            "old_log_prob": _seq(self.log_probs, n_chunks),
            "advantages": _seq(as_t(self.advantages), n_chunks),
            "returns": _seq(as_t(self.returns), n_chunks),
        }
        if self.mode == "truncated" and self.burn_in > 0:
            first = self.tail_state if self.tail_valid else self.start_state
            states = tuple(
                torch.cat([tail.unsqueeze(0), s[:-1]], 0).reshape(-1, *s.shape[2:])
                for tail, s in zip(first, self.states)
            )
            skip = torch.zeros(n_chunks * self.n_envs, dtype=torch.bool, device=dev)
            skip[: self.n_envs] = not self.tail_valid  # sequence j = chunk * B + env: chunk 0 first
            K, L = self.burn_in, self.bptt_len
            ext_obs = torch.cat([self.tail_observations, self.observations], 0)
            ext_starts = torch.cat([self.tail_episode_starts, as_t(self.episode_starts)], 0)
            # chunk c's burn-in is ext[c*L : c*L + K]
            burn_obs = torch.stack([ext_obs[c * L : c * L + K] for c in range(n_chunks)], 1)
            burn_starts = torch.stack([ext_starts[c * L : c * L + K] for c in range(n_chunks)], 1)
            burn_obs = burn_obs.reshape(K, n_chunks * self.n_envs, *self.obs_shape)
            burn_starts = burn_starts.reshape(K, n_chunks * self.n_envs)
        else:
            states = tuple(s.reshape(-1, *s.shape[2:]) for s in self.states)
            burn_obs = burn_starts = skip = None

        perm = torch.randperm(self.n_sequences, generator=generator).to(dev)
        for i in range(0, self.n_sequences, sequences_per_batch):
            idx = perm[i : i + sequences_per_batch]
            yield SequenceSamples(
                **{k: v[:, idx] for k, v in data.items()},
                states=tuple(s[idx] for s in states),
                burn_in_observations=None if burn_obs is None else burn_obs[:, idx],
                burn_in_episode_starts=None if burn_starts is None else burn_starts[:, idx],
                burn_in_skip=None if skip is None else skip[idx],
            )
