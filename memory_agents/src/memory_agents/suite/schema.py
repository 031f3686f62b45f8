"""The results file: one JSON document per suite, one row per run (finished or failed).

Layout (``schema_version`` 1)::

    {
      "schema_version": 1,
      "suite": {"name": str, "source": str, "description": str, "config": the suite YAML as parsed},
      "created": ISO-8601 UTC, "updated": ISO-8601 UTC,
      "runs": [ROW, ...]
    }

Every ROW has the fields in ``ROW_FIELDS`` (below: name -> (allowed JSON types, meaning)), and
rows written since crash-safe runs also those in ``OPTIONAL_ROW_FIELDS``.
A failed run keeps its identity fields, ``status: "failed"``, ``error`` (the exception and the
tail of its traceback), ``attempts``, and null metrics: failures are recorded, never dropped.

The file is rewritten atomically (``write_atomic``: a temp file, fsynced, then renamed) after
every finished run, so it is valid JSON at every moment, an interrupted suite keeps what it
finished, and a re-run skips those rows by ``run_id`` (and continues the others from their
checkpoints, ``checkpoints``).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("finished", "failed")

_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
_OPT_STR = (str, type(None))

#: name -> (allowed Python types after json.load, meaning)
ROW_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "run_id": ((str,), "stable id: task-difficulty-core-s<seed>-<hash of settings>"),
    "status": ((str,), "'finished' or 'failed'"),
    "task": ((str,), "short task name, e.g. DelayedCue"),
    "env_id": ((str,), "Gymnasium id, e.g. MemoryGym/DelayedCue-v0"),
    "variant": (
        _OPT_STR,
        "the suite's label for a task entry with its own env_kwargs (null: the preset as is)",
    ),
    "difficulty": ((str,), "difficulty preset"),
    "core": ((str,), "memory core name"),
    "algo": ((str,), "'ppo' (MemoryPPO) or 'dqn' (TrialReplayDQN)"),
    "seed": (
        (int,),
        "run seed; its env seeds are config.env_seeds(seed): training rows seed * 2**32 + i, "
        "evaluation rows seed * 2**32 + 2**31 + i",
    ),
    "steps": ((int,), "environment steps trained (requested steps for a failed run)"),
    "success": (_OPT_NUM, "evaluation success rate in [0, 1] (share of episodes with info['is_success'])"),
    "success_ci": ((list, type(None)), "[low, high] 95% Wilson interval of success"),
    "return": (_OPT_NUM, "mean evaluation episode return"),
    "return_ci": ((list, type(None)), "[low, high] 95% Student-t interval of the mean return"),
    "eval_episodes": ((int,), "episodes evaluated (deterministic actions)"),
    "target_success": (
        _OPT_NUM,
        "the difficulty preset's target success rate (null if the task has no preset "
        "or env_kwargs change it)",
    ),
    "wall_time": (_OPT_NUM, "seconds: training + evaluation of the last attempt"),
    "train_time": (_OPT_NUM, "seconds spent in learn()"),
    "sps": (_OPT_NUM, "training environment steps per second"),
    "device": ((str,), "torch device the run used, with the GPU name where there is one"),
    "versions": (
        (dict,),
        "python, torch, numpy, gymnasium, stable_baselines3, memory_agents, memory_gym_envs, git_commit",
    ),
    "host": ((str,), "machine name and CPU count"),
    "curve": ((list,), "learning curve: [{step, success, return, episodes}] from training episodes"),
    "config": (
        (dict,),
        "the full run specification (algo/policy/memory/env kwargs included; 'budget': the "
        "published budget the settings came from, or null)",
    ),
    "attempts": ((int,), "how many times the run was tried"),
    "error": (_OPT_STR, "null, or the last attempt's exception and traceback tail"),
    "log_dir": (_OPT_STR, "run directory (TensorBoard logs, model.zip)"),
    "checkpoint": (_OPT_STR, "saved agent (model.zip) for eval / render"),
    "finished_at": ((str,), "ISO-8601 UTC time the row was written"),
}
#: Fields added after schema_version 1 was published: checked when present (older files lack them).
OPTIONAL_ROW_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "resumed_from_step": (
        (int, type(None)),
        "null, or the step of the checkpoint the run was last continued "
        "from (a crash-safe rerun, or train --resume)",
    ),
    "curriculum": (
        (dict, type(None)),
        "null, or where the run's curriculum ended: its value and the steps it advanced at",
    ),
    "trial_accuracy": (
        _OPT_NUM,
        "evaluation share of correct trials (tasks that score trials, e.g. NeuroGym), else null",
    ),
}
CURVE_FIELDS = ("step", "success", "return", "episodes")


class ResultsError(ValueError):
    """A results file that does not follow the schema; the message says which row and field."""


def task_label(row: dict) -> str:
    """How a row's task is shown and grouped: its variant label, else the task name."""
    return row.get("variant") or row["task"]


