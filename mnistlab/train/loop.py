"""The training loop shared by both engines: timing, events, cancellation, divergence, stalls and weight snapshots."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mnistlab.data.split import Split
from mnistlab.device import device_name, pick_device, synchronize
from mnistlab.errors import RunStoreError
from mnistlab.models.torch_mlp import MLP
from mnistlab.train.cancel import stop_status
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import (
    EpochEnded,
    Event,
    Paused,
    RunFailed,
    RunFinished,
    RunStarted,
    StepProgress,
    Subscriber,
)
from mnistlab.train.prepare import PreparedData, prepare_data
from mnistlab.train.resume import StateSaver, TrainingState, capture
from mnistlab.train.schedule import lr_at
from mnistlab.train.stall import stall_message
from mnistlab.train.steer import LrChange, Steering
from mnistlab.train.threads import cpu_threads, cpu_threads_for

PROGRESS_EVERY_S = 0.2  # at most five progress events a second: cheap for every subscriber
MAX_SNAPSHOT_PARAMS = 5_000_000  # larger models save no per-epoch weights (20 MB of float32 per epoch at the cap)
MAX_SNAPSHOT_BYTES = 400 * 2**20  # all of one run's epoch snapshots together


@dataclass
class TrainResult:
    """What a run produced: the model, its per-epoch history and how it ended."""

    status: str  # finished | stalled (never beat guessing; see message) | stopped | pruned | diverged | failed
    model: MLP | None
    history: list[dict] = field(default_factory=list)
    message: str = ""
    epoch_seconds: list[float] = field(default_factory=list)
    train_seconds: float = 0.0
    device: str = "cpu"
    data: PreparedData | None = None


class _Bus:
    """Fans events out to subscribers."""

    def __init__(self, subscribers: Iterable[Subscriber]):
        self.subscribers = [s for s in subscribers if s is not None]

    def __call__(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)


def _make_stepper(config: TrainConfig, train: Split, device: torch.device, stats: bool):
    if config.engine == "numpy":
        from mnistlab.train.numpy_engine import NumpyStepper

        return NumpyStepper(config, train, stats)
    from mnistlab.train.torch_engine import TorchStepper

    return TorchStepper(config, train, device, stats)


WeightSaver = Callable[[int, MLP], None]  # (epoch, model): store the weights after `epoch` (0: the initial ones)


class _Snapshots:
    """Hands epoch weights to a saver, or to nothing (no saver, or a model above the cap).

    Every epoch while the run's snapshots fit in MAX_SNAPSHOT_BYTES; a longer run keeps an even
    stride of epochs (plus its initial and last ones), so a 1,000-epoch run never fills the disk.
    Where they go is the caller's business (the run store's, through `runs.record.weights_saver`).
    """

    def __init__(self, saver: WeightSaver | None, config: TrainConfig):
        params = config.model.parameter_count()
        self.saver = saver if params <= MAX_SNAPSHOT_PARAMS else None
        fits = max(2, MAX_SNAPSHOT_BYTES // (4 * max(params, 1)))  # float32 weights per snapshot
        self.stride = max(1, -(-config.epochs // (fits - 1)))
        self.last = config.epochs

    def save(self, epoch: int, stepper, final: bool = False) -> None:
        if self.saver is not None and (epoch % self.stride == 0 or epoch == self.last or final):
            self.saver(epoch, stepper.torch_model())


def train(config: TrainConfig, *, data_dir: str | Path | None = None, data: PreparedData | None = None,
          subscribers: Iterable[Subscriber] = (), cancel: threading.Event | None = None,
          run_id: str = "", save_weights: WeightSaver | None = None, layer_stats: bool = True,
          steer: Steering | None = None, save_state: StateSaver | None = None,
          resume: TrainingState | None = None) -> TrainResult:
    """Train `config`, emitting events to `subscribers`; `cancel.set()` stops within one step.

    Args:
        config: the experiment.
        data_dir: where the dataset lives (default $MNISTLAB_DATA_DIR or ./data).
        data: already prepared splits (the dashboard passes cached ones).
        subscribers: callables receiving each `Event`.
        cancel: set it from another thread to stop; the run ends as "stopped" (or "pruned": `train.cancel.Stop`).
        run_id: recorded in the RunStarted event.
        save_weights: called with (epoch, model) for the initial weights (epoch 0) and after each epoch,
            unless the model has more than MAX_SNAPSHOT_PARAMS parameters (see `_Snapshots`).
        layer_stats: False skips the per-layer statistics (RunStarted.initial_layers, EpochEnded.layers);
            they are on by default and only turned off to measure what they cost.
        steer: learning-rate changes and pauses from another thread (`train.steer`), recorded in the history.
        save_state: called after each complete epoch with what continuing needs (`train.resume`), under the
            same size cap as the weights.
        resume: carry on from this state: epochs `resume.epoch + 1 … config.epochs`, its history kept.
    """
    device = pick_device("cpu" if config.engine == "numpy" else config.device)
    data = data or prepare_data(config, data_dir)
    threads = cpu_threads_for(config) if device.type == "cpu" else torch.get_num_threads()
    snapshots = _Snapshots(save_weights, config)
    state_saver = save_state if config.model.parameter_count() <= MAX_SNAPSHOT_PARAMS else None
    with cpu_threads(threads):
        return _train(config, data, device, _Bus(subscribers), cancel, run_id, snapshots, layer_stats, steer,
                      state_saver, resume)


def _train(config: TrainConfig, data: PreparedData, device: torch.device, emit: _Bus,
           cancel: threading.Event | None, run_id: str, snapshots: _Snapshots, stats: bool,
           steer: Steering | None = None, save_state: StateSaver | None = None,
           resume: TrainingState | None = None) -> TrainResult:
    stepper = _make_stepper(config, data.train, device, stats)
    steps = stepper.steps_per_epoch()
    total_steps = steps * config.epochs
    first = 1
    if resume is not None:
        assert resume.meta.get("engine") == config.engine, "a state resumes only in the engine that saved it"
        try:
            stepper.load_training_state(resume.tensors, resume.meta)
        except (KeyError, ValueError, TypeError, RuntimeError) as error:  # a damaged or foreign state file
            raise RunStoreError(f"the saved training state does not fit this run ({type(error).__name__}: "
                                f"{' '.join(str(error).split())[:80]}); continue from another epoch or train a new run.") from None
        first = resume.epoch + 1
    snapshots.save(first - 1, stepper, final=resume is not None)
    # "Epoch 0": the initial weights' statistics ride on RunStarted (no steps yet: grad_norm, update_ratio None).
    emit(RunStarted(run_id, config.to_dict(), device.type, device_name(device) if config.engine == "torch" else "CPU (NumPy)",
                    config.model.parameter_count(), steps, len(data.train),
                    len(data.val) if data.val else 0, len(data.test),
                    initial_layers=tuple(stepper.layer_stats()) if stats and resume is None else ()))
    result = TrainResult("finished", None, device=device.type, data=data)
    elapsed, global_step, epoch = 0.0, 0, first - 1
    last_report = time.perf_counter()  # not reset per epoch: short epochs still report progress
    scale, changes = 1.0, []  # a steered learning rate rescales the schedule from its step on
    if resume is not None:
        result.history = [dict(row) for row in resume.history]
        result.epoch_seconds = [float(row.get("epoch_seconds") or 0.0) for row in result.history]
        elapsed, global_step = float(resume.meta["elapsed_s"]), int(resume.meta["global_step"])
        if resume.meta.get("config_lr") == config.lr:  # a new --lr starts unsteered
            scale = float(resume.meta.get("lr_scale", 1.0))
    for epoch in range(first, config.epochs + 1):
        stepper.begin_epoch()
        synchronize(device)
        start = time.perf_counter()
        for index in range(steps):
            if cancel is not None and cancel.is_set():
                break
            scheduled = lr_at(config.schedule, config.lr, global_step, total_steps, steps, config.step_epochs,
                              config.step_gamma)
            if steer is not None:
                if steer.paused:  # where it holds, exactly (progress reports are throttled)
                    emit(Paused(epoch, config.epochs, index, steps))
                start += steer.wait_while_paused(cancel)  # a pause is not training time
                if cancel is not None and cancel.is_set():
                    break
                asked = steer.take_lr()
                if asked is not None:
                    scale = asked / scheduled if scheduled > 0 else 1.0
                    changes.append(LrChange(global_step + 1, epoch, asked, scheduled, epoch - 1 + index / steps).to_dict())
            stepper.set_lr(scheduled * scale)
            stepper.step(index)
            global_step += 1
            now = time.perf_counter()
            if now - last_report >= PROGRESS_EVERY_S:
                last_report = now
                loss, accuracy = stepper.epoch_stats()  # one sync, a few times a second
                if not math.isfinite(loss):
                    break
                emit(StepProgress(epoch, config.epochs, index + 1, steps, loss,
                                  stepper.seen / (now - start), elapsed + now - start, accuracy))
        synchronize(device)
        epoch_s = time.perf_counter() - start
        elapsed += epoch_s
        train_loss, train_acc = stepper.epoch_stats()
        if not math.isfinite(train_loss):
            return _diverged(result, stepper, emit, epoch, config, elapsed)
        stopped = cancel is not None and cancel.is_set()
        if stopped and stepper.seen == 0:
            epoch -= 1
            break
        val_loss, val_acc, _ = stepper.evaluate(data.val) if data.val is not None else (None, None, None)
        scored = config.test_every_epoch or stopped or epoch == config.epochs
        test_loss, test_acc, confusion = stepper.evaluate(data.test) if scored else (None, None, ())
        layers = tuple(stepper.layer_stats()) if stats else ()
        record = EpochEnded(epoch, config.epochs, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc,
                            stepper.lr, epoch_s, stepper.seen / max(epoch_s, 1e-9), elapsed, partial=stopped,
                            layers=layers, test_confusion=tuple(confusion), lr_changes=tuple(changes))
        changes = []
        result.history.append(dict(record.__dict__))
        result.epoch_seconds.append(epoch_s)
        snapshots.save(epoch, stepper, final=stopped)  # before the event, so a subscriber can open this epoch's file at once
        if save_state is not None and not stopped:  # after all of this epoch's random draws; a partial epoch has none
            save_state(epoch, *capture(stepper, epoch, global_step, scale, elapsed, config.lr))
        emit(record)
        stepper.snapshot()
        if stopped:
            break
    if cancel is not None and cancel.is_set():
        # The user ended it ("stopped"), or a sweep gave up on it ("pruned", see train.cancel): not judged.
        result.status, result.message = stop_status(cancel)
    else:
        # A run that never beat guessing ends with a warning, its model and artifacts kept like a finished one.
        message = stall_message(config, result.history, len(data.test.classes), global_step)
        result.status, result.message = ("stalled", message) if message else ("finished", "")
    result.model, result.train_seconds = stepper.torch_model(), elapsed
    last = result.history[-1] if result.history else {}
    emit(RunFinished(result.status, epoch if result.history else 0, last.get("test_accuracy"),
                     last.get("test_loss"), elapsed, result.message))
    return result


def _diverged(result: TrainResult, stepper, emit, epoch: int, config: TrainConfig, elapsed: float) -> TrainResult:
    """NaN/inf loss: keep the last good epoch's weights and metrics, explain what to do."""
    result.status = "diverged"
    result.message = (f"loss became NaN at epoch {epoch}: lower the learning rate "
                      f"(now {config.lr:g}), e.g. to {config.lr / 10:g}.")
    result.model = stepper.torch_model() if stepper.restore() else None
    result.train_seconds = elapsed
    emit(RunFailed("diverged", result.message, epoch, {"last_good_epoch": epoch - 1}))
    return result
