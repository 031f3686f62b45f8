"""Trial-replay DQN: off-policy Q-learning over whole trials with any memory core.

Ordinary transition replay breaks recurrent Q-networks (no state, no temporal order), so this
algorithm replays complete trials (``TrialReplayBuffer``) as sequences:

- **Collection**: one memory state per env, carried across trials within an episode and reset
  only at episode starts; epsilon-greedy on the online network's Q-values.
- **Replay start**: each sampled trial starts from the memory state the agent had at the
  trial's start (``replay_start_state="stored"``) or from a fresh initial state (``"zero"``);
  with ``burn_in > 0`` up to that many earlier steps of the same episode are first replayed
  without gradient to refresh the (stale) stored state.
- **Targets** (double DQN, on the same replayed sequence): the online and the target network
  both run over the trial's ``L + 1`` observations; for step ``t`` the target is
  ``r_t + gamma * bootstrap_t * Q_target(o_{t+1}, argmax_a Q_online(o_{t+1}, a))`` where
  ``o_{t+1}`` is step ``t + 1`` of that same sequence. The last step's ``o_{L}`` is the stored
  observation that followed the trial (the next trial's first observation, with the memory
  carried through the trial). ``bootstrap = 0`` on the last step of a trial that ended the
  episode by termination (a time-limit truncation still bootstraps, as in SB3) and, unless
  ``bootstrap_across_trials=True``, on the last step of every trial that reached its end: each
  trial is then valued on its own rewards (see ``TrialReplayDQN``'s argument for why).
- **Loss**: Huber over real (unpadded) steps, gradient-norm clipping, Adam. Truncated BPTT:
  ``bptt_chunk_size=k`` runs the online network in chunks of k steps, carrying the state
  but detaching it between chunks; ``None`` backpropagates through the whole trial.
- **Target network**: every ``target_update_interval`` gradient steps,
  ``target <- tau * online + (1 - tau) * target`` (``tau=1``: hard copy; ``tau<1``: Polyak).
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import load_from_pkl, save_to_pkl
from stable_baselines3.common.type_aliases import MaybeCallback, Schedule
from stable_baselines3.common.utils import LinearSchedule, polyak_update, safe_mean
from torch import nn
from torch.nn import functional as F

from .cores import make_core
from .cores.base import MAX_SIZE, Readings, State, check_kwargs_dict, check_positive_int, readings_to_numpy
from .trial_buffer import TrialBatch, TrialReplayBuffer
from .validation import SB3_SEED_LIMIT, check_float, check_int, check_schedule

SelfTrialReplayDQN = TypeVar("SelfTrialReplayDQN", bound="TrialReplayDQN")

#: Core arguments TrialReplayDQN's Q-network uses unless ``memory_kwargs`` says otherwise.
#: MPN: the MPN work's modulation bound (M in [-1, 1], so a synapse's gain 1 + M stays in [0, 2]).
#: Unbounded, M grows with every write of the stimulus periods: the gains drift far from 1 and the
#: plastic-bias trace saturates the read-out, so weak evidence summed over a noisy stimulus is lost
#: (README, "Trial-replay DQN").
CORE_DEFAULTS: dict[str, dict[str, Any]] = {"mpn": {"m_bound": 1.0}}


def _check_sb3_args(learning_rate, seed, stats_window_size, policy_kwargs) -> tuple:
    """Arguments SB3's base class takes unchecked and fails on deep inside (an assert, numpy's seed
    error, a ``**`` of a non-mapping): checked first, so the error names them; returned as SB3 wants them."""
    learning_rate = check_schedule("learning_rate", learning_rate)
    seed = check_int("seed", seed, 0, SB3_SEED_LIMIT - 1, optional=True)
    stats_window_size = check_positive_int("stats_window_size", stats_window_size, 1, MAX_SIZE)
    return learning_rate, seed, stats_window_size, check_kwargs_dict("policy_kwargs", policy_kwargs)


class MemoryQNetwork(nn.Module):
    """Q(o_1..o_t, a): a memory core over the (flattened) observations and a linear head.

    Cores see the observation as it is. An MPN reads its Hebbian matrix only through its
    input, so on an all-zero observation (NeuroGym decision periods) it needs a constant input
    to recall anything: that is the MPN core's own ``plastic_bias`` (default on), not added here.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        memory: str = "mpn",
        memory_kwargs: dict | None = None,
        hidden_dim: int = 128,
    ):
        super().__init__()
        self.core = make_core(memory, obs_dim, hidden_dim, **(memory_kwargs or {}))
        self.head = nn.Linear(hidden_dim, n_actions)

    def initial_state(self, batch_size: int, device=None) -> State:
        return self.core.initial_state(batch_size, device=device)

    def forward(
        self,
        obs: torch.Tensor,
        state: State | None = None,
        episode_starts: torch.Tensor | None = None,
        return_readings: bool = False,
    ) -> tuple[torch.Tensor, State] | tuple[torch.Tensor, State, Readings]:
        """obs (T, B, obs_dim) -> Q-values (T, B, n_actions) and the final state (and, with
        ``return_readings=True``, the core's readings of this call: ``cores.base``).

        Observations are cast to the core's dtype and its output to the head's, so a float64
        network (``policy.double()``) runs in float64 end to end."""
        y, state, *readings = self.core(
            obs.flatten(2).to(self._core_dtype()), state, episode_starts, return_readings=return_readings
        )
        return self.head(y.to(self.head.weight.dtype)), state, *readings

    def _core_dtype(self) -> torch.dtype:
        ref = self.core._param_like()
        return ref.dtype if ref is not None and ref.is_floating_point() else torch.get_default_dtype()