def plural(n: int, word: str) -> str:
    """'1 run', '2 runs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def make_row(spec, status: str, env_info: dict, fields: dict | None = None) -> dict:
    """The results row of run ``spec`` (a ``config.RunSpec``): identity and config from the spec,
    null metrics, ``env_info`` (device, versions, host), then ``fields`` on top.

    One builder for finished and failed rows, so both always carry every field; a field name the
    schema does not know is a ValueError (a typo would otherwise add a column no reader checks).
    """
    row = {
        "run_id": spec.run_id,
        "status": status,
        "task": spec.task,
        "env_id": spec.env_id,
        "variant": spec.variant,
        "difficulty": spec.difficulty,
        "core": spec.core,
        "algo": spec.algo,
        "seed": spec.seed,
        "steps": spec.steps,
        "success": None,
        "success_ci": None,
        "return": None,
        "return_ci": None,
        "eval_episodes": spec.eval_episodes,
        "target_success": None,
        "wall_time": None,
        "train_time": None,
        "sps": None,
        **env_info,
        "curve": [],
        "config": spec.to_dict(),
        "attempts": 1,
        "error": None,
        "log_dir": None,
        "checkpoint": None,
        "finished_at": now_iso(),
        "resumed_from_step": None,
        "curriculum": None,
        "trial_accuracy": None,
    }
    fields = fields or {}
    unknown = sorted(set(fields) - set(row))
    if unknown:
        raise ValueError(f"unknown results field(s) {unknown}; the schema's fields: {list(row)}")
    row.update(fields)
    return row


def validate_row(row: dict, where: str = "row") -> None:
    if not isinstance(row, dict):
        raise ResultsError(f"{where}: must be an object, got {type(row).__name__}")
    missing = [k for k in ROW_FIELDS if k not in row]
    if missing:
        raise ResultsError(f"{where}: missing fields {', '.join(missing)}")
    for key, (types, _) in (*ROW_FIELDS.items(), *OPTIONAL_ROW_FIELDS.items()):
        if key not in row:  # only optional fields can be missing here
            continue
        value = row[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ResultsError(
                f"{where}: field {key!r} must be {'/'.join(t.__name__ for t in types)}, got {value!r}"
            )
    if row["status"] not in STATUSES:
        raise ResultsError(f"{where}: status must be one of {STATUSES}, got {row['status']!r}")
    if row["status"] == "failed":
        if not row["error"]:
            raise ResultsError(f"{where}: a failed run must say why (field 'error' is empty)")
        return
    for key in ("success", "return", "wall_time", "sps"):
        if row[key] is None:
            raise ResultsError(f"{where}: a finished run needs {key!r}")
    if not 0.0 <= row["success"] <= 1.0:
        raise ResultsError(f"{where}: success must be in [0, 1], got {row['success']!r}")
    for key in ("success_ci", "return_ci"):
        ci = row[key]
        if ci is None or len(ci) != 2 or not all(isinstance(v, _NUM) for v in ci) or ci[0] > ci[1]:
            raise ResultsError(f"{where}: {key} must be [low, high] with low <= high, got {ci!r}")
    for i, point in enumerate(row["curve"]):
        if not isinstance(point, dict) or any(k not in point for k in CURVE_FIELDS):
            raise ResultsError(
                f"{where}: curve[{i}] must have fields {', '.join(CURVE_FIELDS)}, got {point!r}"
            )


def validate_results(doc: dict, source: str = "results") -> dict:
    """Raise ``ResultsError`` unless ``doc`` follows the schema; return it unchanged."""
    if not isinstance(doc, dict):
        raise ResultsError(f"{source}: must be a JSON object, got {type(doc).__name__}")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(
            f"{source}: schema_version must be {SCHEMA_VERSION}, got {doc.get('schema_version')!r}"
        )
    for key in ("suite", "created", "updated", "runs"):
        if key not in doc:
            raise ResultsError(f"{source}: missing top-level field {key!r}")
    if not isinstance(doc["runs"], list):
        raise ResultsError(f"{source}: 'runs' must be a list")
    seen = set()
    for i, row in enumerate(doc["runs"]):
        validate_row(row, f"{source}: runs[{i}]")
        if row["run_id"] in seen:
            raise ResultsError(f"{source}: runs[{i}]: duplicate run_id {row['run_id']!r}")
        seen.add(row["run_id"])
    return doc


def new_results(suite_name: str, source: str, description: str = "", config: dict | None = None) -> dict:
    stamp = now_iso()
    suite = {"name": suite_name, "source": source, "description": description, "config": config or {}}
    return {"schema_version": SCHEMA_VERSION, "suite": suite, "created": stamp, "updated": stamp, "runs": []}


def load_results(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results file {str(path)!r} does not exist")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    return validate_results(doc, str(path))


def upsert_row(doc: dict, row: dict) -> None:
    """Insert ``row`` or replace the row with the same run_id."""
    validate_row(row, f"run {row.get('run_id')!r}")
    runs = doc["runs"]
    for i, old in enumerate(runs):
        if old["run_id"] == row["run_id"]:
            runs[i] = row
            break
    else:
        runs.append(row)
    doc["updated"] = now_iso()


def save_results(doc: dict, path: str | Path) -> None:
    """Atomic write, so a crash mid-write never leaves a half file."""
    write_atomic(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers (and a run after a kill -9) see the old file or the
    new one, never a part: a temporary file in the same folder, fsynced, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); keep the mode the file had, else a plain 0644
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
