"""A process-wide training queue: worker threads run experiments, readers take frozen snapshots.

The dashboard keeps one `JobQueue` per server process. A job waits in its device's FIFO line
until fewer than `per_device` jobs run there, then a plain daemon thread calls `run_experiment`
with a subscriber that folds training events into the job's state. Readers (any thread, any
browser session) only ever get `JobSnapshot`s: frozen copies taken under the queue's lock.
Nothing here touches Streamlit.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

from mnistlab.device import cuda_available
from mnistlab.errors import MnistlabError, RunStoreError
from mnistlab.experiment import run_experiment
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.prepare import PreparedData

ACTIVE = ("queued", "running")
DONE = ("finished", "stopped", "diverged", "failed", "cancelled")  # "cancelled": stopped while queued, no run
MAX_TRACE = 600  # (epoch, loss) points kept for the live curve; older ones are thinned out
KEEP_DONE = 200  # finished jobs remembered per queue (their runs stay in the store regardless)


@dataclass(frozen=True)
class JobSnapshot:
    """A frozen copy of one job's state, safe to read from any thread."""

    job_id: str
    owner: str
    preset: str | None
    config: TrainConfig
    device: str  # "cpu" or "cuda": the line the job waits in
    status: str  # queued | running | finished | stopped | diverged | failed | cancelled
    position: int | None = None  # 0 while running, k = k-th in line while queued, None when done
    run_id: str | None = None
    device_name: str = ""
    parameter_count: int = 0
    epoch: int = 0  # 1-based epoch in progress (or last finished)
    epochs: int = 0
    step: int = 0  # steps done in the current epoch
    steps: int = 0  # steps per epoch
    loss: float | None = None  # running training loss of the current epoch
    samples_per_s: float | None = None
    eta_s: float | None = None  # seconds left, from wall-clock time per step so far
    elapsed_s: float = 0.0  # wall-clock seconds since training started
    history: tuple[dict, ...] = ()  # one EpochEnded row (as a dict) per finished epoch
    trace: tuple[tuple[float, float], ...] = ()  # (fractional epoch, running loss) a few times a second
    test_accuracy: float | None = None
    test_loss: float | None = None
    message: str = ""
    submitted: float = 0.0  # time.time() stamps
    started: float | None = None
    ended: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        """Fraction of all training steps done, in [0, 1]."""
        total = self.epochs * self.steps
        if self.status == "finished":
            return 1.0
        if not total:
            return 0.0
        return min(1.0, ((max(self.epoch, 1) - 1) * self.steps + self.step) / total)


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


