"""Run one experiment end to end: create the run, train, evaluate, save, never lose it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from mnistlab.data.datasets import dataset_info
from mnistlab.data.split import Split
from mnistlab.device import device_name, pick_device
from mnistlab.errors import ConfigError, DeviceError, MnistlabError, RunStoreError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.memory import check_training_fits
from mnistlab.runs.record import RunRecorder, epochs_dir, save_artifacts, state_saver, weights_saver
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import RunFailed, Subscriber
from mnistlab.train.loop import TrainResult, train
from mnistlab.train.prepare import PreparedData, prepare_data
from mnistlab.train.resume import TrainingState
from mnistlab.train.steer import Steering
from mnistlab.userfiles import describe_os_error


@dataclass
class ExperimentResult:
    """A stored run: its id, how training ended, and the final test evaluation."""

    run_id: str
    preset: str | None
    config: TrainConfig
    result: TrainResult
    evaluation: Evaluation | None


def out_of_memory_message(config: TrainConfig, device: torch.device) -> str:
    """What to tell the user when `config` does not fit in `device`'s memory."""
    size = f"this model ({config.model.parameter_count():,} parameters) with batch {config.batch_size}"
    fix = "use narrower layers or a smaller batch."
    if device.type == "cuda":
        return f"ran out of GPU memory: {size} does not fit on {device_name(device)}; {fix}"
    return f"ran out of memory: {size} does not fit in this machine's memory; {fix}"


def fit_to_classes(config: TrainConfig, classes: tuple[str, ...]) -> TrainConfig:
    """`config` with one output unit per class of its dataset (a preset made for 10 digits, run on 26 letters)."""
    return config if config.model.outputs == len(classes) else config.with_(outputs=len(classes))


def dataset_digest(dataset: str, data_dir: str | Path | None) -> str:
    """An imported dataset's manifest SHA-256 ('' for a built-in, whose files' checksums are fixed)."""
    try:
        return dataset_info(dataset, data_dir).digest
    except MnistlabError:  # data handed in directly (tests, the job queue's prepared data): no manifest to name
        return ""


def release_memory() -> None:
    """Collect what a failed run left and hand PyTorch's cached GPU blocks back to the driver."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()  # for the next job in the queue, and for other processes on the GPU


def create_run(store: RunStore, config: TrainConfig, classes: tuple[str, ...], data_dir: str | Path | None, *,
               preset: str | None = None, owner: str = "", tags: dict | None = None) -> str:
    """A new "running" run of `config` in `store`; RunStoreError (one sentence) when its folder cannot be made."""
    try:
        return store.create(config.to_dict(), preset=preset, owner=owner, classes=classes,
                            dataset_digest=dataset_digest(config.dataset, data_dir), tags=tags)
    except OSError as error:
        raise RunStoreError(f"cannot create a run in {store.root.resolve()}: "
                            f"{describe_os_error(error, store.root.resolve())}.") from None


def save_outcome(store: RunStore, run_id: str, result: TrainResult, test: Split, loss: str) -> Evaluation | None:
    """Evaluate the trained model on `test`, save its artifacts and write the run's final status."""
    evaluation = None
    if result.model is not None:
        evaluation = evaluate(result.model, test, loss)
        save_artifacts(store, run_id, result.model, evaluation)
    store.update(run_id, status=result.status, message=result.message,
                 test_accuracy=evaluation.accuracy if evaluation else None,
                 test_loss=evaluation.loss if evaluation else None,
                 train_seconds=result.train_seconds, epoch_seconds=result.epoch_seconds,
                 epochs_done=len(result.history))
    return evaluation


