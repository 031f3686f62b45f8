"""Training budgets: the env steps and PPO settings each task x difficulty is trained with by default.

A budget belongs to a preset (DESIGN.md, "Training at long horizons"): ``memory-suite train
--task T --difficulty D`` and ``python -m memory_agents`` use it when given no other flags, and
the results row records the settings used. The rollout length is not stored here: it follows
the training env's horizon (MemoryPPO's n_steps="auto"), so full BPTT always re-runs whole
episodes.

How the figures were found and what they reached is in the README's budget table and results/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Budget", "preset_budget", "DEFAULT_BUDGET", "BUDGETS", "DQN_BUDGET"]


@dataclass(frozen=True)
class Budget:
    """``steps`` env steps with ``num_envs`` envs; ``ppo``: MemoryPPO kwargs besides ``n_steps``;
    ``curriculum``: ``memory_agents.curriculum.CurriculumSpec`` dicts run in order (empty: none)."""

    steps: int
    num_envs: int
    ppo: Mapping[str, Any] = field(default_factory=dict)
    curriculum: tuple[Mapping[str, Any], ...] = ()

    def algo_kwargs(self) -> dict[str, Any]:
        """MemoryPPO kwargs. No ``n_steps``: MemoryPPO's "auto" takes the training env's horizon."""
        return dict(self.ppo)

    def curriculum_record(self) -> dict | list | None:
        """The curriculum as a run gives it (suite YAML / ``--curriculum``): None, one spec's dict,
        or a list of them run in order."""
        specs = [dict(spec) for spec in self.curriculum]
        return None if not specs else specs[0] if len(specs) == 1 else specs


def _b(steps: int, num_envs: int = 64, curriculum: list[dict] = (), **ppo: Any) -> Budget:
    return Budget(
        steps, num_envs, MappingProxyType(dict(ppo)), tuple(MappingProxyType(c) for c in curriculum)
    )


#: Env steps per difficulty: about 16k episodes at easy, then growing with the horizon (cf. Ni et
#: al. 2023: 1e7 steps for a 1,500-step passive T-maze).
STEPS = {"easy": 1_000_000, "medium": 3_000_000, "hard": 10_000_000, "extreme": 20_000_000}
#: Tasks trained for a multiple of STEPS beyond easy. NBack: success needs a threshold share of
#: an episode's hundreds of answers right, so it moves only once the per-answer accuracy is near
#: that threshold, well after the return has (README, long horizons: NBack medium).
STEPS_FACTOR = {"NBack": 2}
#: PPO settings of every budget: 64 envs, lr 2e-3, entropy bonus 0.01. Without the bonus a
#: DelayedCue easy seed settled at 0.745 (three of four cues told apart, the policy deterministic
#: on the other two) and stayed there for 700k steps; with it the same seed reached 0.99.
PPO = {"learning_rate": 2e-3, "ent_coef": 0.01}
#: T-mazes: no entropy bonus. Their exploration comes from the slack curriculum, and once the
#: slack is gone any step that is not "right" fails the episode: with 0.01 the walk fell apart
#: (training success 0.5 -> 0.0 at slack 0).
#: No advantage normalisation either: once the task is solved the advantages are noise, and
#: dividing them by their tiny std made PPO drift off the solution (TMazePassive easy seed 1:
#: 0.95 training success at 0.8M steps, 0.00 at 1M; without it 0.99 at 1M, evaluation 1.000).
TMAZE_PPO = {"learning_rate": 2e-3, "normalize_advantage": False}  # MemoryPPO's ent_coef default is 0
DELAY_TASKS = (
    "DelayedCue",
    "CopyMemory",
    "PermutedCopy",
    "AssociativeRecall",
    "MultiCueDelay",
    "PatternBinding",
)
TMAZES = ("TMazePassive", "TMazeActive")


def _curriculum(task: str, difficulty: str) -> list[dict]:
    """T-mazes: start on the easy corridor with a corridor's worth of slack, so that a walker that
    explores still reaches the junction, and shrink the slack to none; then grow the corridor to
    the preset's. The walk is learned where a cell pays most (the progress reward is spread over
    the episode's corridor: 2^-9 per cell at 100, 2^-14 at 2,500, where the slack-only curriculum
    never reached the junction) and the memory is stretched stage by stage, short corridors
    staying in the mix. Delay tasks beyond easy: start at delay 20 and grow it (DelayedCue
    medium: 0.85 with it, at chance without)."""
    if task in TMAZES:
        from memory_gym_envs import get_preset

        easy = get_preset(task, "easy").params["corridor_length"]
        slack = [{"param": "slack", "start": easy, "threshold": 0.4}]
        if get_preset(task, difficulty).params["corridor_length"] == easy:
            return slack
        return [*slack, {"param": "corridor_length", "start": easy, "threshold": 0.8}]
    if task in DELAY_TASKS and difficulty != "easy":
        return [{"param": "delay", "start": 20, "threshold": 0.8}]
    if task == "DistractorNavigation":
        # The goal is rewarded only at the episode's end: over the preset's length a random
        # walk's final cell says almost nothing about any one move, and PPO stayed at the
        # memoryless level, while short episodes learn (README, long horizons). Start at the
        # shortest episode that reaches every cell with at most every other step a decoy (at
        # medium, 10 decoys in 13 steps stayed at the memoryless level for 0.45M steps) and grow it.
        from memory_gym_envs import get_preset

        params = get_preset(task, difficulty).params
        start = max(2 * params["grid_size"] - 1, 2 * params["num_decoys"] + 1)
        return [{"param": "episode_length", "start": start, "threshold": 0.8}]
    return []


def _ppo(task: str, difficulty: str) -> dict:
    """PPO settings. NBack beyond easy sizes the core's timescales for its n-step look-back.
    T-mazes beyond easy also size the core's timescales (chrono init) for the curriculum's
    first stage, the easy maze with its slack, not for the target corridor: with timescales
    spread up to the target's horizon the GRU's state barely moved with the cue on the short
    corridor and the cue-blind turn went deterministic, so the memory never emerged there
    (README, long horizons: TMazePassive hard)."""
    if task == "NBack" and difficulty != "easy":
        # Every answer looks back n steps, however long the episode: chrono init spread to the
        # 500-step horizon learned NBack medium far more slowly than timescales for n + 1.
        from memory_gym_envs import get_preset

        return {**PPO, "memory_span": get_preset(task, difficulty).params["n"] + 1}
    if task not in TMAZES:
        return PPO
    if difficulty == "easy":
        return TMAZE_PPO
    from memory_gym_envs import TASK_CLASSES, get_preset

    easy = get_preset(task, "easy").params["corridor_length"]
    cls = next(c for c in TASK_CLASSES if c.name == task)
    ppo = {**TMAZE_PPO, "memory_span": cls(1, corridor_length=easy, slack=easy).memory_span}
    if difficulty in ("hard", "extreme"):
        # With a constant rate the memory at the longest corridor came and went over the 10M
        # steps (TMazePassive hard seed 1: 1.000 at 3.1M and 9.5M, 0.62 at 5M and 7.1M, 0.445 at
        # the end), so which model a run ended on was luck; a rate decaying to 0 settles it.
        ppo["learning_rate"] = f"lin_{TMAZE_PPO['learning_rate']:g}"
    return ppo


def _steps(task: str, difficulty: str) -> int:
    return STEPS[difficulty] * (STEPS_FACTOR.get(task, 1) if difficulty != "easy" else 1)


def _table() -> dict[tuple[str, str], Budget]:
    from memory_gym_envs import DIFFICULTIES, TASK_CLASSES

    return {
        (cls.name, d): _b(_steps(cls.name, d), 64, _curriculum(cls.name, d), **_ppo(cls.name, d))
        for cls in TASK_CLASSES
        for d in DIFFICULTIES
    }


#: Settings for runs without a published budget (env_kwargs overrides, NeuroGym tasks).
DEFAULT_BUDGET = _b(STEPS["easy"], 64, **PPO)

#: (task, difficulty) -> Budget for every native task and difficulty. What each reached is in the
#: README's budget table and results/presets_v1.json.
BUDGETS: dict[tuple[str, str], Budget] = _table()


def preset_budget(task: str, difficulty: str | None) -> Budget:
    """The budget of a task (short name) at a difficulty; DEFAULT_BUDGET where none is published."""
    return BUDGETS.get((task, difficulty or "easy"), DEFAULT_BUDGET)


#: ``memory-suite train --algo dqn`` (TrialReplayDQN, its own defaults): env steps and parallel envs.
#: What it reaches on NeuroGym tasks: the README's DQN section (benchmarks/dqn_neurogym.py).
DQN_BUDGET = _b(60_000, 8)
