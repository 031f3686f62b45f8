"""Execute a suite's runs: in this process, in a local process pool, or on a Ray cluster.

All backends share one loop: submit pending runs, collect each outcome, retry a run that
raised (up to ``retries`` extra attempts), and write its row (finished or failed) into the one
results JSON as soon as it is known. The main process is the only writer of that file.
Runs whose ``run_id`` is already ``finished`` in the file are skipped; failed ones are tried again.
Each run checkpoints into its run directory (``train.checkpoint_every``), so after a crash or
kill -9 the same command continues every unfinished run from its last checkpoint
(``checkpoints``), and the file, written atomically, keeps every row it held.
"""

from __future__ import annotations

import os
import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from ..validation import check_int
from . import checkpoints, schema
from .config import RunSpec, Suite


def execute_run(spec_dict: dict, run_dir: str, threads: int) -> dict:
    """Train + evaluate one run; never raises: a failure comes back as a 'failed' row.

    Module-level (picklable) so process pools and Ray workers can call it.
    """
    spec = RunSpec.from_dict(spec_dict)
    try:
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        from .training import train_run

        return train_run(
            spec, Path(run_dir), progress=False, finish=False
        )  # finished once the results hold it
    except Exception as exc:  # noqa: BLE001 - the row records it; the runner decides on retries
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
        return failed_row(spec, f"{type(exc).__name__}: {exc}\n{tb}", run_dir)


def failed_row(spec: RunSpec, error: str, run_dir: str | None) -> dict:
    from .training import environment_info

    env_info = environment_info(spec.device, resolve=False)
    return schema.make_row(
        spec, "failed", env_info, {"error": error, "log_dir": str(run_dir) if run_dir else None}
    )


# ----------------------------------------------------------------------------- backends
class _InlineBackend:
    """Runs one at a time in this process (workers=1): no start-up cost, same code path."""

    def __init__(self, threads):
        self.threads = threads
        self._queue = []

    def submit(self, key, spec, run_dir):
        self._queue.append((key, spec, run_dir))

    def next_done(self):
        key, spec, run_dir = self._queue.pop(0)
        return key, execute_run(spec.to_dict(), str(run_dir), self.threads)

    def close(self):
        pass


class _PoolBackend:
    """A spawn-context process pool: each run in a fresh interpreter (torch and fork don't mix)."""

    def __init__(self, workers, threads):
        self.workers = workers
        self.pool = self._new_pool()
        self.threads = threads
        self.futures = {}

    def _new_pool(self):
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"))

    def submit(self, key, spec, run_dir):
        try:
            fut = self.pool.submit(execute_run, spec.to_dict(), str(run_dir), self.threads)
        except BrokenProcessPool:  # a worker died (e.g. killed for memory): start a fresh pool
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            fut = self.pool.submit(execute_run, spec.to_dict(), str(run_dir), self.threads)
        self.futures[fut] = (key, spec, run_dir)

    def next_done(self):
        done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
        fut = next(iter(done))
        key, spec, run_dir = self.futures.pop(fut)
        try:
            return key, fut.result()
        except Exception as exc:  # the worker process died (BrokenProcessPool, pickling, ...)
            return key, failed_row(spec, f"worker process failed: {type(exc).__name__}: {exc}", str(run_dir))

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _RayBackend:
    """Ray tasks (one CPU each unless the run asks for a GPU); results come back to this process."""

    def __init__(self, address, threads, workers):
        # Ray's `uv run` hook would start workers with a fresh `uv run` of the project, which lacks
        # the optional ray extra; workers use this interpreter instead unless the user opts in.
        opt_in = os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0") not in ("0", "false", "False")
        try:
            import ray
        except ImportError:
            raise ValueError(
                "--backend ray needs Ray: install the extra with "
                "`uv sync --package memory-agents --extra ray --inexact` or `pip install 'memory-agents[ray]'`"
            ) from None
        try:  # the flag is read when ray is imported, and ray may have been imported already
            from ray._private import ray_constants

            ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = opt_in
        except (ImportError, AttributeError):
            pass
        self.ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs = (
                {"address": address} if address else {"num_cpus": max(workers, 1), "include_dashboard": False}
            )
            ray.init(log_to_driver=False, **kwargs)
            self._started = True
        self.threads = threads
        self.remote = ray.remote(max_retries=0)(execute_run)
        self.refs = {}

    def submit(self, key, spec, run_dir):
        gpus = 1 if spec.device.startswith("cuda") else 0
        ref = self.remote.options(num_cpus=1, num_gpus=gpus).remote(
            spec.to_dict(), str(run_dir), self.threads or 1
        )
        self.refs[ref] = (key, spec, run_dir)

    def next_done(self):
        [ref], _ = self.ray.wait(list(self.refs), num_returns=1)
        key, spec, run_dir = self.refs.pop(ref)
        try:
            return key, self.ray.get(ref)
        except Exception as exc:  # node lost, worker crashed
            return key, failed_row(spec, f"ray task failed: {type(exc).__name__}: {exc}", str(run_dir))

    def close(self):
        if self._started:
            self.ray.shutdown()


