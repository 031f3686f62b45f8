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

A task entry with ``env_kwargs`` overrides the preset's parameters; ``label`` names such a
variant in results, tables and plots (needed when one task appears more than once).

Errors name the file and line (YAML syntax errors and unknown names alike).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from . import catalog

TRAIN_DEFAULTS = {
    "steps": 100_000,
    "num_envs": 8,
    "recurrent_mode": "full",
    "device": "cpu",
    "eval_episodes": 100,
    "curve_points": 20,
}
TOP_KEYS = ("name", "description", "tasks", "difficulties", "cores", "seeds", "algo", "train", "ppo", "dqn", "policy")


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

    def __post_init__(self):
        for key in ("steps", "num_envs", "eval_episodes", "curve_points"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        catalog.check_choice("algo", self.algo, catalog.ALGOS)
        catalog.check_choice("recurrent_mode", self.recurrent_mode, catalog.RECURRENT_MODES)

    @property
    def name(self) -> str:
        """The task as shown in tables and plots: the suite's label for it, else its name."""
        return self.variant or self.task

    @property
    def run_id(self) -> str:
        """Readable and unique: settings that change the result are hashed in; the device is not."""
        keyed = asdict(self)
        keyed.pop("device")
        if keyed["variant"] is None:
            keyed.pop("variant")
        digest = hashlib.sha1(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.name}-{self.difficulty}-{self.core}-s{self.seed}-{digest}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
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


def parse_yaml(text: str, source: str) -> tuple[dict, _Where]:
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise SuiteError(f"{source}: invalid YAML at {where}: {exc.problem or exc.context}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: a suite must be a YAML mapping with at least 'tasks' and 'cores', got {type(data).__name__}")
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
                raise where.error(path, f"a {key} entry must be a name or {{{name_key}: NAME, {kwargs_key}: {{...}}, "
                                        f"label: NAME}}, got {entry!r}")
            name, kwargs, label = entry[name_key], entry.get(kwargs_key) or {}, entry.get("label")
            if not isinstance(kwargs, dict):
                raise where.error(path + (kwargs_key,), f"{kwargs_key} must be a mapping, got {kwargs!r}")
            if label is not None and not (isinstance(label, str) and label.replace("-", "").replace("_", "").isalnum()):
                raise where.error(path + ("label",), f"label must be a name of letters, digits, '-' or '_', got {label!r}")
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
            raise where.error((key, i), f"{n!r} appears twice in {key}; give each entry a distinct label "
                                        f"(e.g. {{{name_key}: ..., label: {n}-long, {kwargs_key}: {{...}}}})")
    return out


def _positive_int(value, key, where, path, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise where.error(path, f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


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
    diffs = [d for d, _, _ in _named_entries({"difficulties": data.get("difficulties", ["easy"])}, "difficulties",
                                           "difficulty", "_", where, catalog.check_difficulty)]

    seeds = overrides.pop("seeds", None)
    if seeds is None:
        seeds = data.get("seeds", [0])
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = list(range(_positive_int(seeds, "seeds (a count)", where, ("seeds",))))
        seeds = _as_list({"seeds": seeds}, "seeds", where, required=True)
        for i, s in enumerate(seeds):
            _positive_int(s, "a seed", where, ("seeds", i), minimum=0)

    algo = data.get("algo", "ppo")
    if algo not in catalog.ALGOS:
        raise where.error(("algo",), f"algo must be one of {', '.join(catalog.ALGOS)}, got {algo!r}")

    train = data.get("train") or {}
    if not isinstance(train, dict):
        raise where.error(("train",), f"train must be a mapping, got {train!r}")
    bad = [k for k in train if k not in TRAIN_DEFAULTS]
    if bad:
        raise where.error(("train", bad[0]), f"unknown train setting {bad[0]!r}; valid: {', '.join(TRAIN_DEFAULTS)}")
    settings = {**TRAIN_DEFAULTS, **train, **{k: v for k, v in overrides.items() if v is not None}}
    for key in ("steps", "num_envs", "eval_episodes", "curve_points"):
        _positive_int(settings[key], key, where, ("train", key))
    if settings["recurrent_mode"] not in catalog.RECURRENT_MODES:
        raise where.error(("train", "recurrent_mode"), f"recurrent_mode must be one of {', '.join(catalog.RECURRENT_MODES)}, "
                                                       f"got {settings['recurrent_mode']!r}")
    if not isinstance(settings["device"], str):
        raise where.error(("train", "device"), f"device must be a string such as 'cpu', 'cuda' or 'auto', got {settings['device']!r}")

    sections = {}
    for key in ("ppo", "dqn", "policy"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise where.error((key,), f"{key} must be a mapping of keyword arguments, got {value!r}")
        sections[key] = value

    runs = [
        RunSpec(task=task, env_id=env_id, difficulty=diff, core=core, seed=int(seed), algo=algo, variant=variant,
                algo_kwargs=copy.deepcopy(sections[algo]), policy_kwargs=copy.deepcopy(sections["policy"]),
                memory_kwargs=copy.deepcopy(core_kwargs), env_kwargs=copy.deepcopy(env_kwargs), **settings)
        for (task, env_id), env_kwargs, variant in tasks
        for diff in (diffs if catalog.has_presets(task) else [catalog.NO_PRESET])
        for core, core_kwargs, _ in cores
        for seed in seeds
    ]
    ids = [r.run_id for r in runs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SuiteError(f"{source}: the suite lists the same run twice ({dupes[0]}); remove the duplicate entry")
    name = data.get("name") or Path(source.split(" ")[0]).stem
    return Suite(name=str(name), description=str(data.get("description", "")), source=source, runs=runs, raw=data)