class MemoryQPolicy(BasePolicy):
    """SB3 policy holding the online and target ``MemoryQNetwork`` and the optimizer.

    Args (through ``policy_kwargs``):
        memory: core name for ``make_core`` (default "mpn").
        memory_kwargs: extra core arguments, on top of ``CORE_DEFAULTS`` (MPN: the core's eta=1.0,
            lambda_=0.95, and m_bound=1.0).
        hidden_dim: core output size (default 128).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        memory: str = "mpn",
        memory_kwargs: dict | None = None,
        hidden_dim: int = 128,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ):
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(
                f"action_space must be gymnasium.spaces.Discrete for TrialReplayDQN, got {action_space}"
            )
        if not isinstance(observation_space, spaces.Box):
            raise ValueError(
                f"observation_space must be gymnasium.spaces.Box for TrialReplayDQN, got {observation_space}"
            )
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=False,
        )
        self.memory = memory
        self.memory_kwargs = {
            **(CORE_DEFAULTS.get(memory, {}) if isinstance(memory, str) else {}),  # make_core names a bad one
            **check_kwargs_dict("memory_kwargs", memory_kwargs),
        }
        self.hidden_dim = hidden_dim
        obs_dim = int(np.prod(observation_space.shape))
        n_actions = int(action_space.n)
        net_args = (obs_dim, n_actions, memory, self.memory_kwargs, hidden_dim)
        self.q_net = MemoryQNetwork(*net_args)
        self.q_net_target = MemoryQNetwork(*net_args)
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.q_net_target.requires_grad_(False)
        self.q_net_target.train(False)
        self.optimizer = self.optimizer_class(
            self.q_net.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            memory=self.memory,
            memory_kwargs=self.memory_kwargs,
            hidden_dim=self.hidden_dim,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    def initial_state(self, batch_size: int) -> State:
        return self.q_net.initial_state(batch_size, device=self.device)

    def forward(
        self, obs: torch.Tensor, state: State | None = None, episode_starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        return self.q_net(obs, state, episode_starts)

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Greedy actions for one step from the *initial* memory state (stateless use)."""
        q, _ = self.q_net(observation.unsqueeze(0))
        return q[0].argmax(dim=-1)

    def reset_state(self, state: State, mask: torch.Tensor) -> State:
        """``state`` with the rows where ``mask`` (n,) is true back at the initial state."""
        return self.q_net.core.reset_state(state, mask)

    def step(
        self, obs: torch.Tensor, state: State, episode_starts: torch.Tensor, return_readings: bool = False
    ) -> tuple[torch.Tensor, State] | tuple[torch.Tensor, State, Readings]:
        """One step for n rows: reset rows starting an episode, return Q (n, A) and the new state
        (and the core's readings with ``return_readings=True``)."""
        q, state, *readings = self.q_net(
            obs.unsqueeze(0), state, episode_starts.unsqueeze(0), return_readings=return_readings
        )
        return q[0], state, *readings

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        return_readings: bool = False,
    ) -> (
        tuple[np.ndarray, tuple[np.ndarray, ...]]
        | tuple[np.ndarray, tuple[np.ndarray, ...], tuple[dict, ...]]
    ):
        """Greedy actions with the memory state carried as numpy arrays (batch first), like RecurrentPPO;
        ``return_readings=True`` adds the step's core readings as numpy arrays (one dict, as a tuple)."""
        obs_t, vectorized = self.obs_to_tensor(observation)
        obs_t = obs_t.reshape(obs_t.shape[0], -1)
        n = obs_t.shape[0]
        if state is None:
            state_t = self.initial_state(n)
            episode_start = np.ones(n, dtype=bool)
        else:
            state_t = tuple(torch.as_tensor(np.asarray(s), device=self.device) for s in state)
        if episode_start is None:
            episode_start = np.zeros(n, dtype=bool)
        starts = torch.as_tensor(np.asarray(episode_start, dtype=bool).reshape(n), device=self.device)
        with torch.no_grad():
            q, state_t, *readings = self.step(obs_t, state_t, starts, return_readings)
        actions = q.argmax(dim=-1).cpu().numpy()
        new_state = tuple(s.cpu().numpy() for s in state_t)
        if not vectorized:
            actions = actions.squeeze(axis=0)
        return (actions, new_state, readings_to_numpy(readings)) if return_readings else (actions, new_state)


