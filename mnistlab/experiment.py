"""Run one experiment end to end: create the run, train, evaluate, save, never lose it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mnistlab.device import pick_device
from mnistlab.errors import MnistlabError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.runs.record import RunRecorder, save_artifacts
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import RunFailed, Subscriber
from mnistlab.train.loop import TrainResult, train
from mnistlab.train.prepare import PreparedData, prepare_data


@dataclass
class ExperimentResult:
    """A stored run: its id, how training ended, and the final test evaluation."""

    run_id: str
    preset: str | None
    config: TrainConfig
    result: TrainResult
    evaluation: Evaluation | None


def run_experiment(config: TrainConfig, *, preset: str | None = None, store: RunStore | None = None,
                   data_dir: str | Path | None = None, data: PreparedData | None = None,
                   subscribers: Iterable[Subscriber] = (), cancel: threading.Event | None = None,
                   owner: str = "") -> ExperimentResult:
    """Train `config` as a new stored run; its status is final even if training raises.

    A user error (bad data, no GPU...) or an unexpected exception marks the run "failed" with the
    message, emits RunFailed, and re-raises for the caller to report.
    """
    store = store or RunStore()
    # Bad input (no GPU, missing data, impossible subset) fails here, before a run exists.
    pick_device("cpu" if config.engine == "numpy" else config.device)
    data = data or prepare_data(config, data_dir)
    run_id = store.create(config.to_dict(), preset=preset, owner=owner)
    subscribers = [RunRecorder(store, run_id), *subscribers]
    try:
        result = train(config, data=data, subscribers=subscribers, cancel=cancel, run_id=run_id)
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
        message = str(error) if isinstance(error, MnistlabError) else f"{type(error).__name__}: {error}"
        if isinstance(error, KeyboardInterrupt):
            message = "interrupted by the user (Ctrl-C)"
        store.update(run_id, status="failed", message=message)
        for subscriber in subscribers[1:]:
            try:
                subscriber(RunFailed("failed", message, 0))
            except Exception:  # noqa: BLE001 - a broken subscriber must not mask the real error
                pass
        raise