def failure_message(error: BaseException, store: RunStore, run_id: str, out_of_memory: str) -> str:
    """What a run that `error` ended says, `out_of_memory` being the message for running out of memory."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return out_of_memory
    if isinstance(error, OSError) and not isinstance(error, (FileNotFoundError,)):
        where = store.path(run_id).resolve()
        return (f"could not save the run: {describe_os_error(error, where)}; what was written before is "
                "kept. Free some space or fix the folder, then train again.")
    if isinstance(error, KeyboardInterrupt):
        return "interrupted by the user (Ctrl-C)"
    return str(error) if isinstance(error, MnistlabError) else f"{type(error).__name__}: {error}"


def mark_failed(store: RunStore, run_id: str, message: str, subscribers: Iterable[Subscriber]) -> None:
    """Write status "failed" with `message` (if the disk allows) and tell `subscribers` with a RunFailed."""
    try:
        store.update(run_id, status="failed", message=message)
    except OSError:
        pass  # the disk that failed the run may refuse this too: the run reads "interrupted" instead
    for subscriber in subscribers:
        try:
            subscriber(RunFailed("failed", message, 0, {"run_id": run_id}))
        except Exception:  # noqa: BLE001 - a broken subscriber must not mask the real error
            pass


RESUMABLE = ("finished", "stopped", "interrupted", "stalled")  # statuses a run can be continued from
CHANGEABLE = ("epochs", "lr")  # what a continued run may change: the architecture and data stay


def continued_config(store: RunStore, run_id: str, more_epochs: int, lr: float | None = None) -> TrainConfig:
    """The config that continues run `run_id` for `more_epochs` epochs after its last saved state (at `lr`)."""
    parent = store.open(run_id)
    if parent.status not in RESUMABLE:
        raise RunStoreError(f"run {run_id} is {parent.status}; only a finished, stopped, stalled or interrupted "
                            "run can be continued.")
    saved = parent.saved_states
    if not saved:
        parent.training_state()  # raises the one-sentence reason
    config = parent.config.with_(epochs=saved[-1] + more_epochs)
    return config if lr is None else config.with_(lr=lr)


def _resume_state(store: RunStore, run_id: str, config: TrainConfig) -> TrainingState:
    """The parent's last state, refused (ConfigError) when `config` changes more than CHANGEABLE."""
    parent = store.open(run_id)
    state = parent.training_state()
    mine, theirs = config.to_dict(), parent.config.to_dict()
    changed = sorted(k for k in set(mine) | set(theirs) if k not in CHANGEABLE and mine.get(k) != theirs.get(k))
    if changed:
        raise ConfigError(f"a continued run keeps its parent's settings but {', '.join(changed)} differ from run "
                          f"{run_id}'s; change only the epochs and the learning rate, or train a new run.")
    if config.epochs <= state.epoch:
        raise ConfigError(f"run {run_id} continues from epoch {state.epoch}, so epochs must be above it "
                          f"(got {config.epochs}).")
    return state


def run_experiment(config: TrainConfig, *, preset: str | None = None, store: RunStore | None = None,
                   data_dir: str | Path | None = None, data: PreparedData | None = None,
                   subscribers: Iterable[Subscriber] = (), cancel: threading.Event | None = None,
                   owner: str = "", tags: dict | None = None, steer: Steering | None = None,
                   resume_from: str | None = None) -> ExperimentResult:
    """Train `config` as a new stored run; its status is final even if training raises.

    A user error (bad data, no GPU...) or an unexpected exception marks the run "failed" with the
    message, emits RunFailed, and re-raises for the caller to report. Running out of (GPU) memory
    frees what the run held and raises a DeviceError with a plain message instead: the user can fix
    it with a smaller model or batch, so the CLI says so in one line (exit 2) and the job queue moves on.
    `tags` (JSON-ready) are written into run.json, e.g. a sweep's {"sweep": name, "trial": 3, "seed": 0}.
    `steer` changes the learning rate or pauses while it trains (the dashboard's live controls).
    `resume_from` continues that run from its last saved state (`continued_config` builds `config`): the new
    run records {"parent", "resumed_from_epoch"} in its tags and its history starts with the parent's rows.
    """
    store = store or RunStore()
    # Bad input (no GPU, too big a model, missing data, impossible subset, an unusable store) fails here,
    # before a run exists.
    device = pick_device("cpu" if config.engine == "numpy" else config.device)
    check_training_fits(config.model, config.batch_size, device, graphs=2 if config.adversarial == "vat" else 1,
                        extra_copies=1 if config.ema else 0)
    data = data or prepare_data(config, data_dir)
    config = fit_to_classes(config, data.test.classes)
    store.check_usable()
    state = _resume_state(store, resume_from, config) if resume_from else None
    if state is not None:
        tags = {**(tags or {}), "parent": resume_from, "resumed_from_epoch": state.epoch}
    run_id = create_run(store, config, data.test.classes, data_dir, preset=preset, owner=owner, tags=tags)
    subscribers = [RunRecorder(store, run_id, state), *subscribers]
    try:
        result = train(config, data=data, subscribers=subscribers, cancel=cancel, run_id=run_id,
                       save_weights=weights_saver(epochs_dir(store, run_id)), steer=steer,
                       save_state=state_saver(epochs_dir(store, run_id)), resume=state)
        evaluation = save_outcome(store, run_id, result, data.test, config.loss)
        return ExperimentResult(run_id, preset, config, result, evaluation)
    except BaseException as error:  # noqa: BLE001 - the run must end with a status whatever happened
        out_of_memory = isinstance(error, (torch.OutOfMemoryError, MemoryError))
        write_failed = isinstance(error, OSError) and not isinstance(error, (FileNotFoundError,))
        message = failure_message(error, store, run_id, out_of_memory_message(config, device))
        mark_failed(store, run_id, message, subscribers[1:])
        if write_failed:
            raise RunStoreError(message) from None
        if not out_of_memory:
            raise
    # Only out of memory gets here. The old error is gone with its traceback, whose frames held the model,
    # optimizer and batches: now they can be freed, and the new error carries no reference to them.
    result = evaluation = None  # an error in evaluate/save leaves the trained model here
    release_memory()
    raise DeviceError(message)
