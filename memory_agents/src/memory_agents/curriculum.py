"""Curriculum: move live task parameters from easy values toward the target while the training
success stays above a threshold.

Why: at long horizons a recurrent agent never sees a rewarded query (memory tasks) or never
reaches the junction (T-maze without slack), so it gets no signal to learn from. Starting where
it does, and moving on only once it succeeds, gives it one. The parameter changes on the live
native vector env (``set_task_param``), from each row's next episode on: no rebuild, and the
envs keep running. The env is built so that every stage lies inside it (``build_kwargs``): a
growing parameter (a delay, DistractorNavigation's episode length, a T-maze corridor) builds
``(start, target)`` and samples each episode's value from ``[start, stage]``, so short ones stay
in the mix and timing alone cannot solve a stage; a slack curriculum builds ``slack=start`` and
shrinks the time limit toward the target's.

A curriculum is one spec or a sequence of specs run in order: each spec moves its parameter to
its target, then the next one starts (a T-maze first sheds the slack it explored with on a short
corridor, then grows the corridor). A spec hands over only once a window at its target has
succeeded, so each stage is learned before the next parameter moves.

The state lives on the model (``model.curriculum_state``), so it is saved with it and a resumed
run continues from its stage. Each parameter is logged to TensorBoard as ``curriculum/<param>``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from .validation import check_choice, check_float, check_int

__all__ = ["CurriculumSpec", "CurriculumCallback", "parse_curriculum", "build_kwargs"]

#: Parameters that grow, each episode drawing its value from [start, stage] (short ones stay in
#: the mix, and timing alone cannot solve a stage), and parameters that shrink to the target.
GROWING = ("delay", "episode_length", "corridor_length", "start_offset", "num_decoys", "length", "num_cues")
#: The smallest start of a growing parameter (1 unless listed: a delay range starts at 1).
MIN_START = {"start_offset": 0, "num_decoys": 0}
SHRINKING = ("slack",)
PARAMS = GROWING + SHRINKING


@dataclass(frozen=True)
class CurriculumSpec:
    """``param`` goes from ``start`` to ``target`` by ``factor`` per stage (geometric: x factor when
    growing, / factor when shrinking); a stage advances once ``window`` training episodes at it
    succeed at a rate >= ``threshold``. ``target`` None: the task's own value (preset + env kwargs)."""

    param: str
    start: int
    target: int | None = None
    threshold: float = 0.9
    factor: float = 2.0
    window: int = 256

    def __post_init__(self):
        check_choice("curriculum param", self.param, PARAMS)
        for key in ("start", "target", "window"):
            low = 1 if key == "window" else 0
            if key == "start" and self.growing:
                low = MIN_START.get(self.param, 1)
            check_int(f"curriculum {key}", getattr(self, key), low, optional=key == "target")
        check_float("curriculum threshold", self.threshold, 0.0, 1.0, low_open=True)
        check_float("curriculum factor", self.factor, 1.0, low_open=True)

    @property
    def growing(self) -> bool:
        return self.param in GROWING

    def with_target(self, target: int) -> CurriculumSpec:
        """This spec with its target set (the task's value when the spec left it out)."""
        spec = CurriculumSpec(
            **{**asdict(self), "target": int(target) if self.target is None else self.target}
        )
        if (spec.growing and spec.start > spec.target) or (not spec.growing and spec.start < spec.target):
            word = "<=" if spec.growing else ">="
            raise ValueError(
                f"curriculum start must be {word} target for {spec.param!r}: "
                f"got start={spec.start}, target={spec.target}"
            )
        return spec

    def next_value(self, value: int) -> int:
        """The stage after ``value``: one geometric step toward the target, never past it."""
        if self.target >= value:
            return min(self.target, max(value + 1, math.ceil(value * self.factor)))
        nxt = math.floor(value / self.factor)
        return self.target if nxt <= self.target or nxt < 1 else nxt

    def build_kwargs(self) -> dict[str, Any]:
        """Env kwargs that make every stage reachable on the live env."""
        if self.growing:
            value = (self.start, self.target) if self.target > self.start else self.target
            return {self.param: value}
        return {self.param: self.start}

    def live_value(self, value: int) -> Any:
        """What ``set_task_param`` gets at a stage: the range [start, value], or the value."""
        return (self.start, value) if self.growing else value


