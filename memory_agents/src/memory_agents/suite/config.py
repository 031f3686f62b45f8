"""Suite YAML -> list of runs.

A suite is the cross product tasks x difficulties x cores x seeds with one set of training
settings. Each run gets a stable ``run_id`` (readable prefix + hash of everything that changes its
result, except the device), which is how a re-run recognises finished work.

Suite file format (every key but ``tasks`` and ``cores`` optional)::

    name: basic_v1
    description: one line
    tasks: [DelayedCue, {task: CopyMemory, label: CopyMemory-short, env_kwargs: {length: 4}}]
    difficulties: [easy, medium]  # tasks without presets (NeuroGym) run once, as "default"
    cores: [gru, {core: mamba2, memory_kwargs: {d_state: 16}}]
    seeds: [0, 1, 2]          # or a count: 3 -> 0, 1, 2
    algo: ppo                 # or dqn (trial-replay DQN)
    train: {steps: 50000, num_envs: 8, recurrent_mode: full, device: cpu,
            eval_episodes: 200, curve_points: 20}
    ppo: {n_steps: 128, batch_size: 256, learning_rate: 0.0003}   # kwargs of the algorithm
    policy: {hidden_dim: 64}                                       # policy_kwargs
    budget: preset            # optional: each run's published training budget (memory_agents/budgets.py)
                              # sets steps, num_envs and MemoryPPO kwargs not given above

``train.checkpoint_every``: steps between checkpoints of each run (default: a tenth of its steps;
0: none). A suite killed mid-run and started again continues every unfinished run from its last
checkpoint (``suite.checkpoints``); the setting does not change results, so it is not in run ids.

A task entry with ``env_kwargs`` overrides the preset's parameters; ``label`` names such a
variant in results, tables and plots (needed when one task appears more than once).

Everything is validated at load, so ``--dry-run`` catches it: names, types of the train settings,
algorithm / policy / core keyword arguments (against the classes' signatures), and env_kwargs
(each task is built once with them). Errors name the file, the line and the bad value.

Seeds: run seed ``s`` trains on env rows ``s * 2**32 + i`` and is evaluated on rows
``s * 2**32 + 2**31 + i`` (``env_seeds``), so no two seeds share an episode stream and no
evaluation episode is one a run trained on.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import yaml

from ..recurrent_modes import RECURRENT_MODES
from ..validation import check_choice, check_int, check_schedule, is_int
from . import catalog

TRAIN_DEFAULTS = {
    "steps": 100_000,
    "num_envs": 8,
    "recurrent_mode": "full",
    "device": "cpu",
    "eval_episodes": 100,
    "curve_points": 20,
    "curriculum": None,
    #: Steps between crash-safe checkpoints (``checkpoints``): None = a tenth of the run's steps, 0 = none.
    "checkpoint_every": None,
}
TOP_KEYS = (
    "name",
    "description",
    "tasks",
    "difficulties",
    "cores",
    "seeds",
    "algo",
    "train",
    "ppo",
    "dqn",
    "policy",
    "budget",
)
BUDGET_MODES = ("preset",)

#: Env seeds of run seed s: training rows s * SEED_STRIDE + i, evaluation rows s * SEED_STRIDE + EVAL_OFFSET + i.
SEED_STRIDE = 2**32
EVAL_OFFSET = 2**31
#: Largest run seed: keeps every env seed below 2**62, well inside what the envs' RNG takes.
MAX_SEED = 2**30 - 1
#: More envs than this would let a run's training rows reach its evaluation rows.
MAX_NUM_ENVS = EVAL_OFFSET


class EnvSeeds(NamedTuple):
    train: int
    eval: int


def check_seed(seed, name: str = "seed") -> int:
    return check_int(name, seed, 0, MAX_SEED)


def check_checkpoint_every(value, name: str = "checkpoint_every") -> int | None:
    if value is not None and not (is_int(value) and value >= 0):
        raise ValueError(
            f"{name} must be an integer >= 0 (0: no checkpoints) or null (a tenth of the steps), "
            f"got {value!r}"
        )
    return value


def env_seeds(seed: int) -> EnvSeeds:
    """The env seeds of run seed ``seed``: the one place where run seeds become episode streams.

    A vector env seeded ``x`` plays on row i what a single env seeded ``x + i`` plays (gymnasium's
    convention), so runs seeded 0 and 1 with plain ``x = seed`` would share all but one stream. The
    stride 2**32 (larger than any num_envs) keeps every run's rows apart, and the evaluation rows
    (offset 2**31 within the run's block) apart from every run's training rows.
    """
    base = check_seed(seed) * SEED_STRIDE
    return EnvSeeds(train=base, eval=base + EVAL_OFFSET)


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to train and evaluate one task x difficulty x core x seed."""

    task: str
    env_id: str
    difficulty: str
    core: str
    seed: int
    algo: str = "ppo"
    steps: int = TRAIN_DEFAULTS["steps"]
    num_envs: int = TRAIN_DEFAULTS["num_envs"]
    recurrent_mode: str = TRAIN_DEFAULTS["recurrent_mode"]
    device: str = TRAIN_DEFAULTS["device"]
    eval_episodes: int = TRAIN_DEFAULTS["eval_episodes"]
    curve_points: int = TRAIN_DEFAULTS["curve_points"]
    algo_kwargs: dict = field(default_factory=dict)
    policy_kwargs: dict = field(default_factory=dict)
    memory_kwargs: dict = field(default_factory=dict)
    env_kwargs: dict = field(default_factory=dict)
    variant: str | None = None
    #: The published budget the settings came from (``resolve_settings``); a record, not hashed.
    budget: dict | None = None
    #: A ``memory_agents.curriculum.CurriculumSpec`` as a dict, or a list of them run in order (each
    #: target defaults to the task's value).
    curriculum: dict | list | None = None
    #: Steps between checkpoints (None: a tenth of ``steps``; 0: none); not hashed: results do not depend on it.
    checkpoint_every: int | None = TRAIN_DEFAULTS["checkpoint_every"]

    def __post_init__(self):
        for key in ("steps", "eval_episodes", "curve_points"):
            check_int(key, getattr(self, key), 1)
        check_int("num_envs", self.num_envs, 1, MAX_NUM_ENVS)
        check_seed(self.seed)
        check_checkpoint_every(self.checkpoint_every)
        check_choice("algo", self.algo, catalog.ALGOS)
        check_choice("recurrent_mode", self.recurrent_mode, RECURRENT_MODES)
        if self.curriculum is not None:
            from memory_agents.curriculum import parse_curriculum

            parse_curriculum(self.curriculum)
            if self.algo != "ppo":
                raise ValueError(f"a curriculum needs algo 'ppo', got {self.algo!r}")

    @property
    def checkpoint_interval(self) -> int:
        """Steps between checkpoints with the default resolved (0: none)."""
        return max(1, self.steps // 10) if self.checkpoint_every is None else self.checkpoint_every

    @property
    def name(self) -> str:
        """The task as shown in tables and plots: the suite's label for it, else its name."""
        return self.variant or self.task

    @property
    def run_id(self) -> str:
        """Readable and unique: settings that change the result are hashed in; the device is not."""
        keyed = asdict(self)
        keyed.pop("device")
        keyed.pop("checkpoint_every")  # when to save does not change what is trained
        keyed.pop("budget")  # a record of where the settings came from; the settings themselves are hashed
        if keyed["curriculum"] is None:  # runs without one keep the ids they had before curricula
            keyed.pop("curriculum")
        if keyed["variant"] is None:
            keyed.pop("variant")
        digest = hashlib.sha1(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.name}-{self.difficulty}-{self.core}-s{self.seed}-{digest}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        names = {f.name for f in fields(cls)}
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in names})


