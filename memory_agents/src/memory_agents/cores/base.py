"""The memory-core contract shared by every core, policy and algorithm.

A core is an ``nn.Module`` holding a recurrent state as a tuple of batch-first tensors.
``forward(x[T,B,D], state, episode_starts[T,B]) -> (y[T,B,H], new_state)``; where
``episode_starts[t, b]`` is true, row ``b``'s state is reset to the initial state *before*
``x[t, b]`` is consumed. T=1 is the rollout step; the sequence path must give the same numbers
as T single steps. Subclasses implement ``state_shapes`` and ``_forward`` (or ``_step`` and use
``_forward_steps``); validation of shapes and dtypes lives here, once.

Readings. ``core(x, state, episode_starts, return_readings=True)`` returns ``(y, new_state,
readings)``: a dict of (T, B, ...) tensors about this call only, named in ``READINGS``. They are
a return value, not an attribute, so a later forward (e.g. ``predict_values``) cannot change what
a caller got, and no autograd graph stays on the module after the call. ``"gate"`` keeps its
graph (a loss may penalise it, ``gate_coef``); every other reading is detached. A core reports
the readings it has; a plain call drops them.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import nn

from ..validation import MAX_SIZE as MAX_SIZE
from ..validation import check_int
from ..validation import check_kwargs_dict as check_kwargs_dict
from ..validation import check_positive_int as check_positive_int  # imported from here by dqn.py, some cores

State = tuple[torch.Tensor, ...]
#: Per-call readings of a core (see module docstring); keys are names from ``READINGS``.
Readings = dict[str, torch.Tensor]

#: Every reading a core may return, with what it measures. Each norm has its own name because the
#: cores' norms measure different things; ``suite/render.py`` labels its plots with these names.
READINGS = {
    "gate": "write gate (T, B, 1) or (T, B, H), with its graph (pseudo_mamba, slot-memory cores)",
    "attention": "read attention over the memory slots (T, B, K) (slot-memory cores)",
    "output_norm": "norm of the output y_t (T, B) (gru, lstm, mamba2: no state to read more simply)",
    "state_norm": "norm of the recurrent state after step t (T, B) (pseudo_mamba h, MPN's fast weights M)",
    "memory_norm": "norm of the slot contents after step t (T, B) (slot-memory cores)",
    "written_kv_norm": "norm of the keys and values step t adds to the cache, all layers (T, B) (transformer)",
}
#: The readings that are norms (one line each in a render).
NORM_READINGS = ("output_norm", "state_norm", "memory_norm", "written_kv_norm")


def readings_to_numpy(readings: Sequence[Readings]) -> tuple[dict, ...]:
    """Readings (one dict per core) as float numpy arrays on the host, for ``predict``'s callers."""
    return tuple(
        {
            k: v.detach().to("cpu", torch.float64 if v.dtype == torch.float64 else torch.float32).numpy()
            for k, v in r.items()
        }
        for r in readings
    )


def reset_segments(starts: torch.Tensor) -> list[tuple[int, int]]:
    """Split [0, T) at every step t > 0 where any row resets.

    Inside one segment no row resets after its first step, so a fused/parallel kernel can run
    over the whole segment once the rows flagged at its first step have been reset.
    """
    T = starts.shape[0]
    if T <= 1:
        return [(0, T)]
    cuts = (starts[1:].any(dim=1).nonzero().flatten() + 1).tolist()
    bounds = [0, *cuts, T]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


