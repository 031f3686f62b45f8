"""Curriculum: move one live task parameter from an easy value toward the target while the
training success stays above a threshold.

Why: at long horizons a recurrent agent never sees a rewarded query (memory tasks) or never
reaches the junction (T-maze without slack), so it gets no signal to learn from. Starting where
it does, and moving on only once it succeeds, gives it one. The parameter changes on the live
native vector env (``set_task_param``), from each row's next episode on: no rebuild, and the
envs keep running. The env is built so that every stage lies inside it (``build_kwargs``): a
growing parameter (a delay, DistractorNavigation's episode length) builds ``(start, target)`` and
samples each episode's value from ``[start, stage]``, so short ones stay in the mix and timing
alone cannot solve a stage; a slack curriculum builds ``slack=start`` and shrinks the time limit
toward the target's.

The state lives on the model (``model.curriculum_state``), so it is saved with it and a resumed
run continues from its stage. Each stage is logged to TensorBoard as ``curriculum/<param>``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from .validation import check_choice, check_float, check_int

__all__ = ["CurriculumSpec", "CurriculumCallback", "parse_curriculum"]

#: Parameters that grow, each episode drawing its value from [start, stage] (short ones stay in
#: the mix, and timing alone cannot solve a stage), and parameters that shrink to the target.
GROWING = ("delay", "episode_length")
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
            low = 1 if key in ("window",) or (key == "start" and self.param in GROWING) else 0
            check_int(f"curriculum {key}", getattr(self, key), low, optional=key == "target")
        check_float("curriculum threshold", self.threshold, 0.0, 1.0, low_open=True)
        check_float("curriculum factor", self.factor, 1.0, low_open=True)

    def with_target(self, target: int) -> CurriculumSpec:
        """This spec with its target set (the task's value when the spec left it out)."""
        spec = CurriculumSpec(
            **{**asdict(self), "target": int(target) if self.target is None else self.target}
        )
        growing = spec.param in GROWING
        if (growing and spec.start > spec.target) or (not growing and spec.start < spec.target):
            word = "<=" if growing else ">="
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
        if self.param in GROWING:
            value = (self.start, self.target) if self.target > self.start else self.target
            return {self.param: value}
        return {self.param: self.start}

    def live_value(self, value: int) -> Any:
        """What ``set_task_param`` gets at a stage: the range [start, value] of a growing
        parameter, or the value."""
        if self.param in GROWING:
            return (self.start, value)
        return value


def parse_curriculum(data: Any) -> CurriculumSpec | None:
    """A CurriculumSpec from a dict (suite YAML / CLI JSON), or None; errors name the bad key."""
    if data is None or isinstance(data, CurriculumSpec):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"curriculum must be a mapping such as {{param: delay, start: 10}}, got {data!r}")
    known = {f for f in CurriculumSpec.__dataclass_fields__}
    unknown = sorted(set(data) - known)
    if unknown or "param" not in data or "start" not in data:
        raise ValueError(
            f"curriculum takes keys {sorted(known)} (param and start required), got {sorted(data)}"
        )
    return CurriculumSpec(**data)


class CurriculumCallback(BaseCallback):
    """Advances ``spec`` on the training env (see the module docstring); ``spec.target`` must be set."""

    def __init__(self, spec: CurriculumSpec, verbose: int = 0):
        super().__init__(verbose)
        if spec.target is None:
            raise ValueError("CurriculumCallback needs spec.target (use spec.with_target(task value))")
        self.spec = spec
        self._successes: list[float] = []

    @property
    def value(self) -> int:
        return self.model.curriculum_state["value"]

    def _on_training_start(self) -> None:
        state = getattr(self.model, "curriculum_state", None)
        if not state or state.get("spec") != asdict(self.spec):  # a new run, or another curriculum
            state = {"spec": asdict(self.spec), "value": self.spec.start, "history": []}
        self.model.curriculum_state = state
        self._apply()
        starts = getattr(self.model, "_last_episode_starts", None)
        if starts is not None and np.all(starts):
            # learn() has just reset the envs, so their first episodes were drawn from the built
            # range (up to the target delay), not the stage. Draw them again at the stage: one
            # long first episode per row would set the padded length of every packed sequence in
            # the first update (a 100x slower update at delay 2,000 from stage 20).
            self.model._last_obs = self.training_env.reset()

    def _apply(self) -> None:
        self.training_env.env_method("set_task_param", self.spec.param, self.spec.live_value(self.value))
        self._successes = []
        self.logger.record(f"curriculum/{self.spec.param}", self.value)

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if not np.any(dones):
            return True
        infos = self.locals["infos"]
        self._successes.extend(
            float(bool(infos[i]["is_success"])) for i in np.flatnonzero(dones) if "is_success" in infos[i]
        )
        if len(self._successes) >= self.spec.window:
            rate = float(np.mean(self._successes))
            self.logger.record(f"curriculum/{self.spec.param}_success", rate)
            if rate >= self.spec.threshold and self.value != self.spec.target:
                state = self.model.curriculum_state
                state["history"].append(
                    {"step": int(self.num_timesteps), "value": self.value, "success": rate}
                )
                state["value"] = self.spec.next_value(self.value)
                if self.verbose:
                    print(
                        f"curriculum: {self.spec.param} -> {state['value']} at step {self.num_timesteps:,} "
                        f"(success {rate:.2f})"
                    )
                self._apply()
            else:
                self._successes = []
        return True

    def _on_rollout_end(self) -> None:
        self.logger.record(f"curriculum/{self.spec.param}", self.value)
