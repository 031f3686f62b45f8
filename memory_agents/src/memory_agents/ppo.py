"""MemoryPPO: PPO (clip) with a recurrent memory core, as a Stable-Baselines3 on-policy algorithm.

The rollout is one batched T=1 forward per step for all envs (on CUDA through
``device_rollout``: one copy each way per step, the step in a CUDA graph where the core allows
it); the update re-runs the core's sequence path on (T, M) tensors per minibatch (no Python
loop over envs). ``recurrent_mode`` chooses how far gradients flow back in time (see
``rollout_buffer``). The recurrent state is carried across rollouts and reset only where an
episode starts.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import FloatSchedule, explained_variance
from stable_baselines3.common.vec_env import VecEnv

from .cores.base import State, horizon_defaults
from .device_rollout import DeviceRollout, check_step_mode
from .policies import MemoryActorCriticPolicy, mean_gate
from .recurrent_modes import RECURRENT_MODES
from .rollout_buffer import MemoryRolloutBuffer, SequenceSamples, pack_episodes
from .validation import (
    MAX_SIZE,
    SB3_SEED_LIMIT,
    check_choice,
    check_float,
    check_int,
    check_kwargs_dict,
    check_schedule,
)
from .vec_env import episode_horizon
from .vec_env import memory_span as env_memory_span

#: Rollout length when n_steps="auto" and the env does not say how long its episodes are.
FALLBACK_N_STEPS = 128
#: batch_size="auto": minibatches of about this many env steps, and at least AUTO_MIN_SEQUENCES sequences.
AUTO_BATCH_STEPS = 4096
AUTO_MIN_SEQUENCES = 16
#: ... and at most this many minibatches per epoch (thousands of envs on a GPU take wide ones).
AUTO_MAX_MINIBATCHES = 8


def auto_sequences_per_batch(n_sequences: int, seq_len: int) -> int:
    """Sequences per minibatch for batch_size="auto": about AUTO_BATCH_STEPS env steps (at least
    AUTO_MIN_SEQUENCES sequences, at most AUTO_MAX_MINIBATCHES minibatches), rounded down to a
    divisor of ``n_sequences`` (so a few more minibatches where n_sequences has no divisor there).

    Why: one minibatch per rollout gives n_epochs gradient steps per rollout, whatever its length;
    with whole-episode rollouts at long horizons that starves learning (DelayedCue delay 400, 64
    envs: one minibatch stayed at 0.52 training success after 1.9M steps at the first curriculum
    stage, four reached 0.8 there by 0.8M). Fixed-size minibatches keep the gradient steps per env
    step closer to constant across horizons; short rollouts (e.g. 64 x 62 steps) stay one
    minibatch. The floor of 16 sequences bounds the update's sequential work: on CPU an update
    costs about (minibatches x T) core steps whatever their width."""
    want = max(AUTO_MIN_SEQUENCES, AUTO_BATCH_STEPS // seq_len, -(-n_sequences // AUTO_MAX_MINIBATCHES))
    if want >= n_sequences:
        return n_sequences
    return max(d for d in range(1, want + 1) if n_sequences % d == 0)


SelfMemoryPPO = TypeVar("SelfMemoryPPO", bound="MemoryPPO")


class MemoryPPO(OnPolicyAlgorithm):
    """Recurrent PPO with a swappable memory core (``policy_kwargs=dict(memory="gru", ...)``).

    Args (besides SB3 PPO's):
        n_steps: rollout length per env, or "auto" (default): the env's horizon (its longest
            episode, ``vec_env.episode_horizon``), so that full BPTT re-runs whole episodes; 128
            when the env does not say. Fixed-length tasks stay aligned, so each rollout is then
            exactly one episode per env. In full mode "auto" follows the env's *live* horizon:
            while a curriculum holds the episodes shorter, the rollouts are too. The core's
            horizon option (``cores.base.horizon_defaults``: GRU / LSTM chrono init, Mamba2 step
            sizes, the transformer's window) follows the task's memory span
            (``vec_env.memory_span``: the horizon unless the task says its answers look back less
            far).
        recurrent_mode: "full" (exact BPTT over the whole rollout, minibatches of whole env
            trajectories), "truncated" (chunks of ``bptt_len`` steps re-run from the state stored
            at each chunk, after ``burn_in`` gradient-free steps), "cached" (one step from the state
            stored at each step: cheapest, approximate).
        bptt_len: chunk length for "truncated" (must divide ``n_steps``; default ``n_steps``).
        burn_in: gradient-free steps re-run before each chunk ("truncated" only; <= bptt_len).
        batch_size: env steps per minibatch (SB3 meaning); must be a whole number of sequences
            ("full": n_steps, "truncated": bptt_len, "cached": 1) that splits the rollout evenly.
            "auto" (default): about 4,096 env steps per minibatch, at least 16 sequences
            (``auto_sequences_per_batch``); None: the whole rollout in one minibatch. On CPU the
            cost of an update grows with the sequential core steps (T) per minibatch more than
            with its width, so short rollouts stay one wide minibatch, with ``n_epochs=8``.
        gate_coef: weight of the mean write gate in the loss, for cores that report a gate.
        memory_span: the span, in steps, that the core's timescales are initialised for (GRU / LSTM
            chrono init, Mamba2 / Pseudo-Mamba step sizes); None (default): the task's
            (``vec_env.memory_span``). A curriculum that starts short can ask for its first stage's
            span: a GRU whose timescales spread up to the final horizon learns the first stage's
            cue far more slowly (README, long horizons: TMazePassive hard).
        staged_rollout: run the rollout step through ``device_rollout.DeviceRollout`` (one packed
            host->device copy and one action copy per step, pinned buffers, the policy step in a
            CUDA graph where the core allows it). None (default): on where the device is CUDA.
            False: the plain step (a tensor made from numpy and one eager forward per step).
        rollout_step: the staged rollout's policy step, one of ``device_rollout.STEP_MODES``:
            "auto" (a CUDA graph on CUDA where the core can be captured, else eager), "graph",
            "compile" (``torch.compile``) or "eager".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MemoryPolicy": MemoryActorCriticPolicy}
    policy: MemoryActorCriticPolicy
    rollout_buffer: MemoryRolloutBuffer  # type: ignore[assignment]

    def __init__(
        self,
        policy: str | type[MemoryActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | str | Schedule = 1e-3,
        n_steps: int | str = "auto",
        batch_size: int | str | None = "auto",
        n_epochs: int = 8,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        target_kl: float | None = None,
        recurrent_mode: str = "full",
        bptt_len: int | None = None,
        burn_in: int = 0,
        gate_coef: float = 0.0,
        memory_span: int | None = None,
        staged_rollout: bool | None = None,
        rollout_step: str = "auto",
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        # What SB3's base class takes unchecked and fails on deep inside (an assert, numpy's seeding,
        # a `.get` of a non-dict): checked first, so the error names the argument.
        learning_rate = check_schedule("learning_rate", learning_rate)
        seed = check_int("seed", seed, 0, SB3_SEED_LIMIT - 1, optional=True)
        policy_kwargs = check_kwargs_dict("policy_kwargs", policy_kwargs)
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=0,
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            use_sde=False,
            sde_sample_freq=-1,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
            supported_action_spaces=(spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
        )
        self.horizon = episode_horizon(self.env) if self.env is not None else None
        if isinstance(n_steps, str):
            if n_steps != "auto":
                raise ValueError(f"n_steps must be an integer >= 1 or 'auto', got {n_steps!r}")
            n_steps = self.horizon or FALLBACK_N_STEPS
            self.follow_horizon = True
        else:
            self.follow_horizon = False
        self.n_steps = n_steps
        self.memory_span = check_int("memory_span", memory_span, 1, optional=True)
        span = self.memory_span or (env_memory_span(self.env) if self.env is not None else None)
        if span:  # e.g. GRU / LSTM chrono init spread up to the task's memory span
            memory_kwargs = check_kwargs_dict("memory_kwargs", self.policy_kwargs.get("memory_kwargs"))
            memory_kwargs.update(
                horizon_defaults(self.policy_kwargs.get("memory", "gru"), span, memory_kwargs)
            )
            self.policy_kwargs = {**self.policy_kwargs, "memory_kwargs": memory_kwargs}
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.clip_range = clip_range
        self.clip_range_vf = clip_range_vf
        self.normalize_advantage = normalize_advantage
        self.target_kl = target_kl
        self.recurrent_mode = recurrent_mode
        self.bptt_len = bptt_len
        self.burn_in = burn_in
        self.gate_coef = gate_coef
        self.staged_rollout = staged_rollout
        self.rollout_step = rollout_step
        self._device_rollout: DeviceRollout | None = None
        self._last_memory_state: State | None = None
        if _init_setup_model:
            self._setup_model()

    # ------------------------------------------------------------------ configuration
    def _check_config(self) -> None:
        """Validate the recurrent/minibatch settings; each error names the parameter and the value."""
        check_choice("recurrent_mode", self.recurrent_mode, RECURRENT_MODES)
        n_steps = check_int("n_steps", self.n_steps, 1, MAX_SIZE)
        check_int("n_epochs", self.n_epochs, 1, MAX_SIZE)
        burn_in = check_int("burn_in", self.burn_in, 0, MAX_SIZE)
        if self.recurrent_mode == "truncated":
            bptt = n_steps if self.bptt_len is None else check_int("bptt_len", self.bptt_len, 1, MAX_SIZE)
            if bptt > n_steps or n_steps % bptt:
                raise ValueError(
                    f"bptt_len must divide n_steps={n_steps} (1 <= bptt_len <= n_steps), got {bptt}"
                )
            if burn_in > bptt:
                raise ValueError(f"burn_in must be in [0, bptt_len={bptt}], got {burn_in}")
            self.bptt_len, seq_len = bptt, bptt
        else:
            if self.bptt_len is not None:
                raise ValueError(
                    f"bptt_len is used only by recurrent_mode='truncated', got bptt_len={self.bptt_len} "
                    f"with recurrent_mode={self.recurrent_mode!r}"
                )
            if burn_in:
                raise ValueError(
                    f"burn_in is used only by recurrent_mode='truncated', got burn_in={self.burn_in}"
                )
            seq_len = n_steps if self.recurrent_mode == "full" else 1
        horizon = getattr(self, "horizon", None)
        if self.recurrent_mode == "full" and horizon and n_steps < horizon and not self._follows_horizon():
            warnings.warn(
                f"n_steps={n_steps} is shorter than the episodes of this env (up to {horizon} steps): full BPTT "
                f"re-runs one rollout, so no gradient reaches from late steps back to a cue seen in an earlier "
                f"rollout and long memories cannot be learned. Use n_steps='auto' (= {horizon}) or more.",
                UserWarning,
                stacklevel=3,
            )
        rollout = n_steps * self.n_envs
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                raise ValueError(
                    f"batch_size must be an integer >= 1, 'auto' or None (whole rollout), got {self.batch_size!r}"
                )
            batch = seq_len * auto_sequences_per_batch(rollout // seq_len, seq_len)
        else:
            batch = (
                rollout if self.batch_size is None else check_int("batch_size", self.batch_size, 1, MAX_SIZE)
            )
        if batch % seq_len or rollout % batch:
            raise ValueError(
                f"batch_size must be a multiple of the sequence length ({seq_len} steps in recurrent_mode="
                f"{self.recurrent_mode!r}) that divides n_steps * n_envs = {rollout}, got {batch}"
            )
        self._sequences_per_batch = batch // seq_len
        self.gate_coef = check_float("gate_coef", self.gate_coef, 0.0)
        self.clip_range = check_schedule("clip_range", self.clip_range)
        self.clip_range_vf = check_schedule("clip_range_vf", self.clip_range_vf, optional=True)
        if self.staged_rollout is not None and not isinstance(self.staged_rollout, (bool, np.bool_)):
            raise TypeError(f"staged_rollout must be True, False or None, got {self.staged_rollout!r}")
        check_step_mode(self.rollout_step)

    def _setup_model(self) -> None:
        self._check_config()
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        )
        if not isinstance(self.policy, MemoryActorCriticPolicy):
            raise ValueError(f"policy must be a MemoryActorCriticPolicy, got {type(self.policy).__name__}")
        self.policy = self.policy.to(self.device)
        self._make_rollout_buffer()
        self._last_memory_state = None
        self.clip_range = FloatSchedule(self.clip_range)
        if self.clip_range_vf is not None:
            self.clip_range_vf = FloatSchedule(self.clip_range_vf)

    def _make_rollout_buffer(self) -> None:
        self.rollout_buffer = MemoryRolloutBuffer(
            self.n_steps,
            self.n_envs,
            self.observation_space,
            self.action_space,
            self.policy.state_shapes(),
            self.policy.initial_state,
            self.device,
            recurrent_mode=self.recurrent_mode,
            bptt_len=self.bptt_len,
            burn_in=self.burn_in,
            gamma=self.gamma,
            gae_lambda=self.gae_lambda,
        )

    def _follows_horizon(self) -> bool:
        """n_steps="auto" in full mode: each rollout spans the env's live horizon."""
        return getattr(self, "follow_horizon", False) and self.recurrent_mode == "full"

    def _follow_live_horizon(self) -> None:
        """Resize the rollout to the env's live horizon (a curriculum stage). Why: a rollout built
        for the target horizon (2,000 steps) while the stage's episodes last 22 updates the policy
        once per 2,000 steps per env, about 100 times too rarely for the stage to be learned."""
        if not self._follows_horizon():
            return
        live = episode_horizon(self.env, live=True)
        if live and live != self.n_steps:
            self.n_steps = live
            self._check_config()
            self._make_rollout_buffer()

    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "_last_memory_state",
            "_sequences_per_batch",
            "horizon",
            "_device_rollout",
        ]

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        envs_reset = reset_num_timesteps or self._last_obs is None
        out = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        if envs_reset or self._last_memory_state is None:
            self._last_memory_state = self.policy.initial_state(self.n_envs)
            self.rollout_buffer.forget_history()
        return out

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        # Same as SB3's, but visits only the envs that finished an episode (the only ones with stats).
        if dones is None:
            return super()._update_info_buffer(infos, dones)
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            if info.get("episode") is not None:
                self.ep_info_buffer.append(info["episode"])
            if info.get("is_success") is not None:
                self.ep_success_buffer.append(info["is_success"])

    # ------------------------------------------------------------------ rollout
    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        assert self._last_obs is not None, "No previous observation was provided"
        if self._follows_horizon():
            self._follow_live_horizon()
            rollout_buffer, n_rollout_steps = self.rollout_buffer, self.n_steps
        buf = self.rollout_buffer
        policy = self.policy
        policy.set_training_mode(False)
        buf.reset()
        callback.on_rollout_start()
        state = self._last_memory_state
        dev = self.device
        box = isinstance(self.action_space, spaces.Box)
        act = self._rollout_stepper()
        for _ in range(n_rollout_steps):
            buf.maybe_store_state(state)
            starts_np = np.asarray(self._last_episode_starts, dtype=np.float32)
            obs_t, actions, values, log_probs, new_state, actions_np = act(self._last_obs, starts_np, state)
            env_actions = (
                np.clip(actions_np, self.action_space.low, self.action_space.high) if box else actions_np
            )

            new_obs, rewards, dones, infos = env.step(env_actions)
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            rewards = self._bootstrap_truncated(
                np.asarray(rewards, dtype=np.float32), dones, infos, new_state
            )
            buf.add(obs_t, actions, rewards, starts_np, values, log_probs)
            self._last_obs = new_obs
            self._last_episode_starts = dones
            state = new_state
            self._last_memory_state = state

        with torch.inference_mode():
            obs_t = torch.as_tensor(new_obs, device=dev).float()
            last_values = policy.predict_values(
                obs_t, state, torch.as_tensor(dones, dtype=torch.float32, device=dev)
            )
        buf.compute_returns_and_advantage(last_values, np.asarray(dones))
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _rollout_stepper(self):
        """The rollout step: ``DeviceRollout.act`` (built once per policy) when staged, else ``_act``."""
        staged = self.device.type == "cuda" if self.staged_rollout is None else bool(self.staged_rollout)
        if not staged:
            return self._act
        stepper = self._device_rollout
        if stepper is None or stepper.policy is not self.policy or stepper.n_envs != self.n_envs:
            stepper = DeviceRollout(
                self.policy, self.n_envs, self.observation_space, self.device, self.rollout_step
            )
            self._device_rollout = stepper
        return stepper.act

    def _act(self, obs: np.ndarray, starts: np.ndarray, state):
        """The plain rollout step: (obs on device, actions, values, log_probs, new state, numpy actions)."""
        with torch.inference_mode():
            obs_t = torch.as_tensor(obs, device=self.device)
            if obs_t.dtype == torch.float64:
                obs_t = obs_t.float()
            starts_t = torch.as_tensor(starts, device=self.device)
            actions, values, log_probs, new_state = self.policy(obs_t, state, starts_t)
        return obs_t, actions, values, log_probs, new_state, actions.cpu().numpy()

    def _bootstrap_truncated(self, rewards: np.ndarray, dones: np.ndarray, infos, state) -> np.ndarray:
        """Add gamma * V(terminal obs) to the reward of episodes cut by a time limit (SB3 issue #633),
        one batched forward from the state after the last step (before the episode's reset)."""
        idx = [
            i
            for i in np.flatnonzero(dones)
            if infos[i].get("TimeLimit.truncated", False) and infos[i].get("terminal_observation") is not None
        ]
        if not idx:
            return rewards
        term_obs = np.stack([np.asarray(infos[i]["terminal_observation"]) for i in idx])
        rows = torch.as_tensor(idx, device=self.device)
        with torch.no_grad():
            values = (
                self.policy.predict_values(
                    torch.as_tensor(term_obs, device=self.device).float(),
                    tuple(s[rows] for s in state),
                    torch.zeros(len(idx), device=self.device),
                )
                .flatten()
                .cpu()
                .numpy()
            )
        rewards = rewards.copy()
        rewards[idx] += self.gamma * values
        return rewards

    # ------------------------------------------------------------------ update
    def train(self) -> None:
        policy = self.policy
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        clip_range_vf = (
            None if self.clip_range_vf is None else self.clip_range_vf(self._current_progress_remaining)
        )

        stats: dict[str, list[torch.Tensor]] = {
            k: [] for k in ("pg", "vf", "ent", "clip", "kl", "gate", "loss")
        }
        continue_training = True
        for epoch in range(self.n_epochs):
            for batch in self.rollout_buffer.get(self._sequences_per_batch):
                loss, batch_stats = self._loss(batch, clip_range, clip_range_vf)
                for key, value in batch_stats.items():
                    stats[key].append(value)
                approx_kl = batch_stats["kl"]
                if self.target_kl is not None and approx_kl.item() > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(
                            f"Early stopping at step {epoch} due to reaching max kl: {approx_kl.item():.2f}"
                        )
                    break
                policy.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
                policy.optimizer.step()
            self._n_updates += 1
            if not continue_training:
                break

        mean = lambda xs: torch.stack(xs).mean().item() if xs else float("nan")  # noqa: E731
        buf = self.rollout_buffer
        self.logger.record("train/entropy_loss", mean(stats["ent"]))
        self.logger.record("train/policy_gradient_loss", mean(stats["pg"]))
        self.logger.record("train/value_loss", mean(stats["vf"]))
        self.logger.record("train/approx_kl", mean(stats["kl"]))
        self.logger.record("train/clip_fraction", mean(stats["clip"]))
        self.logger.record("train/loss", mean(stats["loss"]))
        self.logger.record(
            "train/explained_variance",
            explained_variance(buf.values.cpu().numpy().flatten(), buf.returns.flatten()),
        )
        if stats["gate"]:
            self.logger.record("train/gate_mean", mean(stats["gate"]))
        if hasattr(policy, "log_std"):
            self.logger.record("train/std", torch.exp(policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)

    def _loss(
        self, batch: SequenceSamples, clip_range: float, clip_range_vf: float | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """PPO-clip loss of one minibatch of sequences (re-run from their stored states) and its stats."""
        policy = self.policy
        state = batch.states
        if batch.burn_in_observations is not None:
            with torch.no_grad():
                advanced = policy.advance_state(
                    batch.burn_in_observations, state, batch.burn_in_episode_starts
                )
            skip = batch.burn_in_skip
            state = tuple(
                torch.where(skip.view(-1, *([1] * (s.dim() - 1))), s, a) for s, a in zip(state, advanced)
            )
        batch, state = pack_episodes(batch, state)
        values, log_prob, entropy, readings = policy.evaluate_actions(
            batch.observations, batch.actions, state, batch.episode_starts, return_readings=True
        )
        gate = mean_gate(readings, batch.mask)
        mask = None if batch.mask is None else batch.mask.flatten()
        if mask is None:
            mean = torch.mean
        else:
            count = mask.sum()

            def mean(x: torch.Tensor) -> torch.Tensor:
                return torch.where(mask, x, 0.0).sum() / count

        advantages = batch.advantages.flatten()
        if self.normalize_advantage and advantages.numel() > 1:
            adv_mean = mean(advantages)
            n = advantages.numel() if mask is None else count
            adv_std = (mean((advantages - adv_mean) ** 2) * n / (n - 1)).sqrt()
            advantages = (advantages - adv_mean) / (adv_std + 1e-8)
        log_ratio = log_prob - batch.old_log_prob.flatten()
        ratio = torch.exp(log_ratio)
        pg_loss = -mean(
            torch.min(advantages * ratio, advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range))
        )
        if clip_range_vf is not None:
            old_values = batch.old_values.flatten()
            values = old_values + torch.clamp(values - old_values, -clip_range_vf, clip_range_vf)
        value_loss = mean((batch.returns.flatten() - values) ** 2)
        # No analytic entropy (e.g. squashed Gaussian): -E[log p] estimates it.
        entropy_loss = mean(log_prob) if entropy is None else -mean(entropy)
        loss = pg_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        stats = {}
        if gate is not None:
            loss = loss + self.gate_coef * gate
            stats["gate"] = gate.detach()
        with torch.no_grad():
            stats.update(
                pg=pg_loss.detach(),
                vf=value_loss.detach(),
                ent=entropy_loss.detach(),
                clip=mean(((ratio - 1).abs() > clip_range).float()),
                kl=mean((ratio - 1) - log_ratio),
                loss=loss.detach(),
            )
        return loss, stats

    def learn(
        self: SelfMemoryPPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "MemoryPPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMemoryPPO:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
