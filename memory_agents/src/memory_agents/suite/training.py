"""Train and evaluate one run (task x difficulty x core x seed) and describe it as a results row.

One function, ``train_run``, serves ``memory-suite train`` and every suite backend, so a row
in a suite's JSON means exactly what a single ``train`` prints. The run directory holds the
TensorBoard logs (``tb/``), the saved agent (``model.zip``), optional checkpoints and ``run.json``
(the row, also used by ``eval`` / ``render`` to rebuild the environment: ``artifacts``).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from . import catalog, checkpoints, schema
from .artifacts import algo_class, make_env
from .config import RunSpec, curriculum_spec, env_seeds
from .evaluation import evaluate_agent

_VERSION_PACKAGES = ("torch", "numpy", "gymnasium", "stable-baselines3", "memory-agents", "memory-gym-envs")


def _git_commit() -> str | None:
    """HEAD of the checkout this package runs from (with '+dirty' if it has local changes), if any."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def environment_info(device, resolve: bool = True) -> dict:
    """'device', 'versions' and 'host' fields of a row."""
    versions = {"python": platform.python_version()}
    for pkg in _VERSION_PACKAGES:
        try:
            versions[pkg.replace("-", "_")] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg.replace("-", "_")] = None
    versions["git_commit"] = _git_commit()
    name = str(device)
    if resolve:
        import torch

        dev = torch.device(device)
        name = str(dev)
        if dev.type == "cuda":
            name += f" ({torch.cuda.get_device_name(dev)})"
    host = f"{socket.gethostname()} ({platform.machine()}, {os.cpu_count()} CPUs, {platform.system()})"
    return {"device": name, "versions": versions, "host": host}


class CurveCallback(BaseCallback):
    """Learning curve from the training episodes themselves: at ``points`` evenly spaced steps,
    the success rate and mean return of the episodes finished since the previous point."""

    def __init__(self, total_steps: int, points: int, start_step: int = 0):
        super().__init__()
        span = max(total_steps - start_step, 1)
        self.marks = [start_step + span * (i + 1) / points for i in range(points)]
        self.curve: list[dict] = []
        self._succ: list[float] = []
        self._ret: list[float] = []
        self._running: np.ndarray | None = None

    def _on_step(self) -> bool:
        rewards = np.asarray(self.locals["rewards"], dtype=np.float64).reshape(-1)
        dones = np.asarray(self.locals["dones"], dtype=bool).reshape(-1)
        infos = self.locals.get("infos") or [{}] * len(dones)
        if self._running is None or len(self._running) != len(rewards):
            self._running = np.zeros(len(rewards))
        self._running += rewards
        for i in np.flatnonzero(dones):
            info = infos[i]
            if "is_success" in info:
                self._succ.append(float(bool(info["is_success"])))
            self._ret.append(float(self._running[i]))
            self._running[i] = 0.0
        while self.marks and self.num_timesteps >= self.marks[0] - 1e-9:
            self.marks.pop(0)
            self._flush()
        return True

    def _flush(self) -> None:
        if not self._ret:
            return
        point = {
            "step": int(self.num_timesteps),
            "success": float(np.mean(self._succ)) if self._succ else None,
            "return": float(np.mean(self._ret)),
            "episodes": len(self._ret),
        }
        self.curve.append(point)
        if point["success"] is not None:
            self.logger.record("suite/train_success", point["success"])
        self.logger.record("suite/train_return", point["return"])
        self._succ, self._ret = [], []

    def _on_training_end(self) -> None:
        self._flush()


def _build_model(spec: RunSpec, env, run_dir: Path, resume: str | None):
    cls, policy = algo_class(spec.algo)
    if resume:
        if not Path(resume).is_file():
            raise ValueError(f"--resume checkpoint {resume!r} does not exist")
        model = cls.load(resume, env=env, device=spec.device)
        model.tensorboard_log = str(run_dir / "tb")
        return model
    policy_kwargs = {"memory": spec.core, "memory_kwargs": dict(spec.memory_kwargs), **spec.policy_kwargs}
    kwargs = dict(spec.algo_kwargs)
    if spec.algo == "ppo":
        kwargs.setdefault("recurrent_mode", spec.recurrent_mode)
    return cls(
        policy,
        env,
        policy_kwargs=policy_kwargs,
        tensorboard_log=str(run_dir / "tb"),
        seed=spec.seed,
        device=spec.device,
        verbose=0,
        **kwargs,
    )