@dataclass
class Suite:
    name: str
    description: str
    source: str
    runs: list[RunSpec]
    raw: dict


# ----------------------------------------------------------------------------- YAML with lines
def _line_map(node, path=(), lines=None) -> dict:
    """Path of keys / list indices -> 1-based line of that value in the YAML text."""
    if lines is None:
        lines = {}
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_map(value_node, path + (key_node.value,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), lines)
    return lines


class _Where:
    """Formats errors as '<source>, line N: message' for a path inside the document."""

    def __init__(self, source: str, lines: dict):
        self.source, self.lines = source, lines

    def error(self, path: tuple, message: str) -> SuiteError:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        where = f"{self.source}, line {line}" if line else self.source
        return SuiteError(f"{where}: {message}")

    def check(self, path: tuple, check, *args, **kwargs):
        """``check(*args, **kwargs)``, its ValueError / TypeError raised as a SuiteError at ``path``."""
        try:
            return check(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise self.error(path, str(exc)) from None


def parse_yaml(text: str, source: str) -> tuple[dict, _Where]:
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise SuiteError(f"{source}: invalid YAML at {where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        raise SuiteError(f"{source}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SuiteError(
            f"{source}: a suite must be a YAML mapping with at least 'tasks' and 'cores', got {type(data).__name__}"
        )
    return data, _Where(source, _line_map(node) if node is not None else {})


# ----------------------------------------------------------------------------- validation
def _as_list(data: dict, key: str, where: _Where, required: bool, default=None) -> list:
    if key not in data:
        if required:
            raise where.error((), f"missing required key {key!r}")
        return list(default or [])
    value = data[key]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise where.error((key,), f"{key!r} must be a non-empty list, got {value!r}")
    return value


def _named_entries(data, key, name_key, kwargs_key, where, check):
    """Entries given as 'name' or {name_key: name, kwargs_key: {...}, label: str} -> [(name, kwargs, label)]."""
    out = []
    for i, entry in enumerate(_as_list(data, key, where, required=True)):
        path = (key, i)
        label = None
        if isinstance(entry, dict):
            extra = set(entry) - {name_key, kwargs_key, "label"}
            if name_key not in entry or extra:
                raise where.error(
                    path,
                    f"a {key} entry must be a name or {{{name_key}: NAME, {kwargs_key}: {{...}}, "
                    f"label: NAME}}, got {entry!r}",
                )
            name, kwargs, label = entry[name_key], entry.get(kwargs_key) or {}, entry.get("label")
            if not isinstance(kwargs, dict):
                raise where.error(path + (kwargs_key,), f"{kwargs_key} must be a mapping, got {kwargs!r}")
            if label is not None and not (
                isinstance(label, str) and label.replace("-", "").replace("_", "").isalnum()
            ):
                raise where.error(
                    path + ("label",), f"label must be a name of letters, digits, '-' or '_', got {label!r}"
                )
        else:
            name, kwargs = entry, {}
        try:
            resolved = check(name)
        except ValueError as exc:
            raise where.error(path, str(exc)) from None
        out.append((resolved, dict(kwargs), label))
    names = [label or (r[0] if isinstance(r, tuple) else r) for r, _, label in out]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise where.error(
                (key, i),
                f"{n!r} appears twice in {key}; give each entry a distinct label "
                f"(e.g. {{{name_key}: ..., label: {n}-long, {kwargs_key}: {{...}}}})",
            )
    return out


# ----------------------------------------------------------------------------- keyword arguments
#: Types a YAML / JSON value can take, by the name used in an annotation.
_VALUE_TYPES = {
    "float": (int, float),
    "int": (int,),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
    "dict": (dict,),
    "list": (list,),
    "tuple": (list,),
    "Any": (object,),
}
#: Annotation names no YAML value can be (callables): ignored when deciding what a value may be.
_NOT_FROM_YAML = {"Schedule", "Callable"}
#: Set by the suite / CLI itself, never through a kwargs section.
_RESERVED = {
    "self",
    "policy",
    "env",
    "tensorboard_log",
    "policy_kwargs",
    "seed",
    "device",
    "verbose",
    "_init_setup_model",
    "observation_space",
    "action_space",
    "lr_schedule",
    "memory",
    "memory_kwargs",
}
_POSITIVE = ("learning_rate",)
#: Settings that take a text schedule ("lin_<start>", validation.check_schedule).
_SCHEDULES = ("learning_rate",)


def _accepted(annotation) -> tuple[type, ...] | None:
    """Python types a value of a parameter may have after YAML/JSON parsing, or None to accept anything."""
    if annotation is inspect.Parameter.empty:
        return None
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    names = [part.strip().split("[")[0] for part in text.split("|")]
    names = [n for n in names if n not in _NOT_FROM_YAML]
    if not names or any(n not in _VALUE_TYPES for n in names):
        return None
    return tuple(t for n in names for t in _VALUE_TYPES[n])


def _type_names(types: tuple[type, ...]) -> str:
    names = {
        int: "an integer",
        float: "a number",
        bool: "true/false",
        str: "a string",
        type(None): "null",
        dict: "a mapping",
        list: "a list",
    }
    return " or ".join(
        dict.fromkeys(names.get(t, t.__name__) for t in types if not (t is int and float in types))
    )


def check_kwargs(target, kwargs: dict, what: str) -> None:
    """Check ``kwargs`` against the signature of ``target`` (a class or function): every key a
    parameter it takes (and not one the suite sets itself), every value of a type its annotation
    allows. Raises ValueError naming the key and the value."""
    params = inspect.signature(target).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = [
        n for n, p in params.items() if n not in _RESERVED and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    for key, value in kwargs.items():
        if key in _RESERVED and key in params:
            raise ValueError(f"{what}: {key!r} is set by memory-suite itself; remove it")
        if key not in params:
            if open_ended:
                continue
            raise ValueError(f"{what}: unknown keyword {key!r}; valid: {', '.join(valid)}")
        if key in _SCHEDULES and isinstance(value, str):
            check_schedule(f"{what}: {key}", value)  # only "lin_<start>"; raises naming the value
            continue
        types = _accepted(params[key].annotation)
        if types is None:
            continue
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ValueError(f"{what}: {key} must be {_type_names(types)}, got {value!r}")
        if key in _POSITIVE and isinstance(value, (int, float)) and not value > 0:
            raise ValueError(f"{what}: {key} must be > 0, got {value!r}")


def _classes(algo: str):
    """(algorithm class, policy class) of an ``algo`` name."""
    check_choice("algo", algo, catalog.ALGOS)
    if algo == "ppo":
        from memory_agents.policies import MemoryActorCriticPolicy
        from memory_agents.ppo import MemoryPPO

        return MemoryPPO, MemoryActorCriticPolicy
    from memory_agents.dqn import MemoryQPolicy, TrialReplayDQN

    return TrialReplayDQN, MemoryQPolicy


def check_algo_kwargs(algo: str, kwargs: dict) -> None:
    algo_cls, _ = _classes(algo)
    check_kwargs(algo_cls, kwargs, f"{algo} setting")


def check_policy_kwargs(algo: str, kwargs: dict) -> None:
    _, policy_cls = _classes(algo)
    check_kwargs(policy_cls, kwargs, "policy setting")


def check_core_for_algo(core: str, algo: str) -> None:
    """TrialReplayDQN's Q-network needs a memory core; only MemoryPPO has a memoryless 'mlp' policy."""
    if algo == "dqn":
        from memory_agents.cores import registered_cores

        if core not in registered_cores():
            raise ValueError(
                f"core {core!r} does not work with algo dqn (TrialReplayDQN needs a memory core: "
                f"{', '.join(registered_cores())})"
            )


def check_memory_kwargs(core: str, kwargs: dict, hidden_dim: int = 64) -> None:
    """Build the core once with ``kwargs`` (cheap), so bad names and values fail here."""
    if not kwargs:
        return
    from memory_agents.cores import make_core, registered_cores

    if core not in registered_cores():
        raise ValueError(f"core {core!r} takes no memory_kwargs, got {kwargs!r}")
    try:
        make_core(core, 4, hidden_dim, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"memory_kwargs {kwargs!r} of core {core!r}: {exc}") from None


# ----------------------------------------------------------------------------- budgets
def budget_for(task: str, difficulty: str, env_kwargs: dict | None = None) -> dict:
    """The published training budget of a run (``memory_agents.budgets``), as a plain record:
    {'source', 'steps', 'num_envs', 'algo_kwargs', 'horizon'}. Runs whose env_kwargs change the
    preset, and tasks without one, get the default budget; n_steps follows the task's horizon."""
    from memory_agents.budgets import BUDGETS, DEFAULT_BUDGET, preset_budget

    preset = None if difficulty == catalog.NO_PRESET else difficulty
    published = not env_kwargs and (task, preset) in BUDGETS
    budget = preset_budget(task, preset) if published else DEFAULT_BUDGET
    curriculum = budget.curriculum_record()
    horizon = catalog.task_horizon(task, difficulty, env_kwargs)
    # No n_steps: MemoryPPO's "auto" takes the training env's longest episode (which a
    # curriculum, e.g. T-maze slack, can make longer than the task's).
    return {
        "source": f"{task} {preset}" if published else "default",
        "steps": budget.steps,
        "num_envs": budget.num_envs,
        "algo_kwargs": budget.algo_kwargs(),
        "horizon": horizon,
        "curriculum": curriculum,
    }


def curriculum_spec(task: str, difficulty: str, env_kwargs: dict | None, curriculum: dict | list | None):
    """The run's CurriculumSpecs with their targets resolved (the task's own values), or None."""
    if curriculum is None:
        return None
    from memory_agents.curriculum import parse_curriculum

    return tuple(
        spec.with_target(catalog.task_value(task, difficulty, env_kwargs, spec.param))
        for spec in parse_curriculum(curriculum)
    )


def resolve_settings(
    task: str,
    difficulty: str,
    env_kwargs: dict,
    given: dict,
    algo_kwargs: dict,
    defaults: dict,
    use_budget: bool,
) -> tuple[dict, dict, dict | None]:
    """(train settings, algorithm kwargs, budget record) of one run.

    Precedence: ``given`` (explicit settings) > the budget (with ``use_budget``) > ``defaults``;
    explicit ``algo_kwargs`` override the budget's key by key. The budget record lists which of
    its keys were overridden.
    """
    settings, kwargs, record = {**defaults}, dict(algo_kwargs), None
    if use_budget:
        budget = budget_for(task, difficulty, env_kwargs)
        from_budget = {
            "steps": budget["steps"],
            "num_envs": budget["num_envs"],
            "curriculum": budget["curriculum"],
        }
        budget_kwargs = dict(budget["algo_kwargs"])
        if "recurrent_mode" in budget_kwargs:  # a train setting here, not an algorithm kwarg
            from_budget["recurrent_mode"] = budget_kwargs.pop("recurrent_mode")
        overridden = [k for k in from_budget if k in given] + [k for k in budget_kwargs if k in algo_kwargs]
        settings.update(from_budget)
        kwargs = {**budget_kwargs, **algo_kwargs}
        record = {**budget, "overridden": sorted(overridden)}
    settings.update(given)
    return settings, kwargs, record


def describe_budget(budget: dict) -> str:
    """One line: where a run's budget came from and what it sets."""
    kwargs = ", ".join(f"{k}={v}" for k, v in sorted(budget["algo_kwargs"].items()))
    source = (
        f"published budget for {budget['source']}"
        if budget["source"] != "default"
        else "default budget (none published for this task / env_kwargs)"
    )
    text = (
        f"{source}: {budget['steps']:,} steps, {budget['num_envs']} envs, MemoryPPO {kwargs or 'defaults'}"
        f"{', ' if kwargs else ' with '}n_steps auto (the training env's longest episode)"
    )
    if budget.get("curriculum"):
        text += f", curriculum {budget['curriculum']}"
    if budget["overridden"]:
        text += f"; overridden by your settings: {', '.join(budget['overridden'])}"
    return text


# ----------------------------------------------------------------------------- suites
def load_suite(name_or_path: str, overrides: dict | None = None) -> Suite:
    """Read, validate and expand a suite; ``overrides`` replace keys of its ``train`` section
    (and ``seeds``) as the CLI flags do."""
    try:
        text, source = catalog.suite_source(name_or_path)
    except ValueError as exc:
        raise SuiteError(str(exc)) from None
    return build_suite(text, source, overrides)


def build_suite(text: str, source: str, overrides: dict | None = None) -> Suite:
    data, where = parse_yaml(text, source)
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise where.error((unknown[0],), f"unknown key {unknown[0]!r}; valid keys: {', '.join(TOP_KEYS)}")
    overrides = dict(overrides or {})

    tasks = _named_entries(data, "tasks", "task", "env_kwargs", where, catalog.resolve_task)
    cores = _named_entries(data, "cores", "core", "memory_kwargs", where, catalog.check_core)
    diffs = [
        d
        for d, _, _ in _named_entries(
            {"difficulties": data.get("difficulties", ["easy"])},
            "difficulties",
            "difficulty",
            "_",
            where,
            catalog.check_difficulty,
        )
    ]

    seeds = overrides.pop("seeds", None)
    if seeds is None:
        seeds = data.get("seeds", [0])
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = list(range(where.check(("seeds",), check_int, "seeds (a count)", seeds, 1)))
        seeds = _as_list({"seeds": seeds}, "seeds", where, required=True)
        for i, s in enumerate(seeds):
            where.check(("seeds", i), check_seed, s, "a seed")

    algo = where.check(("algo",), check_choice, "algo", data.get("algo", "ppo"), catalog.ALGOS)

    train = data.get("train") or {}
    if not isinstance(train, dict):
        raise where.error(("train",), f"train must be a mapping, got {train!r}")
    bad = [k for k in train if k not in TRAIN_DEFAULTS]
    if bad:
        raise where.error(
            ("train", bad[0]), f"unknown train setting {bad[0]!r}; valid: {', '.join(TRAIN_DEFAULTS)}"
        )
    settings = {**TRAIN_DEFAULTS, **train, **{k: v for k, v in overrides.items() if v is not None}}
    for key in ("steps", "eval_episodes", "curve_points"):
        where.check(("train", key), check_int, key, settings[key], 1)
    where.check(("train", "num_envs"), check_int, "num_envs", settings["num_envs"], 1, MAX_NUM_ENVS)
    where.check(("train", "checkpoint_every"), check_checkpoint_every, settings["checkpoint_every"])
    if settings["curriculum"] is not None:
        from memory_agents.curriculum import parse_curriculum

        where.check(("train", "curriculum"), parse_curriculum, settings["curriculum"])
    where.check(
        ("train", "recurrent_mode"),
        check_choice,
        "recurrent_mode",
        settings["recurrent_mode"],
        RECURRENT_MODES,
    )
    if not isinstance(settings["device"], str):
        raise where.error(
            ("train", "device"),
            f"device must be a string such as 'cpu', 'cuda' or 'auto', got {settings['device']!r}",
        )

    sections = {}
    for key in ("ppo", "dqn", "policy"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise where.error((key,), f"{key} must be a mapping of keyword arguments, got {value!r}")
        sections[key] = value
    checks = (
        (algo, lambda kw: check_algo_kwargs(algo, kw)),
        ("policy", lambda kw: check_policy_kwargs(algo, kw)),
    )
    for section, check in checks:
        for key, value in sections[section].items():
            where.check((section, key), check, {key: value})
    hidden = sections["policy"].get("hidden_dim", 64)
    for i, (core, core_kwargs, _) in enumerate(cores):
        where.check(("cores", i, "memory_kwargs"), check_core_for_algo, core, algo)
        where.check(("cores", i, "memory_kwargs"), check_memory_kwargs, core, core_kwargs, hidden)

    budget_mode = data.get("budget")
    if budget_mode is not None and budget_mode not in BUDGET_MODES:
        raise where.error(
            ("budget",), f"budget must be one of {', '.join(BUDGET_MODES)} (or left out), got {budget_mode!r}"
        )
    if budget_mode and algo != "ppo":
        raise where.error(
            ("budget",),
            f"budget: {budget_mode} sets MemoryPPO settings; it needs algo: ppo, got algo: {algo}",
        )

    given = {**train, **{k: v for k, v in overrides.items() if v is not None}}
    runs = []
    for i, ((task, env_id), env_kwargs, variant) in enumerate(tasks):
        for diff in diffs if catalog.has_presets(task) else [catalog.NO_PRESET]:
            try:
                catalog.check_env_kwargs(task, diff, env_kwargs)
            except (TypeError, ValueError) as exc:
                path = ("tasks", i, "env_kwargs")
                path += tuple(k for k in env_kwargs if repr(k) in str(exc))[:1]
                raise where.error(path, f"{task} ({diff}) rejects env_kwargs {env_kwargs}: {exc}") from None
            run_settings, algo_kwargs, budget = resolve_settings(
                task, diff, env_kwargs, given, sections[algo], TRAIN_DEFAULTS, bool(budget_mode)
            )
            runs.extend(
                RunSpec(
                    task=task,
                    env_id=env_id,
                    difficulty=diff,
                    core=core,
                    seed=int(seed),
                    algo=algo,
                    variant=variant,
                    algo_kwargs=copy.deepcopy(algo_kwargs),
                    policy_kwargs=copy.deepcopy(sections["policy"]),
                    memory_kwargs=copy.deepcopy(core_kwargs),
                    env_kwargs=copy.deepcopy(env_kwargs),
                    budget=copy.deepcopy(budget),
                    **run_settings,
                )
                for core, core_kwargs, _ in cores
                for seed in seeds
            )
    ids = [r.run_id for r in runs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SuiteError(
            f"{source}: the suite lists the same run twice ({dupes[0]}); remove the duplicate entry"
        )
    name = data.get("name") or Path(source.split(" ")[0]).stem
    return Suite(
        name=str(name), description=str(data.get("description", "")), source=source, runs=runs, raw=data
    )