def q_sequence(
    net: MemoryQNetwork, obs: torch.Tensor, state: State, chunk_size: int | None = None
) -> tuple[torch.Tensor, State, list[torch.Tensor]]:
    """Run ``net`` over obs (T, B, D) from ``state`` in chunks of ``chunk_size`` steps.

    The state is carried across chunks but detached, so gradients stop at chunk borders
    (truncated BPTT); ``None`` = one chunk (full BPTT). Returns Q (T, B, A), the final state
    and the list of per-chunk write gates (the core's ``"gate"`` reading) where the core has one.
    """
    T = obs.shape[0]
    k = T if chunk_size is None else chunk_size
    qs, gates = [], []
    for t0 in range(0, T, k):
        if t0 > 0:
            state = tuple(s.detach() for s in state)
        q, state, readings = net(obs[t0 : t0 + k], state, return_readings=True)
        qs.append(q)
        if "gate" in readings:
            gates.append(readings["gate"])
    return torch.cat(qs, dim=0), state, gates


def burn_in(
    net: MemoryQNetwork, prefix_obs: torch.Tensor, prefix_lengths: torch.Tensor, state: State
) -> State:
    """Advance each row's state over its own (left-padded) prefix, without gradient.

    ``prefix_obs`` is (P, B, D) with row b's real prefix in the last ``prefix_lengths[b]``
    steps; padded steps leave that row's state untouched.
    """
    P, B = prefix_obs.shape[:2]
    with torch.no_grad():
        for t in range(P):
            _, new = net(prefix_obs[t : t + 1], state)
            active = prefix_lengths >= P - t
            state = tuple(
                torch.where(active.view(B, *([1] * (n.dim() - 1))), n, s) for n, s in zip(new, state)
            )
    return state


