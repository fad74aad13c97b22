"""Run K same-shape experiments at once as one population: K stored runs, one batched trainer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import torch

from mnistlab.device import pick_device
from mnistlab.errors import DeviceError, RunStoreError
from mnistlab.experiment import (
    ExperimentResult,
    create_run,
    failure_message,
    fit_to_classes,
    mark_failed,
    release_memory,
    save_outcome,
)
from mnistlab.memory import check_fits, training_bytes
from mnistlab.runs.record import RunRecorder, epochs_dir, weights_saver
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import Subscriber
from mnistlab.train.population import train_population
from mnistlab.train.population_key import check_population
from mnistlab.train.prepare import PreparedData, prepare_data


def population_memory_message(configs: Sequence[TrainConfig]) -> str:
    """What to tell the user when a population does not fit in memory."""
    config = configs[0]
    return (f"ran out of memory training {len(configs)} models of {config.model.parameter_count():,} parameters at "
            f"once with batch {config.batch_size}; train fewer at a time, or use narrower layers or a smaller batch.")


def run_population(configs: Sequence[TrainConfig], *, store: RunStore | None = None,
                   data_dir: str | Path | None = None, data: PreparedData | None = None,
                   subscribers: Sequence[Sequence[Subscriber]] = (), cancel: Sequence[threading.Event | None] = (),
                   owner: str = "", tags: Sequence[dict | None] = (),
                   presets: Sequence[str | None] = ()) -> list[ExperimentResult]:
    """Train `configs` together (one shape: `train.population_key`) as one stored run each, in order.

    Each member is recorded as `run_experiment` records a run (config, classes, dataset digest, tags, the
    RunRecorder's history and layer statistics, per-epoch weights, the final evaluation and artifacts), so
    `RunStore.open(run_id).model()` reloads it. ConfigError (one sentence) when the configs do not share a
    shape. An error while training marks every run not yet saved "failed" and re-raises, as `run_experiment`
    does; running out of memory raises a DeviceError saying to train fewer at a time.

    Args:
        subscribers, cancel, tags, presets: one per member, or empty.
    """
    configs = list(configs)
    store = store or RunStore()
    check_population(configs)
    k = len(configs)
    for name, values in (("subscribers", subscribers), ("cancel", cancel), ("tags", tags), ("presets", presets)):
        assert not values or len(values) == k, f"{name}: one per member expected, got {len(values)} for {k}"
    subscribers = list(subscribers) or [()] * k
    cancel, tags, presets = list(cancel) or [None] * k, list(tags) or [None] * k, list(presets) or [None] * k
    device = pick_device(configs[0].device)
    spec, batch = configs[0].model, configs[0].batch_size
    check_fits(k * training_bytes(spec, batch), device,
               f"training {k} models ({spec.parameter_count():,} parameters each) at once with batch {batch}")
    data = data or prepare_data(configs[0], data_dir)
    configs = [fit_to_classes(c, data.test.classes) for c in configs]
    store.check_usable()
    run_ids: list[str] = []
    saved = 0
    try:
        for config, preset, tag in zip(configs, presets, tags):
            run_ids.append(create_run(store, config, data.test.classes, data_dir, preset=preset, owner=owner,
                                      tags=tag))
        members = [[RunRecorder(store, run_id), *subs] for run_id, subs in zip(run_ids, subscribers)]
        results = train_population(configs, data=data, subscribers=members, cancel=cancel, run_ids=run_ids,
                                   save_weights=[weights_saver(epochs_dir(store, run_id)) for run_id in run_ids])
        out = []
        for run_id, preset, config, result in zip(run_ids, presets, configs, results):
            evaluation = save_outcome(store, run_id, result, data.test, config.loss)
            out.append(ExperimentResult(run_id, preset, config, result, evaluation))
            saved += 1
        return out
    except BaseException as error:  # noqa: BLE001 - every run must end with a status whatever happened
        out_of_memory = isinstance(error, (torch.OutOfMemoryError, MemoryError))
        write_failed = isinstance(error, OSError) and not isinstance(error, (FileNotFoundError,))
        message = ""
        for run_id, subs in list(zip(run_ids, subscribers))[saved:]:
            message = failure_message(error, store, run_id, population_memory_message(configs))
            mark_failed(store, run_id, message, subs)
        if write_failed:
            raise RunStoreError(message) from None
        if not out_of_memory:
            raise
    # Only out of memory gets here: the traceback's frames (and the stacked weights they held) are gone now.
    results = out = None
    release_memory()
    raise DeviceError(population_memory_message(configs))
