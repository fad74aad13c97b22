"""Persist a run while it trains (a subscriber) and its artifacts when it ends."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from mnistlab.evaluate import Evaluation
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.files import (
    append_json_line,
    save_arrays,
    save_model,
    save_tensors,
    write_json,
)
from mnistlab.runs.store import RunStore
from mnistlab.train.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.resume import TrainingState

HEARTBEAT_S = 5.0
EPOCHS_DIR = "epochs"  # per-epoch weights: epochs/epoch-000.safetensors (initial), epoch-001…
INITIAL_LAYERS = "initial-layers.json"
LAYER_STATS = "layer-stats.jsonl"  # one line per epoch: {"epoch", "layers", "test_confusion"}
STATS_FIELDS = ("layers", "test_confusion")  # EpochEnded fields kept in LAYER_STATS, not in history.json  # {"epoch": 0, "layers": [...]}: statistics of the initial weights
SNAPSHOT = re.compile(r"^epoch-(\d+)\.safetensors$")
STATE = re.compile(r"^state-(\d+)\.json$")  # beside epochs/state-NNN.safetensors: what continuing needs
KEEP_STATES = 2  # the last two states: one killed half-way through writing still leaves the one before


class RunRecorder:
    """Subscriber that writes history.json each epoch and keeps run.json's heartbeat fresh."""

    def __init__(self, store: RunStore, run_id: str, parent: TrainingState | None = None):
        self.store, self.run_id = store, run_id
        self.history: list[dict] = []
        self.parent = parent  # a continued run starts with its parent's rows, statistics and initial weights' row
        self.last_beat = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if self.parent is not None:
                self._carry_on(self.parent)
            if event.initial_layers:
                write_json(self.store.path(self.run_id) / INITIAL_LAYERS,
                           {"epoch": 0, "layers": list(event.initial_layers)})
            self.store.update(self.run_id, device=event.device, device_name=event.device_name,
                              parameter_count=event.parameter_count, train_size=event.train_size,
                              val_size=event.val_size, test_size=event.test_size)
        elif isinstance(event, StepProgress):
            now = time.monotonic()
            if now - self.last_beat > HEARTBEAT_S:
                self.last_beat = now
                self.store.update(self.run_id, progress={"epoch": event.epoch, "step": event.step,
                                                         "steps_per_epoch": event.steps_per_epoch})
        elif isinstance(event, EpochEnded):
            row = dict(event.__dict__)
            stats = {key: row.pop(key) for key in STATS_FIELDS}  # ~10 KB an epoch: appended, not rewritten
            self.history.append(row)
            folder = self.store.path(self.run_id)
            if any(stats.values()):
                append_json_line(folder / LAYER_STATS, {"epoch": event.epoch, **stats})
            write_json(folder / "history.json", self.history)
            self.store.update(self.run_id, epochs_done=event.epoch, test_accuracy=event.test_accuracy,
                              test_loss=event.test_loss, train_seconds=event.elapsed_s,
                              epoch_seconds=[h["epoch_seconds"] for h in self.history])
        elif isinstance(event, (RunFinished, RunFailed)):
            pass  # the final status is written by save_outcome once the artifacts are on disk


    def _carry_on(self, parent: TrainingState) -> None:
        folder = self.store.path(self.run_id)
        if parent.initial is not None:
            write_json(folder / INITIAL_LAYERS, parent.initial)
        for row in parent.history:
            row = dict(row)
            stats = {key: row.pop(key, None) for key in STATS_FIELDS}
            self.history.append(row)
            if any(stats.values()):
                append_json_line(folder / LAYER_STATS, {"epoch": row["epoch"], **stats})
        write_json(folder / "history.json", self.history)


def save_artifacts(store: RunStore, run_id: str, model: MLP, evaluation: Evaluation) -> None:
    """Weights, evaluation metrics and per-sample predictions of the final model."""
    folder = store.path(run_id)
    save_model(folder / "model.safetensors", model)
    save_arrays(folder / "predictions.safetensors", {
        "predictions": evaluation.predictions.astype(np.int64),
        "probabilities": evaluation.probabilities.astype(np.float32),
        "labels": evaluation.labels.astype(np.int64),
    })
    write_json(folder / "evaluation.json", evaluation.summary())


def snapshot_name(epoch: int) -> str:
    """File name of the weights after `epoch` (0: the initial weights) in a run's snapshot folder."""
    return f"epoch-{epoch:03d}.safetensors"


def weights_saver(folder: Path):
    """A `train(save_weights=...)` callback writing `folder/epoch-NNN.safetensors` (atomically)."""
    folder = Path(folder)

    def save(epoch: int, model: MLP) -> None:
        folder.mkdir(parents=True, exist_ok=True)  # made by the first save: a run that saves none has no folder
        save_model(folder / snapshot_name(epoch), model)  # temp file + rename: readers never see half of one

    return save


def epochs_dir(store: RunStore, run_id: str) -> Path:
    """The folder holding a run's per-epoch weights (`weights_saver(epochs_dir(...))` fills it)."""
    return store.path(run_id) / EPOCHS_DIR


def state_names(epoch: int) -> tuple[str, str]:
    """(tensors, JSON) file names of the training state after `epoch` in a run's snapshot folder."""
    return f"state-{epoch:03d}.safetensors", f"state-{epoch:03d}.json"


def state_saver(folder: Path):
    """A `train(save_state=...)` callback writing `folder/state-NNN.{safetensors,json}`, keeping the last two.

    The JSON is written last, so a state counts only once both files are whole.
    """
    folder = Path(folder)

    def save(epoch: int, tensors: dict, meta: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tensors_name, meta_name = state_names(epoch)
        save_tensors(folder / tensors_name, tensors)
        write_json(folder / meta_name, meta)
        for old in sorted(int(m.group(1)) for p in folder.iterdir() if (m := STATE.match(p.name)))[:-KEEP_STATES]:
            for name in state_names(old):
                (folder / name).unlink(missing_ok=True)

    return save
