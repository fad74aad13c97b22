"""Run one experiment end to end: create the run, train, evaluate, save, never lose it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from mnistlab.data.datasets import dataset_info
from mnistlab.device import device_name, pick_device
from mnistlab.errors import DeviceError, MnistlabError, RunStoreError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.memory import check_training_fits
from mnistlab.runs.record import RunRecorder, epochs_dir, save_artifacts, weights_saver
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import RunFailed, Subscriber
from mnistlab.train.loop import TrainResult, train
from mnistlab.train.prepare import PreparedData, prepare_data
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


def run_experiment(config: TrainConfig, *, preset: str | None = None, store: RunStore | None = None,
                   data_dir: str | Path | None = None, data: PreparedData | None = None,
                   subscribers: Iterable[Subscriber] = (), cancel: threading.Event | None = None,
                   owner: str = "") -> ExperimentResult:
    """Train `config` as a new stored run; its status is final even if training raises.

    A user error (bad data, no GPU...) or an unexpected exception marks the run "failed" with the
    message, emits RunFailed, and re-raises for the caller to report. Running out of (GPU) memory
    frees what the run held and raises a DeviceError with a plain message instead: the user can fix
    it with a smaller model or batch, so the CLI says so in one line (exit 2) and the job queue moves on.
    """
    store = store or RunStore()
    # Bad input (no GPU, too big a model, missing data, impossible subset, an unusable store) fails here,
    # before a run exists.
    device = pick_device("cpu" if config.engine == "numpy" else config.device)
    check_training_fits(config.model, config.batch_size, device)
    data = data or prepare_data(config, data_dir)
    config = fit_to_classes(config, data.test.classes)
    store.check_usable()
    try:
        run_id = store.create(config.to_dict(), preset=preset, owner=owner, classes=data.test.classes,
                              dataset_digest=dataset_digest(config.dataset, data_dir))
    except OSError as error:
        raise RunStoreError(f"cannot create a run in {store.root.resolve()}: "
                            f"{describe_os_error(error, store.root.resolve())}.") from None
    subscribers = [RunRecorder(store, run_id), *subscribers]
    try:
        result = train(config, data=data, subscribers=subscribers, cancel=cancel, run_id=run_id,
                       save_weights=weights_saver(epochs_dir(store, run_id)))
        evaluation = None
        if result.model is not None:
            evaluation = evaluate(result.model, data.test, config.loss)
            save_artifacts(store, run_id, result.model, evaluation)
        store.update(run_id, status=result.status, message=result.message,
                     test_accuracy=evaluation.accuracy if evaluation else None,
                     test_loss=evaluation.loss if evaluation else None,
                     train_seconds=result.train_seconds, epoch_seconds=result.epoch_seconds,
                     epochs_done=len(result.history))
        return ExperimentResult(run_id, preset, config, result, evaluation)
    except BaseException as error:  # noqa: BLE001 - the run must end with a status whatever happened
        out_of_memory = isinstance(error, (torch.OutOfMemoryError, MemoryError))
        write_failed = isinstance(error, OSError) and not isinstance(error, (FileNotFoundError,))
        if out_of_memory:
            message = out_of_memory_message(config, device)
        elif write_failed:
            where = store.path(run_id).resolve()
            message = (f"could not save the run: {describe_os_error(error, where)}; what was written before is "
                       "kept. Free some space or fix the folder, then train again.")
        elif isinstance(error, KeyboardInterrupt):
            message = "interrupted by the user (Ctrl-C)"
        else:
            message = str(error) if isinstance(error, MnistlabError) else f"{type(error).__name__}: {error}"
        try:
            store.update(run_id, status="failed", message=message)
        except OSError:
            pass  # the disk that failed the run may refuse this too: the run reads "interrupted" instead
        for subscriber in subscribers[1:]:
            try:
                subscriber(RunFailed("failed", message, 0, {"run_id": run_id}))
            except Exception:  # noqa: BLE001 - a broken subscriber must not mask the real error
                pass
        if write_failed:
            raise RunStoreError(message) from None
        if not out_of_memory:
            raise
    # Only out of memory gets here. The old error is gone with its traceback, whose frames held the model,
    # optimizer and batches: now they can be freed, and the new error carries no reference to them.
    result = evaluation = None  # an error in evaluate/save leaves the trained model here
    release_memory()
    raise DeviceError(message)