def double_q_targets(
    q_online_next: torch.Tensor,
    q_target_next: torch.Tensor,
    rewards: torch.Tensor,
    bootstrap: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """Double-DQN targets ``r + gamma * bootstrap * Q_target(s', argmax_a Q_online(s', a))``."""
    best = q_online_next.argmax(dim=-1, keepdim=True)
    next_value = q_target_next.gather(-1, best).squeeze(-1)
    return rewards + gamma * bootstrap * next_value


def evaluate_trial_accuracy(
    model,
    env: gym.Env,
    n_trials: int = 200,
    seed: int | None = None,
    deterministic: bool = True,
    max_steps: int | None = None,
) -> float:
    """Fraction of ``info["trial_correct"]`` over the next ``n_trials`` trials of a single ``env``.

    ``model.predict(obs, state, episode_start)`` carries the memory across trials and resets it
    at episode starts only, as during training; works for any SB3-style recurrent model.
    ``max_steps`` (default ``1000 * n_trials``) caps the env steps: an env that reports fewer
    trials (MemoryGym tasks report none; score them by episode success) raises a ValueError
    instead of running forever.
    """
    n_trials = check_positive_int("n_trials", n_trials, 1)
    max_steps = 1000 * n_trials if max_steps is None else check_positive_int("max_steps", max_steps, 1)
    obs, _ = env.reset(seed=seed)
    state, start, correct = None, np.ones(1, dtype=bool), []
    for _ in range(max_steps):
        action, state = model.predict(np.asarray(obs)[None], state, start, deterministic=deterministic)
        obs, _, terminated, truncated, info = env.step(int(np.asarray(action).reshape(-1)[0]))
        start = np.array([terminated or truncated])
        if "trial_correct" in info:
            correct.append(float(info["trial_correct"]))
            if len(correct) == n_trials:
                return float(np.mean(correct))
        if terminated or truncated:
            obs, _ = env.reset()
    raise ValueError(
        f"evaluate_trial_accuracy: {len(correct)} of n_trials={n_trials} trials reported "
        f"info['trial_correct'] within max_steps={max_steps} steps of {env}; it needs an env that "
        f"scores trials (e.g. a NeuroGym task through memory_gym_envs.neurogym), or a larger max_steps"
    )


class TrialReplayDQN(BaseAlgorithm):
    """Deep Q-learning over replayed whole trials with a memory core (see module docstring).

    Units: ``buffer_size``, ``batch_size``, ``learning_starts`` and ``train_freq`` count
    *trials*; ``target_update_interval`` counts gradient steps; ``total_timesteps`` (in
    ``learn``) counts env steps, as in SB3.

    Args:
        policy: "MemoryQPolicy" or a ``MemoryQPolicy`` subclass.
        env: a gymnasium env, an SB3 VecEnv (several envs are collected in parallel) or an id.
        learning_rate: Adam learning rate (float or SB3 schedule). Default 3e-3: at 1e-3 the MPN core
            learns NeuroGym tasks far more slowly (README, "Trial-replay DQN").
        buffer_size: replay capacity in trials (oldest whole trial evicted first).
        learning_starts: trials to collect before the first gradient step.
        batch_size: trials per gradient step. Default 32: with 4, the greedy policy swings from
            one evaluation to the next; a batch of 32 short trials costs little more time than 4
            (the step loop, not the batch, dominates).
        tau: target update coefficient (1 = hard copy).
        gamma: discount.
        train_freq: completed trials (summed over envs) per training call.
        gradient_steps: gradient steps per training call (so ``gradient_steps / train_freq`` per trial).
        target_update_interval: gradient steps between target updates.
        exploration_fraction / exploration_initial_eps / exploration_final_eps: linear epsilon
            schedule over that fraction of ``total_timesteps``.
        max_grad_norm: gradient-norm clipping.
        bptt_chunk_size: truncated-BPTT chunk length in steps, or None for full BPTT.
        burn_in: same-episode steps replayed without gradient before each trial (0 = none).
        replay_start_state: "stored" (state the agent had at the trial start) or "zero".
        gate_coef: weight of the write-gate sparsity penalty for cores that expose a gate.
        bootstrap_across_trials: whether a trial's last step bootstraps from the next trial.
            Default False: the target stops at each trial's end (a trial cut by truncation still
            bootstraps), so Q is the trial's own return. In NeuroGym the next trial does not
            depend on the action, so bootstrapping across trials only adds the value of the rest
            of the episode, which target updates carry back one step at a time: over the
            default budget Q kept climbing, the memory had to count trials left to predict it,
            and greedy accuracy fell as it rose (README, "Trial-replay DQN"). True: the whole
            episode's return, for tasks whose trials do depend on earlier actions.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MemoryQPolicy": MemoryQPolicy}
    policy: MemoryQPolicy

    def __init__(
        self,
        policy: str | type[MemoryQPolicy] = "MemoryQPolicy",
        env=None,
        learning_rate: float | str | Schedule = 3e-3,
        buffer_size: int = 500,
        learning_starts: int = 10,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int = 1,
        gradient_steps: int = 1,
        target_update_interval: int = 50,
        exploration_fraction: float = 0.5,
        exploration_initial_eps: float = 0.3,
        exploration_final_eps: float = 0.02,
        max_grad_norm: float = 10.0,
        bptt_chunk_size: int | None = None,
        burn_in: int = 0,
        replay_start_state: str = "stored",
        gate_coef: float = 0.0,
        bootstrap_across_trials: bool = False,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        learning_rate, seed, stats_window_size, policy_kwargs = _check_sb3_args(
            learning_rate, seed, stats_window_size, policy_kwargs
        )
        super().__init__(
            policy,
            env,
            learning_rate,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Discrete,),
        )
        self.buffer_size = check_positive_int("buffer_size", buffer_size, 1, MAX_SIZE)
        self.learning_starts = check_positive_int("learning_starts", learning_starts, 0)
        self.batch_size = check_positive_int("batch_size", batch_size, 1)
        self.tau = check_float("tau", tau, 0.0, 1.0, low_open=True)
        self.gamma = check_float("gamma", gamma, 0.0, 1.0)
        self.train_freq = check_positive_int("train_freq", train_freq, 1)
        self.gradient_steps = check_positive_int("gradient_steps", gradient_steps, 0)
        self.target_update_interval = check_positive_int("target_update_interval", target_update_interval, 1)
        self.exploration_fraction = check_float(
            "exploration_fraction", exploration_fraction, 0.0, 1.0, low_open=True
        )
        self.exploration_initial_eps = check_float(
            "exploration_initial_eps", exploration_initial_eps, 0.0, 1.0
        )
        self.exploration_final_eps = check_float("exploration_final_eps", exploration_final_eps, 0.0, 1.0)
        self.max_grad_norm = check_float("max_grad_norm", max_grad_norm, 0.0, low_open=True)
        self.bptt_chunk_size = (
            None if bptt_chunk_size is None else check_positive_int("bptt_chunk_size", bptt_chunk_size, 1)
        )
        self.burn_in = check_positive_int("burn_in", burn_in, 0, MAX_SIZE)
        if not isinstance(replay_start_state, str) or replay_start_state not in ("stored", "zero"):
            raise ValueError(f"replay_start_state must be 'stored' or 'zero', got {replay_start_state!r}")
        self.replay_start_state = replay_start_state
        self.gate_coef = check_float("gate_coef", gate_coef, 0.0)
        if not isinstance(bootstrap_across_trials, bool):
            raise TypeError(f"bootstrap_across_trials must be True or False, got {bootstrap_across_trials!r}")
        self.bootstrap_across_trials = bootstrap_across_trials
        self.exploration_rate = self.exploration_initial_eps
        self.replay_buffer: TrialReplayBuffer | None = None
        self.trial_correct_buffer: deque = deque(maxlen=stats_window_size)
        self._collect_state: State | None = None
        self._trials_since_train = 0
        self._num_trials = 0
        if _init_setup_model:
            self._setup_model()

    # ------------------------------------------------------------------ setup
    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        self.exploration_schedule = LinearSchedule(
            self.exploration_initial_eps, self.exploration_final_eps, self.exploration_fraction
        )
        n_envs = self.n_envs if self.env is not None else 1
        self.replay_buffer = TrialReplayBuffer(
            self.buffer_size, n_envs=n_envs, burn_in=self.burn_in, seed=self.seed
        )
        self._collect_state = None
        self.trial_correct_buffer = deque(maxlen=self._stats_window_size)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_collect_state", "trial_correct_buffer"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.optimizer"], []

    # ------------------------------------------------------------------ acting
    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Actions and the next memory state; ``deterministic=False`` is epsilon-greedy at the current epsilon.

        The state always advances, also on exploratory steps, so the memory stays in step with the env.
        """
        actions, state = self.policy.predict(observation, state, episode_start, deterministic)
        if not deterministic and self.exploration_rate > 0:
            flat = np.atleast_1d(actions)
            explore = np.random.rand(flat.shape[0]) < self.exploration_rate
            random_actions = np.random.randint(self.action_space.n, size=flat.shape[0])
            flat = np.where(explore, random_actions, flat)
            actions = flat.reshape(np.shape(actions))
        return actions, state

    # ------------------------------------------------------------------ learning
    def replay_q(self, batch: TrialBatch) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Online Q over the batch's full replay sequences (T = Lmax + 1) with the configured
        start state, burn-in and BPTT chunks; also the target-network Q (no gradient)."""
        B = batch.obs.shape[1]
        online, target = self.policy.q_net, self.policy.q_net_target
        if self.replay_start_state == "stored":
            state0 = batch.prefix_state
        else:
            state0 = online.initial_state(B, device=batch.obs.device)
        s_online = burn_in(online, batch.prefix_obs, batch.prefix_lengths, state0)
        q, _, gates = q_sequence(online, batch.obs, s_online, self.bptt_chunk_size)
        with torch.no_grad():
            s_target = burn_in(target, batch.prefix_obs, batch.prefix_lengths, state0)
            q_target, _ = target(batch.obs, s_target)
        return q, q_target, gates

    def td_targets(self, batch: TrialBatch, q_online: torch.Tensor, q_target: torch.Tensor) -> torch.Tensor:
        """Targets (Lmax, B) for steps 0..Lmax-1 from Q over the same sequence's steps 1..Lmax."""
        bootstrap = (
            batch.bootstrap if self.bootstrap_across_trials else batch.bootstrap * (1.0 - batch.trial_end)
        )
        return double_q_targets(q_online[1:].detach(), q_target[1:], batch.rewards, bootstrap, self.gamma)

    def trial_loss(self, batch: TrialBatch) -> tuple[torch.Tensor, dict[str, float]]:
        """Masked Huber TD loss of one batch of trials (plus the gate penalty if configured)."""
        q, q_target, gates = self.replay_q(batch)
        targets = self.td_targets(batch, q, q_target)
        q_taken = q[:-1].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
        per_step = F.smooth_l1_loss(q_taken, targets, reduction="none")
        n_valid = batch.mask.sum().clamp_min(1.0)
        loss = (per_step * batch.mask).sum() / n_valid
        stats = {"q_mean": float((q_taken.detach() * batch.mask).sum() / n_valid)}
        if self.gate_coef > 0 and gates:
            gate = torch.cat([g.flatten() for g in gates]).mean()
            loss = loss + self.gate_coef * gate
            stats["gate_mean"] = float(gate.detach())
        return loss, stats

    def train(self, gradient_steps: int, batch_size: int) -> None:
        """``gradient_steps`` updates on batches of ``batch_size`` replayed trials."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses, q_means = [], []
        for _ in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, device=self.device)
            loss, stats = self.trial_loss(batch)
            self.policy.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.policy.q_net.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            self._n_updates += 1
            losses.append(loss.item())
            q_means.append(stats["q_mean"])
            if self._n_updates % self.target_update_interval == 0:
                self.update_target()
        self.policy.set_training_mode(False)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))
        self.logger.record("train/q_mean", float(np.mean(q_means)))

    def update_target(self) -> None:
        """``target <- tau * online + (1 - tau) * target`` over parameters; buffers are copied."""
        online, target = self.policy.q_net, self.policy.q_net_target
        polyak_update(online.parameters(), target.parameters(), self.tau)
        for b_online, b_target in zip(online.buffers(), target.buffers()):
            b_target.copy_(b_online)

    def learn(
        self: SelfTrialReplayDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "TrialReplayDQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfTrialReplayDQN:
        """Collect with epsilon-greedy, store complete trials, train every ``train_freq`` trials.

        ``log_interval`` counts episodes (summed over envs) between log dumps.
        """
        envs_reset = reset_num_timesteps or self._last_obs is None  # _setup_learn resets the env then
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        assert self.env is not None and self.replay_buffer is not None
        n = self.env.num_envs
        if self.replay_buffer.n_envs != n:
            self.replay_buffer = TrialReplayBuffer(
                self.buffer_size, n_envs=n, burn_in=self.burn_in, seed=self.seed
            )
        if envs_reset or self._collect_state is None:
            self.replay_buffer.reset_streams()
            self._collect_state = self.policy.initial_state(n)
            self._last_episode_starts = np.ones(n, dtype=bool)
        callback.on_training_start(locals(), globals())
        callback.on_rollout_start()
        last_dump_episode = self._episode_num
        self.policy.set_training_mode(False)
        while self.num_timesteps < total_timesteps:
            obs, actions, state_before, state_after = self._act()
            new_obs, rewards, dones, infos = self.env.step(actions)
            self.num_timesteps += n
            # The env has taken the step: commit all of it before a callback can stop learning,
            # so a later learn(reset_num_timesteps=False) continues exactly where the env is.
            self._commit_step(obs, actions, new_obs, rewards, dones, infos, state_before, state_after)
            callback.update_locals(locals())
            if not callback.on_step():
                break
            self._maybe_train(callback)
            if log_interval and self._episode_num - last_dump_episode >= log_interval:
                last_dump_episode = self._episode_num
                self.dump_logs()
        callback.on_rollout_end()
        callback.on_training_end()
        return self

    def _act(self) -> tuple[np.ndarray, np.ndarray, State, State]:
        """Epsilon-greedy actions of every env from the committed memory state.

        Returns (observations acted on, actions, state before them (episode starts reset), state
        after them); commits nothing, so the step exists only once ``_commit_step`` has run.
        """
        n = self.env.num_envs
        obs = np.asarray(self._last_obs)
        obs_t = torch.as_tensor(obs, device=self.device).float().reshape(n, -1)
        starts = torch.as_tensor(self._last_episode_starts, device=self.device)
        with torch.no_grad():
            state_before = self.policy.reset_state(self._collect_state, starts)
            q, state_after = self.policy.step(obs_t, state_before, torch.zeros_like(starts))
        actions = q.argmax(dim=-1).cpu().numpy()
        explore = np.random.rand(n) < self.exploration_rate
        actions = np.where(explore, np.random.randint(self.action_space.n, size=n), actions)
        return obs, actions, state_before, state_after

    def _commit_step(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        new_obs,
        rewards,
        dones,
        infos,
        state_before: State,
        state_after: State,
    ) -> None:
        """Record a step the env took: episode stats, trial outcomes, the replay buffer, and the
        observation, episode-start flags and memory state the next step starts from."""
        n = len(dones)
        self._update_info_buffer(infos, dones)
        next_obs = np.array(new_obs, copy=True)
        terminated = np.zeros(n, dtype=bool)
        trial_ends = np.zeros(n, dtype=bool)
        for i, info in enumerate(infos):
            trial_ends[i] = bool(info.get("new_trial", False))
            if "trial_correct" in info:
                self.trial_correct_buffer.append(float(info["trial_correct"]))
            if dones[i]:
                terminated[i] = not info.get("TimeLimit.truncated", False)
                if "terminal_observation" in info:
                    next_obs[i] = info["terminal_observation"]
        completed = self.replay_buffer.add(
            obs, actions, rewards, next_obs, dones, terminated, trial_ends, state_before
        )
        self._num_trials += len(completed)
        self._trials_since_train += len(completed)
        self._episode_num += int(np.sum(dones))
        self._last_obs = new_obs
        self._last_episode_starts = np.asarray(dones, dtype=bool)
        self._collect_state = state_after
        self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
        self.exploration_rate = self.exploration_schedule(self._current_progress_remaining)

    def _maybe_train(self, callback) -> None:
        """``gradient_steps`` updates per ``train_freq`` completed trials, once ``learning_starts`` trials are stored."""
        if self.gradient_steps > 0 and len(self.replay_buffer) >= max(self.learning_starts, 1):
            calls = self._trials_since_train // self.train_freq  # several envs can end trials in one step
            if calls:
                callback.on_rollout_end()
                self.train(self.gradient_steps * calls, self.batch_size)
                self._trials_since_train -= calls * self.train_freq
                callback.on_rollout_start()
        else:
            self._trials_since_train = 0  # trials collected before learning starts earn no gradient steps

    # ------------------------------------------------------------------ replay buffer on disk
    def save_replay_buffer(self, path) -> None:
        """Pickle the replay buffer (stored trials and sampling RNG), as SB3's off-policy algorithms do;
        ``save`` leaves it out, so a resumed run that should not refill it loads it back."""
        save_to_pkl(path, self.replay_buffer, self.verbose)

    def load_replay_buffer(self, path) -> None:
        """Load a replay buffer written by ``save_replay_buffer`` (partly written trials are dropped at
        the next ``learn``, which starts from a reset env)."""
        buffer = load_from_pkl(path, self.verbose)
        if not isinstance(buffer, TrialReplayBuffer):
            raise ValueError(f"{str(path)!r} holds a {type(buffer).__name__}, not a TrialReplayBuffer")
        self.replay_buffer = buffer

    def dump_logs(self) -> None:
        """Write rollout/time statistics (trial accuracy, epsilon, episode reward, success) to the SB3 logger."""
        time_elapsed = max((time.time_ns() - self.start_time) / 1e9, sys.float_info.epsilon)
        fps = int((self.num_timesteps - self._num_timesteps_at_start) / time_elapsed)
        self.logger.record("time/episodes", self._episode_num, exclude="tensorboard")
        self.logger.record("time/trials", self._num_trials, exclude="tensorboard")
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        if self.ep_success_buffer:
            self.logger.record("rollout/success_rate", safe_mean(self.ep_success_buffer))
        if self.trial_correct_buffer:
            self.logger.record("rollout/trial_accuracy", safe_mean(self.trial_correct_buffer))
        self.logger.record("rollout/exploration_rate", self.exploration_rate)
        self.logger.record("time/fps", fps)
        self.logger.record("time/time_elapsed", int(time_elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(step=self.num_timesteps)