def whole_rollouts(model, steps: int) -> int:
    """``steps`` rounded up to what ``learn`` actually trains: whole rollouts of n_steps x n_envs
    for on-policy algorithms, whole vector steps of n_envs otherwise."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    chunk = model.n_steps * model.n_envs if isinstance(model, OnPolicyAlgorithm) else model.n_envs
    return -(-steps // chunk) * chunk


def train_run(
    spec: RunSpec,
    run_dir,
    *,
    resume: str | None = None,
    progress: bool = False,
    log=None,
    finish: bool = True,
) -> dict:
    """Train ``spec`` (or continue ``resume`` up to ``spec.steps``), save, evaluate; return the row.

    Training and evaluation envs are seeded by ``env_seeds(spec.seed)``. Every
    ``spec.checkpoint_interval`` steps the run checkpoints into ``run_dir/checkpoints``, and a call
    after a crash continues from the newest checkpoint (``checkpoints``; it takes precedence over
    ``resume``, which it has got further than). A resumed run plays fresh episode streams
    (``checkpoints.resume_seed``) and its row says where it resumed (``resumed_from_step``).
    ``log``: called with a line describing what is about to be trained (the CLI prints it).
    ``finish``: mark the checkpoint record finished once run.json is written, so a new call trains
    from scratch (the suite runner marks it itself, once its results file holds the row).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    seeds = env_seeds(spec.seed)
    record = checkpoints.load_record(run_dir, spec.run_id)
    if record is None:
        checkpoints.clear(run_dir, keep=resume)  # an earlier, finished attempt's; this one starts over
    resume_from = record["model"] if record else resume
    curriculum = curriculum_spec(spec.task, spec.difficulty, spec.env_kwargs, spec.curriculum)
    if curriculum is not None:
        from memory_agents.curriculum import CurriculumCallback, build_kwargs
    env = make_env(spec, spec.num_envs, seeds.train, build_kwargs(curriculum) if curriculum else None)
    model = _build_model(spec, env, run_dir, resume_from)
    # Versions as the run starts: the code this process imported, whatever HEAD is when it ends.
    env_info = environment_info(model.device)
    if record and record.get("replay_buffer"):
        model.load_replay_buffer(record["replay_buffer"])
    done_steps = int(model.num_timesteps) if resume_from else 0
    # Building or loading an SB3 model seeds its env with the model's seed; give the env the run's
    # streams back (a resumed run: fresh ones, not a replay of the streams it began with).
    env.seed(checkpoints.resume_seed(seeds.train, done_steps, spec.num_envs) if resume_from else seeds.train)
    remaining = spec.steps - done_steps
    if remaining < 0:
        raise ValueError(f"steps={spec.steps} is below the {done_steps} steps the checkpoint already has")
    to_train = whole_rollouts(model, remaining) if remaining else 0
    if log is not None:
        rounded = f" ({remaining:,} rounded up to whole rollouts)" if to_train != remaining else ""
        algo = type(model).__name__
        mode = f", {spec.recurrent_mode}" if spec.algo == "ppo" else ""
        resumed = f", resuming from the checkpoint at step {done_steps:,}" if record else ""
        log(
            f"training {algo} ({spec.core}{mode}) on {catalog.run_label(spec.task, spec.difficulty, spec.env_kwargs)} "
            f"for {to_train:,} steps{rounded}, {spec.num_envs} envs -> {run_dir}{resumed}"
        )

    # A run continued from its own checkpoint keeps its curve: same marks, the points so far restored.
    curve = CurveCallback(done_steps + to_train, spec.curve_points, start_step=0 if record else done_steps)
    if record:
        _restore_curve(curve, record["extra"].get("curve"), done_steps)
    callbacks = [curve]
    if curriculum is not None:
        callbacks.append(CurriculumCallback(curriculum))
    every = spec.checkpoint_interval
    tracked = bool(every or record)  # the record must end up finished, or a rerun would resume again
    if every:
        callbacks.append(
            checkpoints.CheckpointCallback(
                run_dir, spec.run_id, every, extra=lambda: {"curve": _curve_state(curve)}
            )
        )
    t0 = time.perf_counter()
    if to_train:
        model.learn(
            to_train,
            callback=callbacks,
            progress_bar=progress,
            reset_num_timesteps=not resume_from,
            tb_log_name=spec.algo,
        )
    train_time = time.perf_counter() - t0
    checkpoint = run_dir / "model.zip"
    checkpoints.save_model(model, checkpoint)
    if tracked:  # a kill from here on costs only the evaluation
        checkpoints.register_final(
            run_dir, spec.run_id, checkpoint.name, model.num_timesteps, {"curve": _curve_state(curve)}
        )
    env.close()

    eval_env = make_env(spec, min(spec.num_envs, spec.eval_episodes), seeds.eval)
    ev = evaluate_agent(model, eval_env, spec.eval_episodes, deterministic=True)
    eval_env.close()
    trained = int(model.num_timesteps)
    row = schema.make_row(
        spec,
        "finished",
        env_info,
        {
            "steps": trained,
            "success": ev["success"],
            "success_ci": ev["success_ci"],
            "return": ev["return"],
            "return_ci": ev["return_ci"],
            "eval_episodes": ev["episodes"],
            "trial_accuracy": ev["trial_accuracy"],
            "target_success": None if spec.env_kwargs else catalog.target_success(spec.task, spec.difficulty),
            "wall_time": time.perf_counter() - start,
            "train_time": train_time,
            "sps": (trained - done_steps) / train_time if train_time > 0 else 0.0,
            "curve": curve.curve,
            "log_dir": str(run_dir),
            "checkpoint": str(checkpoint),
            # Where the curriculum ended and when it advanced (evaluation is always on the run's own task).
            "curriculum": getattr(model, "curriculum_state", None) if curriculum is not None else None,
            "resumed_from_step": done_steps if resume_from else None,
        },
    )
    schema.validate_row(row, f"run {spec.run_id}")
    schema.write_atomic(run_dir / "run.json", json.dumps(row, indent=1) + "\n")
    if tracked and finish:
        checkpoints.mark_finished(run_dir, spec.run_id)
    return row


def _curve_state(curve) -> dict:
    """What a resumed run needs of its ``CurveCallback``: the points so far and the episodes since the last."""
    return {"points": list(curve.curve), "success": list(curve._succ), "return": list(curve._ret)}


def _restore_curve(curve, state: dict | None, step: int) -> None:
    """Put ``_curve_state`` back into a fresh ``CurveCallback`` of the same run, resumed at ``step``."""
    state = state or {}
    curve.curve[:] = state.get("points", [])
    curve._succ[:] = state.get("success", [])
    curve._ret[:] = state.get("return", [])
    curve.marks = [m for m in curve.marks if m > step + 1e-9]  # the points up to step were flushed already
