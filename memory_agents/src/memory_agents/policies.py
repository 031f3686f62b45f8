"""Recurrent actor-critic policy for Stable-Baselines3 with a swappable memory core.

features extractor -> memory core(s) -> MlpExtractor -> action / value heads. Everything runs
on (T, B, ...) sequences: T=1 is the rollout step, longer T the training re-run, so rollout and
update share one code path. The recurrent state is a flat tuple of batch-first tensors: the
actor core's tensors, then (with ``shared_memory=False``) the critic core's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, MlpExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from .cores import MemoryCore, Readings, State, make_core, readings_to_numpy, registered_cores
from .validation import MAX_SIZE, check_int, check_kwargs_dict, is_int

#: Memory name for a memoryless (feed-forward) trunk: the baseline every memory task must defeat.
MEMORYLESS = "mlp"


class FeedForwardCore(MemoryCore):
    """Stateless trunk (Linear + Tanh) behind the core contract: the memoryless baseline."""

    def __init__(self, input_dim: int, hidden_dim: int):
        super().__init__(input_dim, hidden_dim)
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Tanh())

    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        return ()

    def _forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        return self.net(x), ()


def check_net_arch(net_arch):
    """SB3's ``net_arch`` forms (a list of layer sizes, or {"pi": [...], "vf": [...]}), checked, so a
    bad one is named here instead of failing inside torch."""

    def sizes(value) -> bool:
        return isinstance(value, (list, tuple)) and all(is_int(n) and 1 <= n <= MAX_SIZE for n in value)

    ok = sizes(net_arch) or (
        isinstance(net_arch, dict)
        and set(net_arch) <= {"pi", "vf"}
        and all(sizes(v) for v in net_arch.values())
    )
    if not ok:
        raise ValueError(
            f"net_arch must be a list of layer sizes >= 1 or a dict {{'pi': [...], 'vf': [...]}} of "
            f"them, got {net_arch!r}"
        )
    return net_arch


def mean_gate(readings: Sequence[Readings], mask: torch.Tensor | None = None) -> torch.Tensor | None:
    """Mean write gate over the cores whose ``readings`` (one dict per core, as ``forward_latent``
    returns them) report one, differentiable; ``mask`` (T, B) bool keeps only those steps (e.g.
    not the padding of packed episodes). None when no core reports a gate."""

    def mean(g: torch.Tensor) -> torch.Tensor:
        if mask is None:
            return g.mean()
        m = mask.reshape(*mask.shape, *([1] * (g.dim() - 2))).expand_as(g)
        return torch.where(m, g, 0.0).sum() / m.sum()

    gates = [mean(r["gate"]) for r in readings if "gate" in r]
    if not gates:
        return None
    return gates[0] if len(gates) == 1 else torch.stack(gates).mean()


def memory_names() -> tuple[str, ...]:
    """Valid values of ``policy_kwargs["memory"]``: every registered core plus ``"mlp"`` (no memory)."""
    return (*registered_cores(), MEMORYLESS)


class MemoryActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic policy whose trunk is a memory core (``memory=`` any registered core name).

    Args (besides SB3's ActorCriticPolicy ones):
        memory: core name (``memory_names()``); ``"mlp"`` gives a memoryless baseline.
        memory_kwargs: extra keyword arguments of the core (e.g. ``num_layers``).
        hidden_dim: core output size H (input of the MlpExtractor).
        shared_memory: one core for actor and critic (True) or one core each (False).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        memory: str = "gru",
        memory_kwargs: dict[str, Any] | None = None,
        hidden_dim: int = 64,
        shared_memory: bool = True,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ):
        if not isinstance(memory, str) or memory not in memory_names():
            raise ValueError(f"unknown memory {memory!r}; valid names: {', '.join(memory_names())}")
        if isinstance(observation_space, spaces.Dict):
            raise ValueError(
                "MemoryActorCriticPolicy supports Box/Discrete/MultiDiscrete/MultiBinary observations, "
                "got a Dict observation space (flatten it, e.g. with gymnasium's FlattenObservation)"
            )
        self.memory = memory
        self.memory_kwargs = check_kwargs_dict("memory_kwargs", memory_kwargs)
        self.hidden_dim = check_int("hidden_dim", hidden_dim, 1, MAX_SIZE)
        if not isinstance(shared_memory, (bool, np.bool_)):
            raise TypeError(f"shared_memory must be True or False, got {shared_memory!r}")
        self.shared_memory = bool(shared_memory)
        net_arch = dict(pi=[64], vf=[64]) if net_arch is None else check_net_arch(net_arch)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            ortho_init=ortho_init,
            use_sde=use_sde,
            log_std_init=log_std_init,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=True,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    # ------------------------------------------------------------------ construction
    def _make_core(self) -> MemoryCore:
        if self.memory == MEMORYLESS:
            return FeedForwardCore(self.features_dim, self.hidden_dim, **self.memory_kwargs)
        return make_core(self.memory, self.features_dim, self.hidden_dim, **self.memory_kwargs)

    def _build_mlp_extractor(self) -> None:
        # Called by ActorCriticPolicy._build before the optimizer is made, so core parameters are trained.
        self.memory_core = self._make_core()
        self.critic_core = None if self.shared_memory else self._make_core()
        self._n_actor_state = len(self.memory_core.state_shapes())
        self.mlp_extractor = MlpExtractor(
            self.hidden_dim, net_arch=self.net_arch, activation_fn=self.activation_fn, device=self.device
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            memory=self.memory,
            memory_kwargs=self.memory_kwargs,
            hidden_dim=self.hidden_dim,
            shared_memory=self.shared_memory,
        )
        return data

    @property
    def cores(self) -> tuple[MemoryCore, ...]:
        return (self.memory_core,) if self.critic_core is None else (self.memory_core, self.critic_core)

    # ------------------------------------------------------------------ state
    def initial_state(self, batch_size: int) -> State:
        """The recurrent state of ``batch_size`` fresh episodes (flat tuple, batch first)."""
        return tuple(s for core in self.cores for s in core.initial_state(batch_size, device=self.device))

    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-row shapes of the flat state tuple."""
        return tuple(shape for core in self.cores for shape in core.state_shapes())

    # ------------------------------------------------------------------ sequence forward
    def _features(self, obs: torch.Tensor, T: int, B: int) -> torch.Tensor:
        """Features (T, B, D) in the memory core's dtype (SB3 preprocessing makes them float32,
        which a float64 core would refuse)."""
        flat = obs.reshape(T * B, *obs.shape[2:])
        features = super(ActorCriticPolicy, self).extract_features(flat, self.features_extractor)
        ref = self.memory_core._param_like()
        if ref is not None and ref.is_floating_point():
            features = features.to(ref.dtype)
        return features.reshape(T, B, -1)

    def forward_latent(
        self,
        obs: torch.Tensor,
        state: Sequence[torch.Tensor],
        episode_starts: torch.Tensor,
        return_readings: bool = False,
    ) -> (
        tuple[torch.Tensor, torch.Tensor, State]
        | tuple[torch.Tensor, torch.Tensor, State, tuple[Readings, ...]]
    ):
        """obs (T, B, *obs_shape), episode_starts (T, B) -> latent_pi, latent_vf (T, B, *), new state;
        ``return_readings=True`` adds this call's core readings, one dict per core (``self.cores`` order)."""
        T, B = episode_starts.shape[:2]
        features = self._features(obs, T, B)
        n = self._n_actor_state
        y_pi, s_pi, *r_pi = self.memory_core(
            features, tuple(state[:n]), episode_starts, return_readings=return_readings
        )
        if self.critic_core is None:
            y_vf, s_vf, r_vf = y_pi, (), []
        else:
            y_vf, s_vf, *r_vf = self.critic_core(
                features, tuple(state[n:]), episode_starts, return_readings=return_readings
            )
        out = (
            self.mlp_extractor.forward_actor(y_pi),
            self.mlp_extractor.forward_critic(y_vf),
            (*s_pi, *s_vf),
        )
        return (*out, (*r_pi, *r_vf)) if return_readings else out

    def advance_state(
        self, obs: torch.Tensor, state: Sequence[torch.Tensor], episode_starts: torch.Tensor
    ) -> State:
        """Run the core(s) over a (T, B) sequence and return only the final state (burn-in)."""
        T, B = episode_starts.shape[:2]
        features = self._features(obs, T, B)
        n = self._n_actor_state
        _, s_pi = self.memory_core(features, tuple(state[:n]), episode_starts)
        s_vf = (
            ()
            if self.critic_core is None
            else self.critic_core(features, tuple(state[n:]), episode_starts)[1]
        )
        return (*s_pi, *s_vf)

    def forward(
        self,
        obs: torch.Tensor,
        state: Sequence[torch.Tensor],
        episode_starts: torch.Tensor,
        deterministic: bool = False,
        return_readings: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """One rollout step for B envs: obs (B, ...), episode_starts (B,) -> actions, values, log_prob,
        state (and the core readings with ``return_readings=True``, see ``forward_latent``)."""
        latent_pi, latent_vf, state, *readings = self.forward_latent(
            obs.unsqueeze(0), state, episode_starts.view(1, -1), return_readings=return_readings
        )
        latent_pi, latent_vf = latent_pi[0], latent_vf[0]
        values = self.value_net(latent_vf)
        if isinstance(self.action_dist, CategoricalDistribution):
            # Same distribution as SB3's Categorical, without building a torch.distributions object per step.
            log_p = torch.log_softmax(self.action_net(latent_pi), dim=-1)
            if deterministic:
                actions = log_p.argmax(dim=-1)
            else:  # Gumbel-max: argmax(log p + Gumbel noise) samples from p; cheaper than multinomial
                actions = (log_p - torch.empty_like(log_p).exponential_().log()).argmax(dim=-1)
            log_prob = log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        else:
            distribution = self._get_action_dist_from_latent(latent_pi)
            actions = distribution.get_actions(deterministic=deterministic)
            log_prob = distribution.log_prob(actions)
            actions = actions.reshape((-1, *self.action_space.shape))
        return actions, values, log_prob, state, *readings

    def evaluate_actions(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        state: Sequence[torch.Tensor],
        episode_starts: torch.Tensor,
        return_readings: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """Re-run a (T, B) sequence from ``state``; returns values, log_prob, entropy flattened to (T*B,)
        (and the core readings with ``return_readings=True``, for the gate penalty: ``mean_gate``)."""
        T, B = episode_starts.shape[:2]
        latent_pi, latent_vf, _, *readings = self.forward_latent(
            obs, state, episode_starts, return_readings=return_readings
        )
        distribution = self._get_action_dist_from_latent(latent_pi.reshape(T * B, -1))
        flat_actions = actions.reshape(T * B, *actions.shape[2:])
        if isinstance(self.action_space, spaces.Discrete):
            flat_actions = flat_actions.reshape(T * B).long()
        log_prob = distribution.log_prob(flat_actions)
        values = self.value_net(latent_vf.reshape(T * B, -1)).flatten()
        return values, log_prob, distribution.entropy(), *readings

    def predict_values(
        self, obs: torch.Tensor, state: Sequence[torch.Tensor], episode_starts: torch.Tensor
    ) -> torch.Tensor:
        """Values (B, 1) of one step for B envs from ``state``."""
        _, latent_vf, _ = self.forward_latent(obs.unsqueeze(0), state, episode_starts.view(1, -1))
        return self.value_net(latent_vf[0])

    def _predict(
        self,
        observation: torch.Tensor,
        state: Sequence[torch.Tensor],
        episode_starts: torch.Tensor,
        deterministic: bool = False,
        return_readings: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        actions, _, _, state, *readings = self.forward(
            observation, state, episode_starts, deterministic, return_readings
        )
        return actions, state, *readings

    # ------------------------------------------------------------------ SB3-style predict
    def _state_to_tensors(self, state, n_envs: int) -> State:
        if state is None:
            return self.initial_state(n_envs)
        if isinstance(state, (np.ndarray, torch.Tensor)):
            state = (state,)
        shapes = self.state_shapes()
        state = tuple(state)
        if len(state) != len(shapes):
            raise ValueError(
                f"state must be a tuple of {len(shapes)} arrays (as returned by predict), got {len(state)}"
            )
        dtypes = [s.dtype for s in self.initial_state(1)]  # the cores' own (a float64 core keeps float64)
        out = []
        for i, (s, shape, dtype) in enumerate(zip(state, shapes, dtypes)):
            t = torch.as_tensor(s, dtype=dtype, device=self.device)
            if tuple(t.shape) != (n_envs, *shape):
                raise ValueError(
                    f"state[{i}] must have shape {(n_envs, *shape)} (batch first), got {tuple(t.shape)}"
                )
            out.append(t)
        return tuple(out)

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
        """Action(s) and next state, as sb3-contrib's RecurrentPPO: pass the returned state back in,
        with ``episode_start`` true where an episode begins (that row's state is reset first).
        ``return_readings=True`` adds the step's core readings as numpy arrays, one dict per core."""
        self.set_training_mode(False)
        obs, vectorized = self.obs_to_tensor(observation)
        n_envs = obs.shape[0]
        if episode_start is None:
            episode_start = np.zeros(n_envs, dtype=bool)
        starts = torch.as_tensor(np.asarray(episode_start), device=self.device).reshape(n_envs)
        with torch.no_grad():
            actions, new_state, *readings = self._predict(
                obs, self._state_to_tensors(state, n_envs), starts, deterministic, return_readings
            )
        actions = actions.cpu().numpy().reshape((-1, *self.action_space.shape))
        if isinstance(self.action_space, spaces.Box):
            actions = (
                self.unscale_action(actions)
                if self.squash_output
                else np.clip(actions, self.action_space.low, self.action_space.high)
            )
        if not vectorized:
            actions = actions.squeeze(axis=0)
        new_state = tuple(s.cpu().numpy() for s in new_state)
        if not return_readings:
            return actions, new_state
        return actions, new_state, readings_to_numpy(readings[0])
