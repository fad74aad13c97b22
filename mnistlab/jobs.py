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
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.prepare import PreparedData
from mnistlab.train.steer import Steering

ACTIVE = ("queued", "running")
# "stalled": trained to the end but never beat guessing; "cancelled": stopped while queued, no run
DONE = ("finished", "stalled", "stopped", "diverged", "failed", "cancelled")
MAX_TRACE = 600  # (epoch, value) points kept per live curve; older ones are thinned out
KEEP_DONE = 200  # finished jobs remembered per queue (their runs stay in the store regardless)
KEEP_CURVES = 20  # of those, the newest that keep their history and traces (older ones: outcome only)
HEAVY = ("layers", "test_confusion")  # EpochEnded fields left out of snapshots: ~10 KB an epoch, in the run store


class JobPermissionError(RunStoreError):
    """A session asked to stop (or change) a job that another session owns."""


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
    accuracy: float | None = None  # running training accuracy of the current epoch
    samples_per_s: float | None = None
    eta_s: float | None = None  # seconds left; None while still estimating (see `Eta`)
    elapsed_s: float = 0.0  # wall-clock seconds since training started
    history: tuple[dict, ...] = ()  # one EpochEnded row per finished epoch, without the HEAVY fields
    trace: tuple[tuple[float, float], ...] = ()  # (fractional epoch, running loss) a few times a second
    accuracy_trace: tuple[tuple[float, float], ...] = ()  # (fractional epoch, running training accuracy)
    test_accuracy: float | None = None
    test_loss: float | None = None
    message: str = ""
    submitted: float = 0.0  # time.time() stamps
    started: float | None = None
    ended: float | None = None
    kind: str = "train"  # "train": one run; "sweep": a sweep's worker, its fields above about the current trial
    label: str = ""  # a sweep job: the sweep's name
    units_done: int = 0  # a sweep job: trials finished (of any state) so far
    units_total: int = 0  # a sweep job: trials it was asked to run
    paused: bool = False  # Pause was pressed: it keeps its device slot and makes no steps until Resume
    lr_changes: tuple[dict, ...] = ()  # learning rates set while it runs: {step, epoch, lr, scheduled}

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
            job.snap = replace(job.snap, paused=True, message="paused")
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
                job.snap = _apply(job.snap, event, time.monotonic() - job.t0, stopping=job.cancel.is_set(),
                                  eta=job.eta)

        return on_event


def _release() -> None:
    """Hand back what a finished run freed: Python's cycles, PyTorch's cached GPU blocks, glibc's free pages."""
    release_memory()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _traced(trace: tuple, point: tuple[float, float]) -> tuple:
    """`trace` with `point` appended, thinned to half resolution past MAX_TRACE (the run's whole shape kept)."""
    trace = (*trace, point)
    return trace[::2] if len(trace) > MAX_TRACE else trace


def _apply(snap: JobSnapshot, event: Event, wall_s: float, stopping: bool = False, eta: Eta | None = None) -> JobSnapshot:
    """The snapshot after one event; `wall_s` is the wall-clock time since the job started.

    `stopping`: Stop was pressed, so an epoch that ends now was cut short (its step count stays).
    `eta`: the job's step-time measurements (updated here); without it there is no ETA.
    """
    eta = eta or Eta()
    if isinstance(event, RunStarted):
        if snap.kind == "sweep":  # a new trial: its own curves, not the previous trial's
            snap = replace(snap, history=(), trace=(), accuracy_trace=(), epoch=0, step=0)
        return replace(snap, run_id=event.run_id or None, device_name=event.device_name,
                       parameter_count=event.parameter_count, steps=event.steps_per_epoch, elapsed_s=wall_s)
    if isinstance(event, StepProgress):
        done = (event.epoch - 1) * event.steps_per_epoch + event.step
        eta.step(done, event.elapsed_s, wall_s)
        at = event.epoch - 1 + event.step / event.steps_per_epoch
        accuracy = event.accuracy
        return replace(snap, epoch=event.epoch, epochs=event.epochs, step=event.step, steps=event.steps_per_epoch,
                       loss=event.loss, accuracy=accuracy, samples_per_s=event.samples_per_s, elapsed_s=wall_s,
                       trace=_traced(snap.trace, (at, event.loss)),
                       accuracy_trace=(snap.accuracy_trace if accuracy is None
                                       else _traced(snap.accuracy_trace, (at, accuracy))),
                       eta_s=eta.estimate(done, event.epochs * event.steps_per_epoch, event.steps_per_epoch,
                                          event.epochs - event.epoch + 1))
    if isinstance(event, EpochEnded):
        eta.epoch(event.epoch, event.elapsed_s, wall_s)
        row = {k: v for k, v in event.__dict__.items() if k not in HEAVY}
        return replace(snap, epoch=event.epoch, epochs=event.epochs, step=snap.step if stopping else snap.steps,
                       loss=event.train_loss, accuracy=event.train_accuracy, samples_per_s=event.samples_per_s,
                       elapsed_s=wall_s, history=(*snap.history, row), test_accuracy=event.test_accuracy,
                       lr_changes=(*snap.lr_changes, *event.lr_changes),
                       test_loss=event.test_loss,
                       eta_s=eta.estimate(event.epoch * snap.steps, event.epochs * snap.steps, snap.steps,
                                          event.epochs - event.epoch))
    if isinstance(event, RunFinished):
        return replace(snap, elapsed_s=wall_s, message=event.message or snap.message)
    if isinstance(event, RunFailed):  # extra["run_id"]: the stored failed run, even if it failed before RunStarted
        return replace(snap, message=event.message, elapsed_s=wall_s, run_id=event.extra.get("run_id") or snap.run_id)
    return snap
