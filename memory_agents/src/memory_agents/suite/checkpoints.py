"""Crash-safe runs: periodic checkpoints in a run directory, and resuming from the newest one.

A run with ``checkpoint_every`` set writes under ``RUN_DIR/checkpoints/``:

- ``model_<steps>_steps.zip``: the agent, with what a resume needs (policy, optimizer,
  ``num_timesteps``, learning-rate / exploration progress, MemoryPPO's ``curriculum_state``);
  for TrialReplayDQN also ``model_<steps>_steps_replay.pkl``, its replay buffer (only the newest kept);
- ``latest.json``: the record of the newest complete checkpoint: ``run_id``, ``step``, its files
  (relative to the run directory), the learning curve so far, and ``finished``.

Every file is written under a temporary name, fsynced and renamed into place (``os.replace``),
``latest.json`` last, so a kill -9 at any moment leaves a record that points at complete files.
``training.train_run`` continues an unfinished run from its record, so the same command run
again loses at most one checkpoint interval. After the final ``model.zip`` is saved the record
points at it (a kill during evaluation only re-evaluates); once the run's row is stored (run.json
for ``train``, the results file for a suite) it is marked finished, and a new call trains the
run from scratch.

Checkpoints are taken where the algorithm's state is whole: MemoryPPO between rollouts (after
the update; the interval rounds up to whole rollouts), TrialReplayDQN after any step.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from ..validation import check_int
from .config import EVAL_OFFSET
from .schema import now_iso, write_atomic

DIRNAME = "checkpoints"
RECORD = "latest.json"
_FILE = re.compile(r"model_\d+_steps(_replay\.pkl|\.zip)")


def record_path(run_dir) -> Path:
    return Path(run_dir) / DIRNAME / RECORD


def _write_record(run_dir: Path, record: dict) -> None:
    write_atomic(record_path(run_dir), json.dumps(record, indent=1) + "\n")


def save_model(model, path) -> None:
    """``model.save`` to ``path`` atomically (SB3 writes the zip in place)."""
    buffer = io.BytesIO()
    model.save(buffer)
    write_atomic(path, buffer.getvalue())


def save_checkpoint(model, run_dir, run_id: str, extra: dict | None = None) -> dict:
    """Write a checkpoint of ``model`` at its ``num_timesteps``, then the record pointing at it."""
    run_dir = Path(run_dir)
    step = int(model.num_timesteps)
    name = f"{DIRNAME}/model_{step}_steps"
    save_model(model, run_dir / f"{name}.zip")
    replay = None
    if getattr(model, "replay_buffer", None) is not None and hasattr(model, "save_replay_buffer"):
        replay = f"{name}_replay.pkl"
        buffer = io.BytesIO()
        model.save_replay_buffer(buffer)
        write_atomic(run_dir / replay, buffer.getvalue())
    old = _read(record_path(run_dir))
    record = {
        "run_id": run_id,
        "step": step,
        "model": f"{name}.zip",
        "replay_buffer": replay,
        "extra": extra or {},
        "finished": False,
        "saved_at": now_iso(),
    }
    _write_record(run_dir, record)
    if old and old.get("replay_buffer") and old["replay_buffer"] != replay:  # only the newest is needed
        (run_dir / old["replay_buffer"]).unlink(missing_ok=True)
    return record


def register_final(run_dir, run_id: str, model_file: str, step: int, extra: dict | None = None) -> None:
    """Point the record at the run's final model (a run killed during evaluation only re-evaluates)."""
    _write_record(
        Path(run_dir),
        {
            "run_id": run_id,
            "step": int(step),
            "model": model_file,
            "replay_buffer": None,
            "extra": extra or {},
            "finished": False,
            "saved_at": now_iso(),
        },
    )


def mark_finished(run_dir, run_id: str) -> None:
    """Mark the run's record finished (its row is stored): a later call trains it from scratch."""
    record = _read(record_path(run_dir))
    if record is not None and record["run_id"] == run_id and not record.get("finished"):
        _write_record(Path(run_dir), {**record, "finished": True})


def _read(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"checkpoint record {str(path)!r} is not valid JSON ({exc.msg}); delete it to train "
            f"the run from scratch"
        ) from None
    if not isinstance(record, dict) or not {"run_id", "step", "model"} <= set(record):
        raise ValueError(
            f"checkpoint record {str(path)!r} lacks run_id / step / model; delete it to train the "
            f"run from scratch"
        )
    return record


def load_record(run_dir, run_id: str) -> dict | None:
    """The record of an unfinished run in ``run_dir`` (file paths made absolute), or None.

    Raises ValueError when the record belongs to another run or its files are missing.
    """
    run_dir = Path(run_dir)
    path = record_path(run_dir)
    record = _read(path)
    if record is None or record.get("finished"):
        return None
    if record["run_id"] != run_id:
        raise ValueError(
            f"checkpoint record {str(path)!r} belongs to run {record['run_id']!r}, not {run_id!r}; "
            f"use another log dir or delete {str(path.parent)!r}"
        )
    for key in ("model", "replay_buffer"):
        if record.get(key):
            record[key] = str(run_dir / record[key])
            if not Path(record[key]).is_file():
                raise ValueError(
                    f"checkpoint record {str(path)!r} names {record[key]!r}, which does not exist; "
                    f"delete {str(path)!r} to train the run from scratch"
                )
    return record


def clear(run_dir, keep=None) -> None:
    """Remove the checkpoints of an earlier attempt (a fresh start of the run), except ``keep``."""
    folder = Path(run_dir) / DIRNAME
    if not folder.is_dir():
        return
    keep = Path(keep).resolve() if keep else None
    for path in folder.iterdir():
        if (path.name == RECORD or _FILE.fullmatch(path.name)) and path.resolve() != keep:
            path.unlink(missing_ok=True)


def resume_seed(train_seed: int, step: int, num_envs: int) -> int:
    """Env seed of a run resumed at ``step``: rows ``train_seed + step + i`` (wrapped inside the run's
    training block of ``config.env_seeds``), so the resumed part plays fresh episodes instead of
    replaying the streams the run started on, and never reaches another run's or evaluation rows."""
    return train_seed + step % (EVAL_OFFSET - num_envs)


class CheckpointCallback(BaseCallback):
    """Checkpoint every ``every`` steps where the algorithm's state is whole (see module docstring);
    ``extra()`` is stored in the record (the learning curve so far)."""

    def __init__(self, run_dir, run_id: str, every: int, extra: Callable[[], dict] | None = None):
        super().__init__()
        every = check_int("checkpoint_every", every, 1)
        self.run_dir, self.run_id, self.every, self.extra = Path(run_dir), run_id, every, extra
        self._next = every

    def _due_after(self, step: int) -> int:
        return (step // self.every + 1) * self.every

    def _on_training_start(self) -> None:
        self._on_policy = isinstance(self.model, OnPolicyAlgorithm)
        self._next = self._due_after(self.model.num_timesteps)

    def _maybe_save(self) -> None:
        step = self.model.num_timesteps
        if step >= self._next:
            save_checkpoint(self.model, self.run_dir, self.run_id, self.extra() if self.extra else None)
            self._next = self._due_after(step)

    def _on_rollout_start(self) -> None:
        if self._on_policy:  # the previous rollout's update is done; the new rollout has not begun
            self._maybe_save()

    def _on_step(self) -> bool:
        if not self._on_policy:  # TrialReplayDQN commits each step whole before callbacks run
            self._maybe_save()
        return True