# ----------------------------------------------------------------------------- the loop
def plan(suite: Suite, out: Path) -> tuple[dict, list[RunSpec], list[RunSpec]]:
    """(results document, runs to do, runs already finished in it)."""
    out = Path(out)
    if out.exists():
        doc = schema.load_results(out)
        if doc["suite"].get("name") != suite.name:
            _say(
                f"note: {out} holds results of suite {doc['suite'].get('name')!r}; adding runs of {suite.name!r} to it"
            )
    else:
        doc = schema.new_results(suite.name, suite.source, suite.description, suite.raw)
    finished = {r["run_id"] for r in doc["runs"] if r["status"] == "finished"}
    todo = [s for s in suite.runs if s.run_id not in finished]
    done = [s for s in suite.runs if s.run_id in finished]
    return doc, todo, done


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_suite(
    suite: Suite,
    out,
    log_dir,
    *,
    workers: int = 1,
    threads: int = 1,
    backend: str = "local",
    address: str | None = None,
    retries: int = 1,
    dry_run: bool = False,
    progress: bool = True,
) -> dict:
    """Run what is not finished yet; return {'finished', 'failed', 'skipped'} counts."""
    for name, value, minimum in (("workers", workers, 1), ("retries", retries, 0), ("threads", threads, 0)):
        check_int(name, value, minimum)
    out, log_dir = Path(out), Path(log_dir)
    doc, todo, done = plan(suite, out)
    if dry_run:
        print(
            f"suite {suite.name} ({suite.source}): {schema.plural(len(suite.runs), 'run')}, {len(done)} finished in {out}, "
            f"{len(todo)} to run"
        )
        status = {r["run_id"]: r["status"] for r in doc["runs"]}
        for s in suite.runs:
            mark = {"finished": "done", "failed": "retry"}.get(status.get(s.run_id), "todo")
            budget = f" budget={s.budget['source'].replace(' ', '/')}" if s.budget else ""
            record = checkpoints.load_record(log_dir / s.run_id, s.run_id) if mark != "done" else None
            resumes = f" (resumes from step {record['step']:,})" if record else ""
            print(
                f"  [{mark}] {s.run_id:48s} {s.name} {s.difficulty} {s.core} seed={s.seed} steps={s.steps} "
                f"envs={s.num_envs} device={s.device}{budget}{resumes}"
            )
        return {"finished": 0, "failed": 0, "skipped": len(done), "todo": len(todo)}

    if not todo:
        _say(
            f"suite {suite.name}: {'its run is' if len(done) == 1 else 'all ' + schema.plural(len(done), 'run') + ' are'} "
            f"already finished in {out}"
        )
        return {"finished": 0, "failed": 0, "skipped": len(done)}
    if threads == 0:
        threads = max(1, (os.cpu_count() or 1) // workers)
    if backend == "ray":
        runner = _RayBackend(address, threads, workers)
    elif workers == 1:
        runner = _InlineBackend(threads)
    else:
        runner = _PoolBackend(workers, threads)
    _say(
        f"suite {suite.name}: {schema.plural(len(todo), 'run')} to do ({len(done)} already finished) -> {out} "
        f"[{backend}, workers={workers}, threads/run={threads}]"
    )

    attempts = {s.run_id: 0 for s in todo}
    counts = {"finished": 0, "failed": 0, "skipped": len(done)}
    bar = _progress(len(todo), progress)
    try:
        for spec in todo:
            attempts[spec.run_id] += 1
            runner.submit(spec.run_id, spec, log_dir / spec.run_id)
        pending = len(todo)
        specs = {s.run_id: s for s in todo}
        while pending:
            run_id, row = runner.next_done()
            row["attempts"] = attempts[run_id]
            if row["status"] == "failed" and attempts[run_id] <= retries:
                _say(
                    f"  run {run_id} failed (attempt {attempts[run_id]}), retrying: {row['error'].splitlines()[0]}"
                )
                attempts[run_id] += 1
                runner.submit(run_id, specs[run_id], log_dir / run_id)
                continue
            pending -= 1
            schema.upsert_row(doc, row)
            schema.save_results(doc, out)
            if row["status"] == "finished":  # stored: a later run of this suite skips it, never resumes it
                checkpoints.mark_finished(log_dir / run_id, run_id)
            counts[row["status"]] += 1
            if row["status"] == "failed":
                _say(f"  FAILED {run_id} after {row['attempts']} attempt(s): {row['error'].splitlines()[0]}")
            else:
                _say(
                    f"  done {run_id}: success {row['success']:.3f} return {row['return']:.3f} "
                    f"({row['wall_time']:.0f}s, {row['sps']:.0f} steps/s)"
                )
            bar.advance()
    finally:
        bar.close()
        runner.close()
    _say(
        f"suite {suite.name}: {counts['finished']} finished, {counts['failed']} failed, "
        f"{counts['skipped']} skipped (already finished) -> {out}"
    )
    return counts


class _progress:
    """A rich progress bar over runs (a no-op when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(
                TextColumn("runs"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._p.start()
            self._task = self._p.add_task("runs", total=total)

    def advance(self):
        if self._p:
            self._p.advance(self._task)

    def close(self):
        if self._p:
            self._p.stop()