@dataclass
class _Job:
    snap: JobSnapshot
    cancel: threading.Event = field(default_factory=threading.Event)
    data: PreparedData | None = None
    data_dir: str | Path | None = None
    runs_dir: str | Path | None = None
    t0: float = 0.0  # monotonic start of training, for ETA


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
               data: PreparedData | None = None) -> str:
        """Queue `config` as a new job and return its id; it starts as soon as its device is free.

        Args:
            config: the experiment to train.
            preset: the preset name it came from (recorded in the run).
            owner: who submitted it (a browser session id), for `jobs(owner=...)`.
            data_dir / runs_dir: where the data lives and where the run is stored (None: env/default).
            data: already prepared splits (the dashboard passes cached ones), else loaded by the worker.
        """
        job_id = f"job-{next(self._counter)}-{secrets.token_hex(3)}"
        device = resolve_device(config)
        snap = JobSnapshot(job_id, owner, preset, config, device, "queued", epochs=config.epochs,
                           submitted=time.time())
        with self._lock:
            self._jobs[job_id] = _Job(snap, data=data, data_dir=data_dir, runs_dir=runs_dir)
            self._waiting.setdefault(device, deque()).append(job_id)
            self._reposition(device)
            self._dispatch(device)
            self._forget_old()
        return job_id

    def stop(self, job_id: str) -> JobSnapshot:
        """Cancel a queued job, or ask a running one to stop (it ends within one training step)."""
        with self._lock:
            job = self._get(job_id)
            if job.snap.status == "queued":
                self._waiting[job.snap.device].remove(job_id)
                job.snap = replace(job.snap, status="cancelled", position=None, ended=time.time(),
                                   message="cancelled before it started")
                self._reposition(job.snap.device)
                self._changed.notify_all()
            elif job.snap.status == "running":
                job.cancel.set()
                job.snap = replace(job.snap, message="stopping…")
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

    def _work(self, job_id: str) -> None:
        """The worker thread (no lock held): run the experiment, record how it ended, free the device."""
        job = self._jobs[job_id]  # dict reads are atomic; the entry cannot be forgotten while active
        snap = job.snap
        final: dict = {}
        try:
            result = run_experiment(snap.config, preset=snap.preset, store=RunStore(job.runs_dir),
                                    data_dir=job.data_dir, data=job.data, subscribers=[self._subscriber(job_id)],
                                    cancel=job.cancel, owner=snap.owner)
            final = dict(status=result.result.status, message=result.result.message, run_id=result.run_id)
            if result.evaluation is not None:
                final.update(test_accuracy=result.evaluation.accuracy, test_loss=result.evaluation.loss)
            del result  # free the model and splits before waiters wake (and perhaps exit the process)
        except BaseException as error:  # noqa: BLE001 - a job must end with a status, whatever happened
            final = dict(status="failed", message=one_line(error))
        finally:
            job.data = None  # let the splits go once the run is over
            with self._lock:
                job.snap = replace(job.snap, position=None, eta_s=0.0 if final.get("status") == "finished" else None,
                                   ended=time.time(), **final)
                self._running[snap.device].remove(job_id)
                self._dispatch(snap.device)

    def _subscriber(self, job_id: str):
        """Fold training events into the job's snapshot (runs on the worker thread)."""

        def on_event(event: Event) -> None:
            with self._lock:
                job = self._jobs[job_id]
                job.snap = _apply(job.snap, event, time.monotonic() - job.t0, stopping=job.cancel.is_set())

        return on_event


def _apply(snap: JobSnapshot, event: Event, wall_s: float, stopping: bool = False) -> JobSnapshot:
    """The snapshot after one event; `wall_s` is the wall-clock time since the job started.

    `stopping`: Stop was pressed, so an epoch that ends now was cut short (its step count stays).
    """
    if isinstance(event, RunStarted):
        return replace(snap, run_id=event.run_id or None, device_name=event.device_name,
                       parameter_count=event.parameter_count, steps=event.steps_per_epoch, elapsed_s=wall_s)
    if isinstance(event, StepProgress):
        done = (event.epoch - 1) * event.steps_per_epoch + event.step
        left = event.epochs * event.steps_per_epoch - done
        trace = snap.trace + ((event.epoch - 1 + event.step / event.steps_per_epoch, event.loss),)
        if len(trace) > MAX_TRACE:
            trace = trace[::2]  # keep the whole run's shape at half the resolution
        return replace(snap, epoch=event.epoch, epochs=event.epochs, step=event.step, steps=event.steps_per_epoch,
                       loss=event.loss, samples_per_s=event.samples_per_s, elapsed_s=wall_s, trace=trace,
                       eta_s=wall_s * left / done if done else None)
    if isinstance(event, EpochEnded):
        done = event.epoch * snap.steps
        left = (event.epochs - event.epoch) * snap.steps
        return replace(snap, epoch=event.epoch, epochs=event.epochs, step=snap.step if stopping else snap.steps,
                       loss=event.train_loss, samples_per_s=event.samples_per_s, elapsed_s=wall_s,
                       history=snap.history + (dict(event.__dict__),), test_accuracy=event.test_accuracy,
                       test_loss=event.test_loss, eta_s=wall_s * left / done if done else None)
    if isinstance(event, RunFinished):
        return replace(snap, elapsed_s=wall_s)
    if isinstance(event, RunFailed):  # extra["run_id"]: the stored failed run, even if it failed before RunStarted
        return replace(snap, message=event.message, elapsed_s=wall_s, run_id=event.extra.get("run_id") or snap.run_id)
    return snap