class MemoryCore(nn.Module):
    """Base class of all memory cores (see module docstring for the contract).

    Attributes:
        input_dim: size D of each input vector.
        hidden_dim: size H of each output vector.
        gradient_reach: how many steps back an output can depend on its inputs (``None``:
            unbounded, as for any recurrence; a sliding-window transformer sets its window).
    """

    gradient_reach: int | None = None
    #: The option ``horizon_defaults`` sets from the task's horizon (value: ``horizon_timescale``).
    horizon_param: str = "max_timescale"

    def __init__(self, input_dim: int, hidden_dim: int):
        super().__init__()
        self.input_dim = check_int("input_dim", input_dim, 1, MAX_SIZE)
        self.hidden_dim = check_int("hidden_dim", hidden_dim, 1, MAX_SIZE)

    # ----------------------------------------------------------------- to implement
    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-row shape of each state tensor (without the leading batch dimension)."""
        raise NotImplementedError

    def _forward(
        self, x: torch.Tensor, state: State, starts: torch.Tensor
    ) -> tuple[torch.Tensor, State] | tuple[torch.Tensor, State, Readings]:
        """Core computation on validated inputs; ``starts`` is a (T, B) bool tensor. Returns
        ``(y, state)``, or ``(y, state, readings)`` for a core that reports readings."""
        raise NotImplementedError

    def _step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step on (B, D) input from an already reset state; used by ``_forward_steps``."""
        raise NotImplementedError

    # ----------------------------------------------------------------- provided
    def _param_like(self) -> torch.Tensor | None:
        for p in self.parameters():
            return p
        for b in self.buffers():
            return b
        return None

    def initial_state(self, batch_size: int, device=None, dtype=None) -> State:
        """The state a row has at an episode start: zeros by default (override if not)."""
        batch_size = check_int("batch_size", batch_size, 1, MAX_SIZE)
        ref = self._param_like()
        device = device if device is not None else (ref.device if ref is not None else None)
        dtype = dtype if dtype is not None else (ref.dtype if ref is not None else torch.get_default_dtype())
        return tuple(
            torch.zeros((batch_size, *shape), device=device, dtype=dtype) for shape in self.state_shapes()
        )

    def reset_state(self, state: State, mask: torch.Tensor) -> State:
        """Replace the rows of ``state`` where ``mask`` (B,) is true by the initial state.

        Written with ``torch.where`` so gradients flow through the rows that are kept. A core
        without state (``state_shapes() == ()``) has nothing to reset. The shortcut for "no row
        resets" runs on the CPU only: on an accelerator ``bool(mask.any())`` would wait for the
        device, and the rollout step could not be captured in a CUDA graph.
        """
        if not state or (mask.device.type == "cpu" and not bool(mask.any())):
            return tuple(state)
        B = mask.shape[0]
        init = self.initial_state(B, device=state[0].device, dtype=state[0].dtype)
        out = []
        for s, s0 in zip(state, init):
            m = mask.view(B, *([1] * (s.dim() - 1)))
            out.append(torch.where(m, s0.to(s.dtype), s))
        return tuple(out)

    def _forward_steps(
        self, x: torch.Tensor, state: State, starts: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        """Generic sequence path: reset flagged rows, then ``_step``, one time step at a time."""
        ys = []
        for t in range(x.shape[0]):
            state = self.reset_state(state, starts[t])
            y_t, state = self._step(x[t], state)
            ys.append(y_t)
        return torch.stack(ys, dim=0), state

    def forward(
        self,
        x: torch.Tensor,
        state: Sequence[torch.Tensor] | None = None,
        episode_starts: torch.Tensor | None = None,
        return_readings: bool = False,
    ) -> tuple[torch.Tensor, State] | tuple[torch.Tensor, State, Readings]:
        """Run T steps. ``state=None`` means the initial state; ``episode_starts=None`` means no resets.
        ``return_readings=True`` adds this call's readings (module docstring) as a third value."""
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a (T, B, input_dim={self.input_dim}) tensor, got {shape}")
        T, B, D = x.shape
        if D != self.input_dim:
            raise ValueError(
                f"x last dimension must equal input_dim={self.input_dim}, got x of shape {tuple(x.shape)}"
            )
        if T < 1 or B < 1:
            raise ValueError(f"x must have T >= 1 and B >= 1, got x of shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        ref = self._param_like()
        if ref is not None and ref.is_floating_point() and x.dtype != ref.dtype:
            raise ValueError(
                f"x dtype {x.dtype} differs from the core's parameter dtype {ref.dtype}; "
                f"convert one of them (e.g. core.to({x.dtype}))"
            )
        if state is None:
            state = self.initial_state(B, device=x.device, dtype=x.dtype)
        state = self._check_state(state, B)
        if episode_starts is None:
            starts = torch.zeros(T, B, dtype=torch.bool, device=x.device)
        else:
            if not isinstance(episode_starts, torch.Tensor):
                episode_starts = torch.as_tensor(episode_starts)
            if tuple(episode_starts.shape) != (T, B):
                raise ValueError(
                    f"episode_starts must have shape (T, B) = {(T, B)}, got {tuple(episode_starts.shape)}"
                )
            starts = (episode_starts != 0).to(device=x.device)
        if not isinstance(return_readings, bool):
            raise TypeError(f"return_readings must be a bool, got {return_readings!r}")
        y, new_state, *rest = self._forward(x, state, starts)
        if not return_readings:
            return y, new_state
        return y, new_state, (rest[0] if rest else {})

    def _check_state(self, state, batch_size: int) -> State:
        if isinstance(state, torch.Tensor):
            state = (state,)
        state = tuple(state)
        shapes = self.state_shapes()
        if len(state) != len(shapes):
            raise ValueError(
                f"state must be a tuple of {len(shapes)} tensors for {type(self).__name__}, got {len(state)}"
            )
        for i, (s, shape) in enumerate(zip(state, shapes)):
            expected = (batch_size, *shape)
            if not isinstance(s, torch.Tensor) or tuple(s.shape) != expected:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"state[{i}] must have shape {expected} (batch first), got {got}")
        return state

    @classmethod
    def horizon_timescale(cls, horizon: int) -> int | None:
        """The value of ``horizon_param`` (by default ``max_timescale``) for episodes of ``horizon``
        steps (None: keep the default); used by ``horizon_defaults``."""
        return max(int(horizon), 2)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, hidden_dim={self.hidden_dim}"


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, type[MemoryCore]] = {}


