"""What a run leaves behind and how to use it again: the algorithm of a saved agent, its run.json,
and the environment it was trained on (or another one to evaluate it on).

Shared by training (which writes the artefacts), evaluation and rendering (which read them), so
neither of those imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..validation import check_choice
from . import catalog


def algo_class(algo: str):
    """The algorithm class and its policy alias for an ``algo`` name."""
    check_choice("algo", algo, catalog.ALGOS)
    if algo == "ppo":
        from memory_agents.ppo import MemoryPPO

        return MemoryPPO, "MemoryPolicy"
    from memory_agents.dqn import TrialReplayDQN

    return TrialReplayDQN, "MemoryQPolicy"


def make_env(spec_or_row, num_envs: int, seed: int, extra_kwargs: dict | None = None):
    """SB3 VecEnv for a run spec (or a results row / run.json, which hold the same fields);
    ``extra_kwargs`` on top of its env_kwargs (a curriculum's training env)."""
    from memory_agents.vec_env import make_vec_env

    get = spec_or_row.get if isinstance(spec_or_row, dict) else lambda k: getattr(spec_or_row, k)
    difficulty = get("difficulty")
    return make_vec_env(
        get("env_id"),
        num_envs=num_envs,
        seed=seed,
        difficulty=None if difficulty == catalog.NO_PRESET else difficulty,
        env_kwargs={**(get("env_kwargs") or {}), **(extra_kwargs or {})},
    )


def load_run_info(checkpoint) -> dict | None:
    """The run.json written beside a saved agent, if there is one."""
    path = Path(checkpoint).with_name("run.json")
    return json.loads(path.read_text()) if path.is_file() else None


def eval_target(
    checkpoint,
    info: dict,
    task: str | None = None,
    difficulty: str | None = None,
    env_kwargs: dict | None = None,
) -> dict:
    """Which env to evaluate / render a saved agent on: {'task', 'env_id', 'difficulty', 'env_kwargs', 'label'}.

    By default the env it was trained on (task, difficulty and env_kwargs from run.json). ``task``:
    another task, at its preset. ``difficulty``: that preset as it is (the training env_kwargs are
    dropped). ``env_kwargs``: parameters on top of either, e.g. a longer delay to test whether the
    memory holds beyond the horizon it was trained at.
    """
    if task is None and not info.get("env_id"):
        raise ValueError(f"no run.json beside {str(checkpoint)!r}: give --task (and --difficulty)")
    trained_kwargs = (info.get("config") or {}).get("env_kwargs") or {}
    short, env_id, diff, kwargs = (
        info.get("task"),
        info.get("env_id"),
        info.get("difficulty"),
        dict(trained_kwargs),
    )
    if task is not None:
        new_short, new_id = catalog.resolve_task(task)
        if new_id != env_id:
            short, env_id, diff, kwargs = new_short, new_id, None, {}
    if difficulty is not None:
        diff, kwargs = difficulty, {}
    kwargs.update(env_kwargs or {})
    diff = catalog.task_difficulty(short, diff)
    catalog.check_env_kwargs(short, diff, kwargs)
    trained = (env_id, diff, kwargs) == (info.get("env_id"), info.get("difficulty"), trained_kwargs)
    label = catalog.run_label(short, diff, kwargs, info.get("variant") if trained else None)
    return {"task": short, "env_id": env_id, "difficulty": diff, "env_kwargs": kwargs, "label": label}


def check_spaces(model, env, target: dict) -> None:
    """A clear error when the agent cannot act in ``env`` (another observation size or action count)."""
    ours = (tuple(model.observation_space.shape), getattr(model.action_space, "n", None))
    theirs = (tuple(env.observation_space.shape), getattr(env.action_space, "n", None))
    if ours != theirs:
        raise ValueError(
            f"the agent was trained on observations of shape {ours[0]} with {ours[1]} actions, but "
            f"{target['label']} has {theirs[0]} and {theirs[1]}: keep the parameters that set them "
            f"(e.g. num_cues) as they were in training with --env-kwargs"
        )


def load_agent(checkpoint, device: str = "auto", algo: str | None = None):
    """Load a saved agent; the algorithm comes from run.json (else ``algo``, else MemoryPPO)."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ValueError(
            f"checkpoint {str(checkpoint)!r} does not exist (expected a model.zip written by train/run)"
        )
    info = load_run_info(checkpoint) or {}
    cls, _ = algo_class(info.get("algo") or algo or "ppo")
    return cls.load(str(checkpoint), device=device), info
