"""`Run`: one stored run, opened once through `RunStore.open` and read through this handle only.

Every file is read as untrusted input (regular files under a size cap, checked shapes); a file that links
out of the runs directory is refused. Nothing here writes: the run's one writer is its recorder.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from mnistlab.data.datasets import DATASETS
from mnistlab.data.load import load_split
from mnistlab.data.split import Split
from mnistlab.errors import ConfigError, DataError, RunStoreError
from mnistlab.evaluate import Evaluation
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.files import load_arrays, load_model, load_tensors, read_json, read_json_lines
from mnistlab.runs.record import EPOCHS_DIR, INITIAL_LAYERS, LAYER_STATS, SNAPSHOT, STATE, snapshot_name, state_names
from mnistlab.runs.store import RunInfo, RunStore, check_run_id
from mnistlab.train.config import TrainConfig
from mnistlab.train.resume import TrainingState

MODEL = "model.safetensors"
EVALUATION, PREDICTIONS = "evaluation.json", "predictions.safetensors"
FILES = ("run.json", "config.json", "history.json", EVALUATION, PREDICTIONS, MODEL, INITIAL_LAYERS, LAYER_STATS)


class Run:
    """A stored run: its info and status, config, history, models (final or per epoch), evaluation and files."""

    def __init__(self, store: RunStore, run_id: str):
        self.store, self.run_id = store, check_run_id(run_id)
        if not store.exists(run_id):
            raise RunStoreError(f"no run {run_id!r}: run {run_id} not found in {store.root}; list runs with "
                                "`python -m mnistlab runs`.")
        self.folder = store.path(run_id)

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, status={self.status!r})"

    # -- what it is ------------------------------------------------------------------------------------

    @property
    def info(self) -> RunInfo:
        """The listing's summary (status computed now: a dead writer reads "interrupted")."""
        return self.store.info(self.run_id)

    @property
    def status(self) -> str:
        return self.store.status_info(self.run_id).get("status", "interrupted")

    @cached_property
    def config_dict(self) -> dict:
        """config.json as stored: {'preset': name or None, 'config': TrainConfig dict} (written once)."""
        return self.store.config(self.run_id)

    @cached_property
    def config(self) -> TrainConfig:
        try:
            return TrainConfig.from_dict(self.config_dict.get("config"))
        except ConfigError as e:
            raise RunStoreError(f"run {self.run_id}'s config.json is not a valid config ({e}); delete the run.") from None

    @property
    def preset(self) -> str | None:
        return self.config_dict.get("preset")

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names of the dataset the run was trained on (as recorded when it started)."""
        recorded = self.store.status_info(self.run_id).get("classes")
        if isinstance(recorded, list) and recorded and all(isinstance(c, str) for c in recorded):
            return tuple(recorded)
        dataset = (self.config_dict.get("config") or {}).get("dataset") or "mnist"  # a run from before classes
        return DATASETS[dataset].classes if dataset in DATASETS else tuple(str(i) for i in range(10))

    def check_classes(self, classes: tuple[str, ...], dataset: str) -> None:
        """DataError unless `dataset`'s classes are the ones this run learned (its outputs mean those)."""
        mine = self.classes
        if tuple(classes) != tuple(mine):
            def shown(names):
                return f"{len(names)} classes ({', '.join(names[:6])}{' …' if len(names) > 6 else ''})"
            raise DataError(f"run {self.run_id} learned {shown(mine)} but dataset {dataset!r} has {shown(classes)}; "
                            "evaluate or predict with a run trained on a dataset with the same classes.")

    def split(self, which: str, data_dir: str | Path | None = None, dataset: str | None = None) -> Split:
        """The whole 'train' or 'test' split of its dataset (or of `dataset`), refused when the classes differ."""
        name = dataset or self.config.dataset
        split = load_split(name, which, data_dir)
        self.check_classes(split.classes, name)
        return split

    @property
    def tags(self) -> dict:
        """Who made it and why, as recorded when it was created (a sweep's {"sweep", "trial", "seed"}); {} if none."""
        tags = self.store.status_info(self.run_id).get("tags")
        return tags if isinstance(tags, dict) else {}

    @property
    def parent(self) -> str | None:
        """The run this one continues (its history begins with that run's rows), or None."""
        parent = self.tags.get("parent")
        return parent if isinstance(parent, str) else None

    @property
    def dataset_digest(self) -> str:
        """The manifest SHA-256 of the imported dataset it was trained on; '' for a built-in."""
        return self.store.status_info(self.run_id).get("dataset_digest") or ""

    # -- its files -------------------------------------------------------------------------------------

    def file(self, name: str) -> Path:
        """The path of one of its files (refused when it links out of the runs directory)."""
        return self.store.file(self.run_id, name)

    @property
    def files(self) -> dict[str, Path]:
        """Its files that exist, by name."""
        return {name: path for name in FILES if (path := self.file(name)).is_file()}

    def stamp(self, *names: str) -> tuple:
        """(name, size, mtime) of each named file, None for a missing one: a cache key that follows them."""
        out = []
        for name in names:
            path = self.file(name)
            stat = path.stat() if path.exists() else None
            out.append((name, stat.st_size, stat.st_mtime_ns) if stat else None)
        return tuple(out)

    @property
    def has_model(self) -> bool:
        return self.file(MODEL).is_file()

    # -- what it learned -------------------------------------------------------------------------------

    def history(self, layer_stats: bool = False) -> list[dict]:
        """One row per epoch of history.json; with `layer_stats`, each row's per-layer statistics and test
        confusion merged in, after an epoch-0 row {"epoch": 0, "layers": [...]} of the initial weights."""
        history = self.store.history(self.run_id)
        if not isinstance(history, list):
            raise RunStoreError(f"run {self.run_id}'s history.json does not hold a list of epochs; delete the run.")
        rows = [row for row in history if isinstance(row, dict)]
        if not layer_stats:
            return rows
        stats = {line.get("epoch"): line for line in read_json_lines(self.file(LAYER_STATS))}
        rows = [{**row, **{k: v for k, v in stats.get(row.get("epoch"), {}).items() if k != "epoch"}} for row in rows]
        initial = self.file(INITIAL_LAYERS)
        first = read_json(initial) if initial.is_file() else None
        return ([first] if isinstance(first, dict) else []) + rows

    @property
    def saved_epochs(self) -> list[int]:
        """Epochs whose weights were saved, ascending (0 is the initialisation); [] when none were."""
        folder = self.folder / EPOCHS_DIR
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := SNAPSHOT.match(p.name)))

    @property
    def saved_states(self) -> list[int]:
        """Epochs after which a whole training state was saved (what `training_state` can continue), ascending."""
        folder = self.folder / EPOCHS_DIR
        if not folder.is_dir():
            return []
        names = {p.name for p in folder.iterdir()}
        return sorted(int(m.group(1)) for name in names
                      if (m := STATE.match(name)) and state_names(int(m.group(1)))[0] in names)

    def training_state(self, epoch: int | None = None) -> TrainingState:
        """What continuing needs after `epoch` (default: the last saved one), with the history up to it."""
        saved = self.saved_states
        if not saved:
            raise RunStoreError(f"run {self.run_id} has no saved training state to continue from (it predates "
                                "them, its model is too large, or it ended before its first epoch); train it anew.")
        epoch = saved[-1] if epoch is None else epoch
        if epoch not in saved:
            raise RunStoreError(f"run {self.run_id} has no training state for epoch {epoch!r}; choose one of "
                                f"{', '.join(map(str, saved))}.")
        tensors_name, meta_name = (f"{EPOCHS_DIR}/{name}" for name in state_names(epoch))
        meta = read_json(self.file(meta_name))
        if not isinstance(meta, dict) or meta.get("epoch") != epoch or meta.get("engine") != self.config.engine:
            raise RunStoreError(f"run {self.run_id}'s training state for epoch {epoch} is damaged; continue "
                                "from another epoch or train it anew.")
        rows = [row for row in self.history(layer_stats=True) if isinstance(row.get("epoch"), int)]
        initial = next((row for row in rows if row["epoch"] == 0), None)
        history = [row for row in rows if 1 <= row["epoch"] <= epoch]
        return TrainingState(epoch, load_tensors(self.file(tensors_name)), meta, history, initial)

    def model(self, epoch: int | None = None, device: str | torch.device = "cpu") -> MLP:
        """The final model (safetensors only), or the model as it was after `epoch` (0: its initial weights)."""
        if epoch is None:
            if not self.has_model:
                raise RunStoreError(f"run {self.run_id} has no saved model yet (status {self.status}); wait for it "
                                    "to finish or pick a finished run.")
            return load_model(self.file(MODEL), device=device)
        name = f"{EPOCHS_DIR}/{snapshot_name(epoch)}" if isinstance(epoch, int) and epoch >= 0 else None
        if name is None or not self.file(name).is_file():
            saved = self.saved_epochs
            if not saved:
                raise RunStoreError(f"run {self.run_id} has no weights for epoch {epoch!r}: this run saved no "
                                    "per-epoch weights (its model is too large, or it predates them); use its final "
                                    "model.")
            listed = (f"{saved[0]}–{saved[-1]}" if saved == list(range(saved[0], saved[-1] + 1))
                      else ", ".join(map(str, saved)))
            raise RunStoreError(f"run {self.run_id} has no weights for epoch {epoch!r}; choose one of its saved "
                                f"epochs: {listed}.")
        return load_model(self.file(name), device=device)

    def evaluation(self) -> Evaluation | None:
        """The saved test evaluation, or None if it has none yet."""
        summary_path, arrays_path = self.file(EVALUATION), self.file(PREDICTIONS)
        if not summary_path.is_file() or not arrays_path.is_file():
            return None
        summary = read_json(summary_path)
        arrays = load_arrays(arrays_path)
        try:
            evaluation = Evaluation(float(summary["loss"]), float(summary["accuracy"]),
                                    [float(a) for a in summary["per_class_accuracy"]],
                                    np.asarray(summary["confusion"], dtype=np.int64), arrays["predictions"],
                                    arrays["probabilities"], arrays["labels"],
                                    tuple(str(c) for c in summary["classes"]))
        except (KeyError, TypeError, ValueError) as e:
            raise RunStoreError(f"run {self.run_id}'s evaluation files are damaged ({type(e).__name__}: "
                                f"{str(e)[:80]}); delete the run, or train it again.") from None
        classes, n = len(evaluation.classes), len(evaluation.labels)
        if (evaluation.confusion.shape != (classes, classes) or evaluation.predictions.shape != (n,)
                or evaluation.probabilities.shape != (n, classes)):
            raise RunStoreError(f"run {self.run_id}'s evaluation files disagree on their sizes; delete the run, or "
                                "train it again.")
        return evaluation
