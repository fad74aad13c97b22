"""`JobSnapshot`: a frozen copy of one job's state, and how each training event changes it.

The queue (`mnistlab.jobs`) folds every event of a job's run into its snapshot with `apply_event`;
pages and tests read snapshots from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mnistlab.eta import Eta
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, Event, Paused, RunFailed, RunFinished, RunStarted, StepProgress

ACTIVE = ("queued", "running")
# "stalled": trained to the end but never beat guessing; "cancelled": stopped while queued, no run
DONE = ("finished", "stalled", "stopped", "diverged", "failed", "cancelled")
MAX_TRACE = 600  # (epoch, value) points kept per live curve; older ones are thinned out
HEAVY = ("layers", "test_confusion")  # EpochEnded fields left out of snapshots: ~10 KB an epoch, in the run store


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


def traced(trace: tuple, point: tuple[float, float]) -> tuple:
    """`trace` with `point` appended, thinned to half resolution past MAX_TRACE (the run's whole shape kept)."""
    trace = (*trace, point)
    return trace[::2] if len(trace) > MAX_TRACE else trace


def apply_event(snap: JobSnapshot, event: Event, wall_s: float, stopping: bool = False, eta: Eta | None = None) -> JobSnapshot:
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
                       trace=traced(snap.trace, (at, event.loss)),
                       accuracy_trace=(snap.accuracy_trace if accuracy is None
                                       else traced(snap.accuracy_trace, (at, accuracy))),
                       eta_s=eta.estimate(done, event.epochs * event.steps_per_epoch, event.steps_per_epoch,
                                          event.epochs - event.epoch + 1))
    if isinstance(event, Paused):  # a Resume may have come in between: then it only moves the position
        return replace(snap, epoch=event.epoch, step=event.step, message="paused" if snap.paused else snap.message)
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