def parse_curriculum(data: Any) -> tuple[CurriculumSpec, ...] | None:
    """The specs of a curriculum given as a dict (suite YAML / CLI JSON), a spec, or a list of
    those run in order; None for none. Errors name the bad key."""
    if data is None:
        return None
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("curriculum must list at least one spec, got []")
        specs = tuple(spec for item in data for spec in parse_curriculum(item))
        params = [s.param for s in specs]
        if len(set(params)) != len(params):
            raise ValueError(f"curriculum moves each param once, got params {params}")
        return specs
    if isinstance(data, CurriculumSpec):
        return (data,)
    if not isinstance(data, dict):
        raise ValueError(
            f"curriculum must be a mapping such as {{param: delay, start: 10}} or a list of them, got {data!r}"
        )
    known = {f for f in CurriculumSpec.__dataclass_fields__}
    unknown = sorted(set(data) - known)
    if unknown or "param" not in data or "start" not in data:
        raise ValueError(
            f"curriculum takes keys {sorted(known)} (param and start required), got {sorted(data)}"
        )
    return (CurriculumSpec(**data),)


def build_kwargs(specs: Sequence[CurriculumSpec]) -> dict[str, Any]:
    """Env kwargs that make every stage of every spec reachable on the live env."""
    return {key: value for spec in specs for key, value in spec.build_kwargs().items()}


class CurriculumCallback(BaseCallback):
    """Advances ``specs`` (one spec, or several run in order) on the training env (see the module
    docstring); every spec's ``target`` must be set."""

    def __init__(self, specs: CurriculumSpec | Sequence[CurriculumSpec], verbose: int = 0):
        super().__init__(verbose)
        self.specs = parse_curriculum(specs)
        if any(spec.target is None for spec in self.specs):
            raise ValueError("CurriculumCallback needs each spec's target (use spec.with_target(task value))")
        self._successes: list[float] = []

    @property
    def stage(self) -> int:
        """Index of the spec that is moving (the last one once all are at their targets)."""
        return self.model.curriculum_state["stage"]

    @property
    def spec(self) -> CurriculumSpec:
        return self.specs[self.stage]

    @property
    def value(self) -> int:
        return self.model.curriculum_state["value"]

    def values(self) -> dict[str, int]:
        """Every param's current value: earlier specs at their targets, later ones at their starts."""
        return {
            spec.param: spec.target if i < self.stage else self.value if i == self.stage else spec.start
            for i, spec in enumerate(self.specs)
        }

    def _on_training_start(self) -> None:
        state = getattr(self.model, "curriculum_state", None)
        if state and "spec" in state:  # saved before curricula could be sequences
            state = {
                "specs": [state["spec"]],
                "stage": 0,
                "value": state["value"],
                "history": state["history"],
            }
        specs = [asdict(spec) for spec in self.specs]
        if not state or state.get("specs") != specs:  # a new run, or another curriculum
            state = {"specs": specs, "stage": 0, "value": self.specs[0].start, "history": []}
        self.model.curriculum_state = state
        for spec in self.specs:
            self._apply(spec)
        starts = getattr(self.model, "_last_episode_starts", None)
        if starts is not None and np.all(starts):
            # learn() has just reset the envs, so their first episodes were drawn from the built
            # range (up to the target delay), not the stage. Draw them again at the stage: one
            # long first episode per row would set the padded length of every packed sequence in
            # the first update (a 100x slower update at delay 2,000 from stage 20).
            self.model._last_obs = self.training_env.reset()

    def _apply(self, spec: CurriculumSpec) -> None:
        value = self.values()[spec.param]
        self.training_env.env_method("set_task_param", spec.param, spec.live_value(value))
        self._successes = []
        self.logger.record(f"curriculum/{spec.param}", value)

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if not np.any(dones):
            return True
        infos = self.locals["infos"]
        self._successes.extend(
            float(bool(infos[i]["is_success"])) for i in np.flatnonzero(dones) if "is_success" in infos[i]
        )
        spec = self.spec
        if len(self._successes) >= spec.window:
            rate = float(np.mean(self._successes))
            self.logger.record(f"curriculum/{spec.param}_success", rate)
            last = self.stage == len(self.specs) - 1
            if rate >= spec.threshold and not (last and self.value == spec.target):
                state = self.model.curriculum_state
                state["history"].append(
                    {
                        "step": int(self.num_timesteps),
                        "param": spec.param,
                        "value": self.value,
                        "success": rate,
                    }
                )
                if self.value == spec.target:  # this spec is done: the next one starts from its start
                    state["stage"] += 1
                    state["value"] = self.spec.start
                else:
                    state["value"] = spec.next_value(self.value)
                if self.verbose:
                    print(
                        f"curriculum: {self.spec.param} -> {state['value']} at step {self.num_timesteps:,} "
                        f"(success {rate:.2f})"
                    )
                self._apply(self.spec)
            else:
                self._successes = []
        return True

    def _on_rollout_end(self) -> None:
        for param, value in self.values().items():
            self.logger.record(f"curriculum/{param}", value)
