"""What can be named in a suite or on the command line: tasks, difficulties, cores, algorithms, suites.

Every lookup that fails raises ``ValueError`` naming the bad name and listing the valid ones, so
a typo in a YAML file or a flag is a one-line fix.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from memory_gym_envs.ids import NAMESPACE, short_name

from ..validation import check_choice

ALGOS = ("ppo", "dqn")
#: The difficulty recorded for tasks without presets (NeuroGym wrappers: set their kwargs instead).
NO_PRESET = "default"


def task_catalog() -> dict[str, str]:
    """Short task name -> Gymnasium id, for every task registered by ``memory_gym_envs``."""
    import gymnasium as gym

    import memory_gym_envs

    ids = list(memory_gym_envs.list_tasks())
    # NeuroGym wrappers and later additions register in the namespace; list them too.
    ids.extend(k for k in gym.registry if k.startswith(f"{NAMESPACE}/") and k not in ids)
    return {short_name(i): i for i in ids}


def resolve_task(name: str) -> tuple[str, str]:
    """(short name, env id) for a task given by short name or by full id."""
    catalog = task_catalog()
    if not isinstance(name, str) or not name:
        raise ValueError(f"task must be a non-empty task name, got {name!r}")
    if name in catalog:
        return name, catalog[name]
    for short, env_id in catalog.items():
        if env_id == name:
            return short, env_id
    raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(catalog))}")


def difficulties() -> tuple[str, ...]:
    import memory_gym_envs

    return tuple(memory_gym_envs.DIFFICULTIES)


def check_difficulty(difficulty: str) -> str:
    return check_choice("difficulty", difficulty, difficulties())


def has_presets(task: str) -> bool:
    """Whether a task (short name) has difficulty presets (native tasks do, NeuroGym ones do not)."""
    import memory_gym_envs

    return task in {cls.name for cls in memory_gym_envs.TASK_CLASSES}


def task_difficulty(task: str, difficulty: str | None) -> str:
    """The difficulty a run of ``task`` uses: a checked preset name, or NO_PRESET for tasks without presets."""
    if has_presets(task):
        return check_difficulty(difficulty or "easy")
    if difficulty not in (None, NO_PRESET):
        raise ValueError(
            f"task {task!r} has no difficulty presets; leave difficulty out (or {NO_PRESET!r}) "
            f"and set its parameters with env_kwargs, got difficulty={difficulty!r}"
        )
    return NO_PRESET


def target_success(task: str, difficulty: str) -> float | None:
    """The preset's target success rate, or None where the task has no preset (e.g. NeuroGym)."""
    import memory_gym_envs

    if difficulty == NO_PRESET:
        return None
    try:
        return float(memory_gym_envs.get_preset(task, difficulty).target_success)
    except (KeyError, ValueError, AttributeError):
        return None


def native_task(task: str, difficulty: str, env_kwargs: dict | None = None):
    """The batched task object of a run's environment (one row), or None for tasks without presets
    (NeuroGym). Building it validates ``env_kwargs``: a bad value raises the task's ValueError."""
    if difficulty == NO_PRESET or not has_presets(task):
        return None
    import gymnasium as gym

    env = gym.make_vec(task_catalog()[task], num_envs=1, difficulty=difficulty, **dict(env_kwargs or {}))
    try:
        return env.unwrapped.task
    finally:
        env.close()


def check_env_kwargs(task: str, difficulty: str, env_kwargs: dict | None) -> None:
    """Raise the environment's own error (ValueError / TypeError) if ``env_kwargs`` cannot build the task."""
    if not env_kwargs:
        return
    if has_presets(task):
        native_task(task, difficulty, env_kwargs)
        return
    import gymnasium as gym

    gym.make(task_catalog()[task], **env_kwargs).close()


def task_horizon(task: str, difficulty: str, env_kwargs: dict | None = None) -> int | None:
    """Longest episode of the run's environment in steps (None where the task does not say)."""
    built = native_task(task, difficulty, env_kwargs)
    horizon = getattr(built, "max_steps", None) or getattr(built, "horizon", None)
    return int(horizon) if horizon else None


def task_value(task: str, difficulty: str, env_kwargs: dict | None, param: str):
    """The value of one parameter of the run's task (preset + env_kwargs), e.g. a curriculum's target."""
    built = native_task(task, difficulty, env_kwargs)
    if built is None or not hasattr(built, param):
        raise ValueError(f"task {task!r} has no parameter {param!r} to run a curriculum on")
    return getattr(built, param)


def memoryless_ceiling(task: str, difficulty: str, env_kwargs: dict | None = None) -> float | None:
    """Best success without memory for this exact task configuration (None where unknown)."""
    try:
        return float(native_task(task, difficulty, env_kwargs).memoryless_ceiling)
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        return None


def run_label(task: str, difficulty: str, env_kwargs: dict | None = None, variant: str | None = None) -> str:
    """How a run's environment is named in plots and printouts.

    "DelayedCue (easy)" for a preset as is; with env_kwargs the overridden parameters are named
    ("DelayedCue (easy; delay=120)"), and the difficulty is left out when they replace every
    parameter of the preset ("DelayedCue (num_cues=2, delay=2)"). A suite's label for a variant
    stands for its env_kwargs ("DelayedCue-d10").
    """
    env_kwargs = dict(env_kwargs or {})
    parts = []
    if difficulty != NO_PRESET:
        import memory_gym_envs

        try:
            preset_keys = set(memory_gym_envs.get_preset(task, difficulty).params)
        except (KeyError, ValueError):
            preset_keys = set()
        if not preset_keys or not preset_keys <= set(env_kwargs):
            parts.append(difficulty)
    if env_kwargs and not variant:
        parts.append(", ".join(f"{k}={v}" for k, v in env_kwargs.items()))
    name = variant or task
    return f"{name} ({'; '.join(parts)})" if parts else name


def core_names() -> tuple[str, ...]:
    """Registered memory cores plus "mlp" (the memoryless baseline policy)."""
    from memory_agents.policies import memory_names

    return tuple(memory_names())


def check_core(core: str) -> str:
    return check_choice("core", core, core_names())


def _suite_dir():
    return resources.files("memory_agents.suite") / "suites"


def suite_names() -> tuple[str, ...]:
    """Names of the suites shipped with the package (``suites/*.yaml``)."""
    return tuple(sorted(p.name[: -len(".yaml")] for p in _suite_dir().iterdir() if p.name.endswith(".yaml")))


def suite_source(name_or_path: str) -> tuple[str, str]:
    """(YAML text, where it came from) for a shipped suite name or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ValueError(f"suite file {str(candidate)!r} does not exist")
        return candidate.read_text(), str(candidate)
    names = suite_names()
    if name_or_path not in names:
        raise ValueError(
            f"unknown suite {name_or_path!r}; shipped suites: {', '.join(names)} (or give a path to a .yaml file)"
        )
    return (_suite_dir() / f"{name_or_path}.yaml").read_text(), f"{name_or_path} (shipped)"
