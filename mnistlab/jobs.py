"""A process-wide training queue: worker threads run experiments, readers take frozen snapshots.

The dashboard keeps one `JobQueue` per server process. A job waits in its device's FIFO line
until fewer than `per_device` jobs run there, then a plain daemon thread calls `run_experiment`
with a subscriber that folds training events into the job's state. Readers (any thread, any
browser session) only ever get `JobSnapshot`s: frozen copies taken under the queue's lock.
Nothing here touches Streamlit.

Memory: a job holds its splits only while it runs (a queued job holds a function that prepares them),
and its snapshot keeps compact numbers only: one history row per epoch without the per-layer
statistics and confusion counts (the run store has those), and at most MAX_TRACE curve points.
Owners: every job records the session that submitted it; only that owner (or an admin) may stop it.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mnistlab.device import cuda_available
from mnistlab.errors import MnistlabError, RunStoreError
from mnistlab.eta import Eta
from mnistlab.experiment import release_memory, run_experiment
from mnistlab.job_snapshot import ACTIVE as ACTIVE  # re-exported: the dashboard and tests know them from here
from mnistlab.job_snapshot import DONE as DONE
from mnistlab.job_snapshot import MAX_TRACE as MAX_TRACE
from mnistlab.job_snapshot import JobSnapshot as JobSnapshot
from mnistlab.job_snapshot import apply_event
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import Event
from mnistlab.train.prepare import PreparedData
from mnistlab.train.steer import Steering

KEEP_DONE = 200  # finished jobs remembered per queue (their runs stay in the store regardless)
KEEP_CURVES = 20  # of those, the newest that keep their history and traces (older ones: outcome only)


class JobPermissionError(RunStoreError):
    """A session asked to stop (or change) a job that another session owns."""


def resolve_device(config: TrainConfig) -> str:
    """The device line a config waits in ('auto' resolved as `mnistlab.device.pick_device` does)."""
    if config.engine == "numpy" or config.device == "cpu":
        return "cpu"
    if config.device == "cuda":
        return "cuda"
    return "cuda" if cuda_available() else "cpu"


def one_line(error: BaseException) -> str:
    """A user-facing one-line description of an exception."""
    text = str(error) if isinstance(error, MnistlabError) else f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


DataSource = PreparedData | Callable[[], PreparedData] | None
# Work other than one run (a sweep's worker): called on the job's thread with its cancel event, a subscriber
# for the training events of the run in progress and `report(**snapshot_fields)`; returns the final fields.
Work = Callable[[threading.Event, Callable[[Event], None], Callable[..., None]], dict]


@dataclass
class _Job:
    snap: JobSnapshot
    cancel: threading.Event = field(default_factory=threading.Event)
    data: DataSource = None  # dropped when the job ends
    data_dir: str | Path | None = None
    runs_dir: str | Path | None = None
    t0: float = 0.0  # monotonic start of training, for ETA
    eta: Eta = field(default_factory=Eta)
    work: Work | None = None
    steer: Steering = field(default_factory=Steering)
    resume_from: str | None = None  # the run this job continues (`run_experiment(resume_from=...)`)


class JobQueue:
    """Thread-safe FIFO lines of training jobs, one line per device, `per_device` running at once."""

    def __init__(self, per_device: int = 1):
        if per_device < 1:
            raise ValueError(f"per_device must be at least 1, got {per_device}")
        self.per_device = per_device
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._waiting: dict[str, deque[str]] = {}
        self._running: dict[str, list[str]] = {}
        self._counter = itertools.count(1)

    def __repr__(self) -> str:
        with self._lock:
            counts = {s: sum(j.snap.status == s for j in self._jobs.values()) for s in (*ACTIVE, *DONE)}
        return f"JobQueue(per_device={self.per_device}, {', '.join(f'{k}={v}' for k, v in counts.items() if v)})"

    # -- public API ---------------------------------------------------------------------------

    def submit(self, config: TrainConfig, preset: str | None = None, owner: str = "",
               data_dir: str | Path | None = None, runs_dir: str | Path | None = None,
               data: DataSource = None, work: Work | None = None, kind: str = "train", label: str = "",
               units_total: int = 0, resume_from: str | None = None) -> str:
        """Queue `config` as a new job and return its id; it starts as soon as its device is free.

        Args:
            config: the experiment to train.
            preset: the preset name it came from (recorded in the run).
            owner: who submitted it (a browser session id), for `jobs(owner=...)`.
            data_dir / runs_dir: where the data lives and where the run is stored (None: env/default).
            data: prepared splits, or a function that prepares them when the job starts (so a job waiting in
                line holds no copy); None: the worker loads them.
            work: run this instead of one experiment (a sweep's worker, `kind` "sweep", `label` its name, with
                `units_total` trials); `config` then only says which device line it waits in.
            resume_from: continue this run (`config` from `experiment.continued_config`).
        """
        job_id = f"job-{next(self._counter)}-{secrets.token_hex(3)}"
        device = resolve_device(config)
        snap = JobSnapshot(job_id, owner, preset, config, device, "queued", epochs=config.epochs,
                           submitted=time.time(), kind=kind, label=label, units_total=units_total)
        with self._lock:
            self._jobs[job_id] = _Job(snap, data=data, data_dir=data_dir, runs_dir=runs_dir, work=work,
                                       resume_from=resume_from)
            self._waiting.setdefault(device, deque()).append(job_id)
            self._reposition(device)
            self._dispatch(device)
            self._forget_old()
        return job_id

    def stop(self, job_id: str, owner: str | None = None, admin: bool = False) -> JobSnapshot:
        """Cancel a queued job, or ask a running one to stop (it ends within one training step).

        Args:
            owner: the session asking; a job another owner submitted raises JobPermissionError.
                None (the CLI, tests, the server itself) may stop any job.
            admin: the server's operator, who may stop any job.
        """
        with self._lock:
            job = self._get(job_id)
            if owner is not None and not admin and job.snap.owner != owner:
                raise JobPermissionError(f"job {job_id} belongs to another session; only its owner (or the "
                                         "server's operator) can stop it.")
            if job.snap.status == "queued":
                self._waiting[job.snap.device].remove(job_id)
                job.snap = replace(job.snap, status="cancelled", position=None, ended=time.time(),
                                   message="cancelled before it started")
                self._reposition(job.snap.device)
                self._changed.notify_all()
            elif job.snap.status == "running":
                job.cancel.set()
                job.steer.resume()  # a paused job wakes to stop
                job.snap = replace(job.snap, message="stopping…", paused=False)
            return job.snap

    def _steerable(self, job_id: str, owner: str | None, admin: bool, what: str) -> _Job:
        """The running training job `job_id`, if `owner` may steer it (as `stop` decides); else an error."""
        job = self._get(job_id)
        if owner is not None and not admin and job.snap.owner != owner:
            raise JobPermissionError(f"job {job_id} belongs to another session; only its owner (or the server's "
                                     f"operator) can {what} it.")
        if job.snap.status != "running" or job.work is not None:
            raise RunStoreError(f"job {job_id} is {job.snap.status}{' (a sweep)' if job.work else ''}: only a "
                                f"training job that is running can {what}.")
        return job

    def set_lr(self, job_id: str, lr: float, owner: str | None = None, admin: bool = False) -> JobSnapshot:
        """Use learning rate `lr` from the job's next step on (recorded in its run's history with the step)."""
        with self._lock:
            job = self._steerable(job_id, owner, admin, "change the learning rate of")
            job.steer.set_lr(lr)
            job.snap = replace(job.snap, message=f"learning rate → {lr:g} at the next step")
            return job.snap

    def pause(self, job_id: str, owner: str | None = None, admin: bool = False) -> JobSnapshot:
        """Hold the job before its next step; it keeps its device slot (Resume goes on, Stop ends it)."""
        with self._lock:
            job = self._steerable(job_id, owner, admin, "pause")
            job.steer.pause()
            job.snap = replace(job.snap, paused=True, message="pausing…")  # "paused" once it holds (Paused)
            return job.snap

    def resume(self, job_id: str, owner: str | None = None, admin: bool = False) -> JobSnapshot:
        with self._lock:
            job = self._steerable(job_id, owner, admin, "resume")
            job.steer.resume()
            job.snap = replace(job.snap, paused=False, message="")
            return job.snap

    def snapshot(self, job_id: str) -> JobSnapshot:
        """The job's current state (a frozen copy); RunStoreError for an unknown id."""
        with self._lock:
            return self._get(job_id).snap

    def get(self, job_id: str | None) -> JobSnapshot | None:
        """Like `snapshot`, but None for a missing or unknown id."""
        with self._lock:
            job = self._jobs.get(job_id) if job_id else None
            return job.snap if job else None

    def jobs(self, owner: str | None = None) -> list[JobSnapshot]:
        """Snapshots of all jobs (or one owner's), oldest submission first."""
        with self._lock:
            return [j.snap for j in self._jobs.values() if owner is None or j.snap.owner == owner]

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job is done (or `timeout` seconds pass) and return its snapshot."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._get(job_id).snap.active:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left)
            return self._get(job_id).snap

    # -- internals (called with the lock held unless noted) --------------------------------------

    def _get(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise RunStoreError(f"no training job {job_id!r} in this server (it may have been restarted).")
        return job

    def _reposition(self, device: str) -> None:
        for i, job_id in enumerate(self._waiting.get(device, ())):
            job = self._jobs[job_id]
            job.snap = replace(job.snap, position=i + 1)

    def _dispatch(self, device: str) -> None:
        running, waiting = self._running.setdefault(device, []), self._waiting.get(device, deque())
        while waiting and len(running) < self.per_device:
            job_id = waiting.popleft()
            job = self._jobs[job_id]
            running.append(job_id)
            job.snap = replace(job.snap, status="running", position=0, started=time.time(), message="")
            job.t0 = time.monotonic()
            threading.Thread(target=self._work, args=(job_id,), name=f"mnistlab-{job_id}", daemon=True).start()
        self._reposition(device)
        self._changed.notify_all()

    def _forget_old(self) -> None:
        done = [k for k, j in self._jobs.items() if not j.snap.active]
        for job_id in done[:max(0, len(done) - KEEP_DONE)]:
            del self._jobs[job_id]
        for job_id in done[max(0, len(done) - KEEP_DONE):max(0, len(done) - KEEP_CURVES)]:
            job = self._jobs[job_id]
            if job.snap.history or job.snap.trace:  # the run store keeps the curves of the run
                job.snap = replace(job.snap, history=(), trace=(), accuracy_trace=())

    def _work(self, job_id: str) -> None:
        """The worker thread (no lock held): run the experiment, record how it ended, free the device."""
        job = self._jobs[job_id]  # dict reads are atomic; the entry cannot be forgotten while active
        snap = job.snap
        final: dict = {}
        data = None
        try:
            if job.work is not None:
                final = job.work(job.cancel, self._subscriber(job_id), self._reporter(job_id))
                return
            data = job.data() if callable(job.data) else job.data
            job.data = None  # the worker's own reference is the only one now
            result = run_experiment(snap.config, preset=snap.preset, store=RunStore(job.runs_dir),
                                    data_dir=job.data_dir, data=data, subscribers=[self._subscriber(job_id)],
                                    cancel=job.cancel, owner=snap.owner, steer=job.steer,
                                    resume_from=job.resume_from)
            final = dict(status=result.result.status, message=result.result.message, run_id=result.run_id)
            if result.evaluation is not None:
                final.update(test_accuracy=result.evaluation.accuracy, test_loss=result.evaluation.loss)
            del result  # free the model and splits before waiters wake (and perhaps exit the process)
        except BaseException as error:  # noqa: BLE001 - a job must end with a status, whatever happened
            final = dict(status="failed", message=one_line(error))
        finally:
            data = job.data = None  # let the splits go once the run is over
            job.eta = Eta()
            with self._lock:
                job.snap = replace(job.snap, position=None, ended=time.time(),
                                   eta_s=0.0 if final.get("status") in ("finished", "stalled") else None, **final)
                self._running[snap.device].remove(job_id)
                self._dispatch(snap.device)
            _release()

    def _reporter(self, job_id: str) -> Callable[..., None]:
        """`report(**fields)` for a job's work: sets snapshot fields (trials done, a message) as it goes."""

        def report(**fields) -> None:
            with self._lock:
                job = self._jobs[job_id]
                job.snap = replace(job.snap, **fields)

        return report

    def _subscriber(self, job_id: str):
        """Fold training events into the job's snapshot (runs on the worker thread)."""

        def on_event(event: Event) -> None:
            with self._lock:
                job = self._jobs[job_id]
                job.snap = apply_event(job.snap, event, time.monotonic() - job.t0, stopping=job.cancel.is_set(),
                                  eta=job.eta)

        return on_event


def _release() -> None:
    """Hand back what a finished run freed: Python's cycles, PyTorch's cached GPU blocks, glibc's free pages."""
    release_memory()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
