"""`runs import`: bring a downloaded run (weights .safetensors + config .json) into this store as a new run.

Every file is checked before anything is written (`runs.bundle_check`); the new run is "finished" with a message
saying where it came from, and is evaluated on this machine's test set of its dataset when that is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mnistlab.configs import MAX_CONFIG_BYTES
from mnistlab.data.datasets import DATASETS, dataset_info, resolve_data_dir
from mnistlab.data.load import is_present, load_split
from mnistlab.errors import ConfigError, DataError, RunStoreError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.bundle_check import Bundle, check_size, read_document, read_weights, weights_limit
from mnistlab.runs.files import save_model
from mnistlab.runs.record import save_artifacts
from mnistlab.runs.store import RunStore
from mnistlab.userfiles import describe, read_regular, short

WEIGHTS, CONFIG = ".safetensors", ".json"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
File = tuple[str, bytes]  # (name, content): an upload, or a file read under its cap


@dataclass(frozen=True)
class ImportedRun:
    """A run created from downloaded files: its new id, what it came from and how it scored here."""

    run_id: str
    source: str  # the weights file's name
    evaluation: Evaluation | None
    message: str


@dataclass(frozen=True)
class _Checked:
    bundle: Bundle
    model: MLP
    source: str


def pair_names(names: Sequence[str]) -> list[tuple[str, str]]:
    """(weights, config) name pairs: the only two files, else X.safetensors with X-config.json or X.json."""
    weights, configs = [], []
    for name in names:
        suffix = Path(name).suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise RunStoreError(f"{short(name)} is a PyTorch pickle file, which mnistlab never opens because loading "
                                "one can run any code; download the run's weights as .safetensors instead.")
        if suffix not in (WEIGHTS, CONFIG):
            raise RunStoreError(f"{short(name)} is neither a run's weights (.safetensors) nor its config (.json); "
                                "pass the two files the Results page downloads.")
        (weights if suffix == WEIGHTS else configs).append(name)
    if len(weights) == 1 and len(configs) == 1:
        return [(weights[0], configs[0])]
    pairs = []
    for name in weights:
        stem = name[: -len(WEIGHTS)]
        match = next((c for c in (f"{stem}-config{CONFIG}", f"{stem}{CONFIG}") if c in configs), None)
        if match is None:
            raise RunStoreError(f"{short(name)} has no config beside it; pass its config too, named "
                                f"{short(Path(stem).name + '-config.json')} as the Results page names it.")
        configs.remove(match)
        pairs.append((name, match))
    if configs or not pairs:
        lone = configs[0] if configs else None
        raise RunStoreError(f"{short(lone)} has no weights beside it; pass its .safetensors file too." if lone else
                            "no files to import; pass a run's weights (.safetensors) and its config (.json).")
    return pairs


def check_files(weights: File, config: File) -> _Checked:
    """The checked config and the model built from the checked weights (nothing is written)."""
    bundle = read_document(*config)
    return _Checked(bundle, read_weights(*weights, bundle.config.model), weights[0])


def import_uploads(store: RunStore, files: Sequence[File], data_dir: str | Path | None = None,
                   owner: str = "") -> list[ImportedRun]:
    """Import the runs among uploaded `files` (name, bytes), paired as `pair_names` does; all checked first."""
    by_name = dict(files)
    checked = [check_files((w, by_name[w]), (c, by_name[c])) for w, c in pair_names(list(by_name))]
    return [_create(store, item, data_dir, owner) for item in checked]


def import_paths(store: RunStore, paths: Sequence[str | Path], data_dir: str | Path | None = None,
                 owner: str = "") -> list[ImportedRun]:
    """Import the runs among the files at `paths`, each read under its cap; all are checked before any is made."""
    by_name = {str(p): Path(p) for p in paths}
    checked = []
    for weights, config in pair_names(list(by_name)):
        bundle = read_document(config, read_regular(by_name[config], MAX_CONFIG_BYTES, "config file", ConfigError))
        path, spec = by_name[weights], bundle.config.model
        if describe(path) is None:  # a regular file: its size first, then read no more than the config allows
            check_size(weights, path.stat().st_size, spec)
        data = read_regular(path, weights_limit(spec), "weights file", RunStoreError)
        checked.append(_Checked(bundle, read_weights(weights, data, bundle.config.model), weights))
    return [_create(store, item, data_dir, owner) for item in checked]


def _evaluate_here(bundle: Bundle, model: MLP, data_dir) -> tuple[Evaluation | None, tuple[str, ...], str]:
    """(evaluation on this machine's test set or None, the class names, what happened in words)."""
    config, dataset = bundle.config, bundle.config.dataset
    fallback = bundle.classes or tuple(str(i) for i in range(config.model.outputs))
    if not is_present(dataset, data_dir):
        fix = (f"`python -m mnistlab data fetch --dataset {dataset}`" if dataset in DATASETS
               else f"import the {dataset!r} dataset (`python -m mnistlab data import {dataset} …`)")
        return None, fallback, (f"not evaluated: the {dataset} test images are not in {resolve_data_dir(data_dir)}; "
                                f"{fix}, then import the run again")
    try:
        classes = dataset_info(dataset, data_dir).classes
        test = load_split(dataset, "test", data_dir)
    except DataError as e:
        return None, fallback, f"not evaluated: {str(e).rstrip('.')}"
    if bundle.classes is not None and tuple(bundle.classes) != tuple(classes):
        return None, fallback, (f"not evaluated: the {dataset} dataset here has other classes "
                                f"({', '.join(classes[:4])} …) than the run learned")
    if len(classes) != config.model.outputs:
        return None, fallback, (f"not evaluated: the {dataset} dataset here has {len(classes)} classes, the network "
                                f"{config.model.outputs} outputs")
    if config.test_subset is not None:
        test = test.first(min(config.test_subset, len(test)))
    evaluation = evaluate(model, test, config.loss, device="cpu")
    return evaluation, tuple(classes), f"test accuracy {evaluation.accuracy:.2%} on the {len(test):,} {dataset} test images here"


def _create(store: RunStore, item: _Checked, data_dir, owner: str) -> ImportedRun:
    """Make the run: config, weights, evaluation when possible, then status "finished" with where it came from."""
    bundle = item.bundle
    evaluation, classes, note = _evaluate_here(bundle, item.model, data_dir)
    origin = f"run {bundle.run_id}" if bundle.run_id else short(Path(item.source).name)
    message = f"imported from {origin}; {note}."
    store.check_usable()
    try:
        run_id = store.create(bundle.config.to_dict(), preset=bundle.preset, owner=owner, classes=classes,
                              tags={"imported_from": {"file": Path(item.source).name[:200], "run_id": bundle.run_id}})
    except OSError as e:
        raise RunStoreError(f"cannot create a run in {store.root.resolve()}: {e.strerror or e}.") from None
    try:
        if evaluation is not None:
            save_artifacts(store, run_id, item.model, evaluation)
        else:
            save_model(store.path(run_id) / "model.safetensors", item.model)
        store.update(run_id, status="finished", message=message, epochs_done=bundle.epochs_done or 0,
                     parameter_count=bundle.config.model.parameter_count(), device="cpu",
                     test_accuracy=evaluation.accuracy if evaluation else None,
                     test_loss=evaluation.loss if evaluation else None,
                     test_size=len(evaluation.labels) if evaluation else 0)
    except BaseException:
        try:  # half a run is no run: nothing stays behind
            store.update(run_id, status="failed", message="the import was cut short")
            store.delete(run_id)
        except (OSError, RunStoreError):
            pass  # the disk that failed the import may refuse this too; the run then reads "interrupted"
        raise
    return ImportedRun(run_id, item.source, evaluation, message)
