"""MemoryPPO's rollout step for a policy on an accelerator: one copy each way per step, and the
policy step replayed from a CUDA graph where the core allows it.

Why: with thousands of envs on a GPU, a rollout step costs launch and transfer latency, not
arithmetic. The plain step (``MemoryPPO._act``) makes two pageable host->device copies
(observations, episode starts) and launches every kernel of the policy from Python. Here:

- observations and start flags are packed into one preallocated host buffer (pinned on CUDA)
  and sent with one non-blocking copy into a preallocated device buffer;
- the sampled actions come back through one preallocated (pinned) host buffer;
- the policy step (features, core at T=1, heads, sampling) is captured once in a CUDA graph
  and replayed (``step_mode="graph"``), or ``torch.compile``d (``"compile"``), or run eagerly.

A core whose T=1 step reads a device value on the host (e.g. ``bool(starts.any())`` to skip a
reset) cannot be captured: the first step runs once under
``torch.cuda.set_sync_debug_mode("error")``, which names the synchronizing call, before any
capture is tried; such a core keeps the eager step (``fallback`` says why). The rollout buffer
(``MemoryRolloutBuffer``) already holds its tensors on the model's device.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_obs_shape

from .cores.base import State
from .validation import check_choice

#: "auto": a CUDA graph where the device is CUDA and the core can be captured, else eager.
STEP_MODES = ("auto", "graph", "compile", "eager")
#: Eager calls before a capture: lazy initialisation, cuBLAS workspaces, Triton autotuning.
WARMUP_CALLS = 3


def check_step_mode(step_mode) -> str:
    return check_choice("rollout_step", step_mode, STEP_MODES)


class DeviceRollout:
    """Staged transfers and a captured policy step for ``n_envs`` envs of ``observation_space``.

    ``act(obs, starts, state)`` is the rollout step: it returns the observations on the device
    (for the rollout buffer), the actions (device tensor and numpy copy), values, log-probs and
    the new state. The device tensors it returns are overwritten by the next step (the buffer
    copies them at once); the state it returns is the caller's to keep.

    Args:
        pin_memory: pin the host buffers (default: on CUDA; pinning needs CUDA).
        step_mode: one of ``STEP_MODES``.
    """

    def __init__(
        self,
        policy: torch.nn.Module,
        n_envs: int,
        observation_space: spaces.Space,
        device: torch.device | str,
        step_mode: str = "auto",
        pin_memory: bool | None = None,
    ):
        self.policy = policy
        self.n_envs = n_envs
        self.device = torch.device(device)
        self.requested = check_step_mode(step_mode)
        cuda = self.device.type == "cuda"
        self.pinned = cuda if pin_memory is None else bool(pin_memory)
        self.obs_shape = get_obs_shape(observation_space)
        self.obs_dim = math.prod(self.obs_shape)
        # One flat buffer: the observations (float32, as the buffer stores them), then the start flags.
        size = n_envs * self.obs_dim
        self._host_in = torch.zeros(size + n_envs, dtype=torch.float32, pin_memory=self.pinned)
        self._host_obs = self._host_in[:size].numpy().reshape(n_envs, self.obs_dim)
        self._host_starts = self._host_in[size:].numpy()
        self._dev_in = torch.zeros_like(self._host_in, device=self.device)
        self.obs = self._dev_in[:size].view(n_envs, *self.obs_shape)
        self.starts = self._dev_in[size:]
        self._host_actions: torch.Tensor | None = None
        self._copied = torch.cuda.Event() if cuda else None
        #: The step actually used ("graph", "compile" or "eager"); decided at the first step.
        self.step_mode: str | None = None
        #: Why a requested graph was not used (None when it was, or was not requested).
        self.fallback: str | None = None
        self._step: Callable[[State], tuple] | None = None

    # ------------------------------------------------------------------ transfers
    def upload(self, obs: np.ndarray, starts: np.ndarray) -> None:
        """Observations and episode starts into the host buffer, then one copy to the device."""
        np.copyto(self._host_obs, np.asarray(obs).reshape(self.n_envs, self.obs_dim), casting="unsafe")
        self._host_starts[:] = starts
        self._dev_in.copy_(self._host_in, non_blocking=self.pinned)

    def download(self, actions: torch.Tensor) -> np.ndarray:
        """The actions as a numpy array (one copy, waited for)."""
        host = self._host_actions
        if host is None or host.shape != actions.shape or host.dtype != actions.dtype:
            host = torch.empty(actions.shape, dtype=actions.dtype, pin_memory=self.pinned)
            self._host_actions = host
        host.copy_(actions, non_blocking=self.pinned)
        if self._copied is not None:
            self._copied.record()
            self._copied.synchronize()
        return host.numpy().copy()

    # ------------------------------------------------------------------ policy step
    def policy_step(self, state: State) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, State]:
        """(actions, values, log_probs, new state) of the uploaded step."""
        if self._step is None:
            self._step = self._build_step(state)
        return self._step(state)

    def act(self, obs: np.ndarray, starts: np.ndarray, state: State):
        """One rollout step: (obs on device, actions, values, log_probs, new state, numpy actions)."""
        self.upload(obs, starts)
        actions, values, log_probs, new_state = self.policy_step(state)
        return self.obs, actions, values, log_probs, new_state, self.download(actions)

    def _eager(self, state: State):
        with torch.inference_mode():
            return self.policy(self.obs, state, self.starts)

    def _build_step(self, state: State) -> Callable[[State], tuple]:
        mode = self.requested
        if mode == "auto":
            mode = "graph" if self.device.type == "cuda" else "eager"
        if mode == "graph" and self.device.type != "cuda":
            self.fallback = f"CUDA graphs need a CUDA device, the policy is on {self.device}"
            mode = "eager"
        if mode == "graph":
            try:
                step = self._capture(state)
            except RuntimeError as exc:  # a host synchronization in the step, or a failed capture
                self.fallback = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
                mode = "eager"
        if mode == "compile":
            step = self._compiled()
        if mode == "eager":
            step = self._eager
        if self.fallback and self.requested == "graph":
            warnings.warn(f"rollout_step='graph' runs eagerly: {self.fallback}", UserWarning, stacklevel=4)
        self.step_mode = mode
        return step

    def _compiled(self) -> Callable[[State], tuple]:
        compiled = torch.compile(self.policy.forward, dynamic=False)

        def step(state: State):
            with torch.no_grad():
                return compiled(self.obs, state, self.starts)

        return step

    def _capture(self, state: State) -> Callable[[State], tuple]:
        """Warm up, check that one step makes no host synchronization, capture it in a CUDA graph.

        The graph reads the device input buffer and ``static`` (the state, copied in before each
        replay) and writes its outputs to memory it owns; the returned state is a copy of them.
        """
        static = tuple(s.detach().clone() for s in state)

        def run():
            return self.policy(self.obs, static, self.starts)

        main = torch.cuda.current_stream(self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(main)
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(WARMUP_CALLS):
                run()
            previous = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode("error")
            try:
                run()
            finally:
                torch.cuda.set_sync_debug_mode(previous)
        main.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(graph):
            actions, values, log_probs, out_state = run()

        def replay(state: State):
            for dst, src in zip(static, state):
                if dst.data_ptr() != src.data_ptr():
                    dst.copy_(src)
            graph.replay()
            return actions, values, log_probs, tuple(s.clone() for s in out_state)

        self._graph = graph  # keep it (and its memory pool) alive with this object
        return replay
