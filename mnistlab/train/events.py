"""Typed events the trainer emits to subscribers (CLI progress bar, dashboard jobs, run store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RunStarted:
    """Training is about to start."""

    run_id: str
    config: dict
    device: str  # "cpu" or "cuda"
    device_name: str  # e.g. "CPU (2 threads)" or the GPU's name
    parameter_count: int
    steps_per_epoch: int
    train_size: int
    val_size: int
    test_size: int
    initial_layers: tuple = ()  # per-layer stats of the initial weights ("epoch 0"; see EpochEnded.layers)


@dataclass(frozen=True)
class StepProgress:
    """Throttled progress inside an epoch (a few per second at most)."""

    epoch: int  # 1-based
    epochs: int
    step: int  # steps done in this epoch
    steps_per_epoch: int
    loss: float  # mean training loss over the epoch so far
    samples_per_s: float
    elapsed_s: float  # seconds of training so far (evaluation excluded)
    accuracy: float | None = None  # training accuracy over the epoch so far (train mode, dropout on)


@dataclass(frozen=True)
class Paused:
    """Pause took hold: the loop waits before its next step until Resume (or Stop), `step` steps of `epoch` done."""

    epoch: int  # 1-based
    epochs: int
    step: int  # steps done in this epoch (0: it holds before the epoch's first step)
    steps_per_epoch: int


@dataclass(frozen=True)
class EpochEnded:
    """One epoch done, with its metrics (None where that split is not used)."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    lr: float
    epoch_seconds: float  # training time of this epoch, evaluation excluded
    samples_per_s: float
    elapsed_s: float
    partial: bool = False  # True when Stop cut this epoch short
    # One JSON-ready dict per Linear layer ("layer 1", …, "output"); keys in mnistlab.train.layer_stats.
    layers: tuple = ()
    test_confusion: tuple = ()  # 10 rows of 10 counts on the test split: rows = true label, columns = prediction
    lr_changes: tuple = ()  # learning rates set while it trained this epoch: {step, epoch, lr, scheduled, at}


@dataclass(frozen=True)
class RunFinished:
    """Training ended normally: "finished", "stalled" (it never beat guessing; see `message`), "stopped" or
    "pruned" (a sweep stopped it early; `message` says why)."""

    status: str
    epochs_done: int
    test_accuracy: float | None
    test_loss: float | None
    train_seconds: float
    message: str = ""  # why a "stalled" run did not learn and what to try, or why it was "pruned"; else empty


@dataclass(frozen=True)
class RunFailed:
    """Training ended early: "diverged" (NaN/inf loss) or "failed" (an error)."""

    status: str
    message: str
    epoch: int
    extra: dict = field(default_factory=dict)


Event = RunStarted | StepProgress | Paused | EpochEnded | RunFinished | RunFailed
Subscriber = Callable[[Event], None]


def event_to_dict(event: Event) -> dict:
    """An event as JSON-ready data with its type name under 'event'."""
    return {"event": type(event).__name__, **asdict(event)}