def register_core(name: str):
    """Class decorator: make a MemoryCore subclass available to ``make_core(name, ...)``."""

    def deco(cls: type[MemoryCore]) -> type[MemoryCore]:
        if not (isinstance(cls, type) and issubclass(cls, MemoryCore)):
            raise TypeError(f"register_core({name!r}) expects a MemoryCore subclass, got {cls!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a core named {name!r} is already registered ({_REGISTRY[name].__name__})")
        _REGISTRY[name] = cls
        cls.core_name = name
        return cls

    return deco


def registered_cores() -> tuple[str, ...]:
    """Names of every registered core, built-in and user-registered."""
    return tuple(_REGISTRY)


#: Horizons from which horizon_defaults sets a timescale: below, torch's default init already
#: spans the episode (benchmarks/cue_retention_probe.py), and the tests' short tasks keep it.
CHRONO_MIN_HORIZON = 16


def horizon_defaults(name: str, horizon: int, given: dict) -> dict:
    """Core kwargs that follow the task's horizon: ``{cls.horizon_param: cls.horizon_timescale(horizon)}``
    for a core whose option ``horizon_param`` defaults to None (``max_timescale``: GRU / LSTM chrono
    init, Mamba2 step sizes, Pseudo-Mamba decays; ``window``: the transformer's attention span),
    unless ``given`` sets it, the horizon is below CHRONO_MIN_HORIZON or the core keeps its
    default there (``horizon_timescale`` is None)."""
    cls = _REGISTRY.get(name) if isinstance(name, str) else None  # a bad name fails later, in make_core
    key = None if cls is None else cls.horizon_param
    param = None if cls is None else inspect.signature(cls.__init__).parameters.get(key)
    if param is None or param.default is not None or key in given or horizon < CHRONO_MIN_HORIZON:
        return {}
    value = cls.horizon_timescale(int(horizon))
    return {} if value is None else {key: value}


def make_core(name: str, input_dim: int, hidden_dim: int, **kwargs) -> MemoryCore:
    """Build the core registered as ``name``; bad names and sizes raise a ValueError listing what is valid."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown core name {name!r}; valid names: {', '.join(_REGISTRY)}")
    check_int("input_dim", input_dim, 1, MAX_SIZE)
    check_int("hidden_dim", hidden_dim, 1, MAX_SIZE)
    cls = _REGISTRY[name]
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        valid = [n for n in params if n not in ("self", "input_dim", "hidden_dim")]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown keyword argument(s) {unknown} for core {name!r}; valid: {', '.join(valid)}"
            )
    return cls(input_dim, hidden_dim, **kwargs)
