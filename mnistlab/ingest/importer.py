"""`import_dataset`: read a user's files, convert them to 28×28 grey, number the classes, store them atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mnistlab.configs import check_range
from mnistlab.data.datasets import DATASETS, FILES, resolve_data_dir, split_stems
from mnistlab.data.manifest import Manifest, check_name
from mnistlab.errors import DataError
from mnistlab.ingest import limits, store
from mnistlab.ingest.classes import class_names, hold_out, label
from mnistlab.ingest.convert import Conversions
from mnistlab.ingest.part import Part
from mnistlab.ingest.readers import read
from mnistlab.ingest.readers_idx import content_sha256

DEFAULT_TEST_FRACTION = 1 / 6  # without a test set: MNIST's proportion (10,000 test for 60,000 train)
SPLIT_SEED = 0  # the held-out test set is the same on every import of the same file


@dataclass(frozen=True)
class ImportReport:
    """What `import_dataset` stored: the manifest, the dataset's folder and files, whether it replaced one."""

    manifest: Manifest
    path: Path  # <data_dir>/<name>
    files: dict[str, Path]  # IDX stem → its .gz file
    replaced: bool = False

    @property
    def conversions(self) -> tuple[str, ...]:
        return self.manifest.conversions

    @property
    def counts(self) -> dict[str, tuple[int, ...]]:
        return self.manifest.counts

    def to_dict(self) -> dict:
        """The manifest's fields plus path, files, sizes and replaced (what `data import --json` prints)."""
        return {**self.manifest.to_dict(), "path": str(self.path), "files": {k: str(v) for k, v in self.files.items()},
                "sizes": self.manifest.sizes, "replaced": self.replaced}


def _fraction_text(fraction: float) -> str:
    return "1/6" if fraction == DEFAULT_TEST_FRACTION else f"{100 * fraction:g}%"


def import_dataset(name: str, train: str | Path, test: str | Path | None = None, test_fraction: float | None = None,
                   classes: str | Sequence[str] | None = None, classes_file: str | Path | None = None,
                   data_dir: str | Path | None = None, train_labels: str | Path | None = None,
                   test_labels: str | Path | None = None, replace: bool = False) -> ImportReport:
    """Import `train` (and `test`) as dataset `name` under the data directory; nothing is registered on failure.

    Args:
        name: the new dataset's name (lower-case letters, digits, '.', '_', '-'; not a built-in's).
        train: a CSV, an IDX images file, a .npz (x_train, y_train[, x_test, y_test]), or a folder or .zip
            with one sub-folder of images per class (with train/ and test/ sub-folders: both splits).
        test: the test set, in any of those formats; default: the file's own test part, else a stratified
            `test_fraction` (default 1/6) of `train`, drawn with seed 0.
        classes: class names ("a,b,c" or a list): for integer labels, the name of each; for string labels
            and folders, their order. classes_file: the same, one name per line.
        train_labels, test_labels: IDX label files when they are not beside the images under MNIST's names.
        replace: overwrite an imported dataset of the same name (a built-in is never overwritten).
    """
    root = resolve_data_dir(data_dir)
    check_target(root, name, replace)
    manifest, arrays = prepare(name, train, test, test_fraction, classes, classes_file, train_labels, test_labels)
    return store_dataset(root, manifest, arrays, replace)


def check_target(root: Path, name: str, replace: bool) -> None:
    """The checks made before anything is read: the name, leftovers cleaned, nothing in the way."""
    check_name(name, tuple(DATASETS))
    store.clean_leftovers(root)  # what killed imports left (a replaced dataset left missing is put back first)
    store.check_free(root, name, replace)


def store_dataset(root: Path, manifest: Manifest, arrays: dict[str, np.ndarray], replace: bool) -> ImportReport:
    """Write a prepared dataset atomically and say where it went."""
    path, replaced = store.write(root, manifest, arrays, replace)
    return ImportReport(manifest, path, {stem: path / f"{stem}.gz" for stem in FILES}, replaced)


def prepare(name: str, train: str | Path, test: str | Path | None = None, test_fraction: float | None = None,
            classes: str | Sequence[str] | None = None, classes_file: str | Path | None = None,
            train_labels: str | Path | None = None, test_labels: str | Path | None = None
            ) -> tuple[Manifest, dict[str, np.ndarray]]:
    """Read, convert and number a dataset: its manifest and its four IDX arrays (IDX stem → array), nothing written."""
    if test is not None and test_fraction is not None:
        raise DataError("give a test set (--test) or a test fraction (--test-fraction), not both.")
    if test is None and test_labels is not None:
        raise DataError("--test-labels needs --test (the IDX images file the labels belong to).")
    if test_fraction is not None:
        check_range("test fraction", test_fraction, 0, 1, low_open=True, high_open=True)
    names = class_names(classes, classes_file)
    conversions = Conversions()
    train_part = read(train, train_labels, "--train-labels", conversions)
    test_part = train_part.test
    if test_part is not None and test is not None:
        raise DataError(f"{train}: holds its own test set; leave out --test, or import a file without one.")
    if test_part is not None and test_fraction is not None:
        conversions.note(f"used the test set inside {train}; the test fraction applies only to files without one")
    if test is not None:
        test_part = read(test, test_labels, "--test-labels", conversions)
    total = len(train_part) + (len(test_part) if test_part is not None else 0)
    if total > limits.MAX_IMAGES:
        raise DataError(limits.too_many(f"{train}{' and ' + str(test) if test else ''}", total))
    labelled = label(train_part, test_part, names, conversions)
    images = {"train": train_part.images, "test": None if test_part is None else test_part.images}
    numbers = {"train": labelled.train, "test": labelled.test}
    source = {"train": _source(train_part)}
    if test_part is None:
        fraction = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        keep, held = hold_out(labelled.train, fraction, SPLIT_SEED, labelled.classes, train_part.label_source)
        images = {"train": train_part.images[keep], "test": train_part.images[held]}
        numbers = {"train": labelled.train[keep], "test": labelled.train[held]}
        source["test"] = f"a stratified {_fraction_text(fraction)} of {train} held out (seed {SPLIT_SEED})"
        conversions.note(f"held out a stratified {_fraction_text(fraction)} of the images of each class as the test "
                         f"set (seed {SPLIT_SEED}), as no test set was given")
    else:
        source["test"] = _source(test_part)
    arrays = {}
    for split in ("train", "test"):
        image_stem, label_stem = split_stems(split)
        arrays[image_stem], arrays[label_stem] = images[split], numbers[split]
    k = len(labelled.classes)
    manifest = Manifest(
        name=name, classes=labelled.classes,
        counts={split: tuple(int(c) for c in np.bincount(numbers[split], minlength=k)) for split in numbers},
        sha256={stem: content_sha256(arrays[stem]) for stem in FILES}, source=source,
        source_format=train_part.format, conversions=conversions.sentences(), label_map=labelled.label_map,
        created=datetime.now(UTC).isoformat(timespec="seconds"))
    return manifest, arrays


def _source(part: Part) -> str:
    return part.source if part.label_source == part.source else f"{part.source} (labels: {part.label_source})"
