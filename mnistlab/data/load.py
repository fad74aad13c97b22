"""Load a dataset split from the data directory into a `Split`."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

from mnistlab.data.datasets import (
    DATASETS,
    DatasetInfo,
    dataset_info,
    file_path,
    missing_message,
    resolve_data_dir,
    split_stems,
)
from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from mnistlab.data.split import Split
from mnistlab.errors import DataError
from mnistlab.userfiles import check_inside


def load_split(dataset: str = "mnist", split: str = "train", data_dir: str | Path | None = None) -> Split:
    """Read `split` ('train' or 'test') of `dataset` from IDX files (raw or .gz).

    Args:
        dataset: 'mnist', 'fashion-mnist' or the name of an imported dataset.
        split: 'train' (60,000 for the built-ins) or 'test' (10,000).
        data_dir: folder holding `<dataset>/`; default $MNISTLAB_DATA_DIR or ./data.
    """
    root = resolve_data_dir(data_dir)
    info = dataset_info(dataset, root)
    image_stem, label_stem = split_stems(split)
    image_path, label_path = file_path(root, dataset, image_stem), file_path(root, dataset, label_stem)
    if image_path is None or label_path is None:
        raise DataError(missing_message(root, dataset))
    for path in (image_path, label_path):
        check_inside(path, root, "data directory", DataError)
    images = read_idx(image_path, expect="images")
    labels = read_idx(label_path, expect="labels", classes=len(info.classes))
    unverified = [path.name for path, stem, array in ((image_path, image_stem, images), (label_path, label_stem, labels))
                  if not _identify(path, stem, array, info)]
    repair = (f"import it again (`python -m mnistlab data import {dataset} --replace …`)" if info.imported else
              f"run `python -m mnistlab data fetch --dataset {dataset}` to repair them")
    if len(images) != len(labels):  # each file is whole by now: the pair disagrees
        raise DataError(f"{image_path}: {len(images):,} images but {label_path.name} has {len(labels):,} labels; "
                        f"they must match: {repair}.")
    return Split.from_numpy(images, labels, classes=info.classes, name=f"{dataset}-{split}",
                            meta={"dataset": dataset, "split": split, "source": str(image_path.parent),
                                  "unverified": unverified})


def _identify(path: Path, stem: str, array: np.ndarray, info: DatasetInfo) -> bool:
    """Whether `array` (as read from `path`) is the file `stem` of `dataset` by its SHA-256; DataError when it
    is another dataset's file (Fashion-MNIST's labels in the MNIST folder train silently to chance otherwise).

    Costs one SHA-256 of the content already in memory, no second read of the file.
    """
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    digest = hashlib.sha256(struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape))
    digest.update(np.ascontiguousarray(array).data)
    found = digest.hexdigest()
    if found == info.sha256.get(stem):
        return True
    dataset = info.name
    for other in DATASETS.values():
        for other_stem, sha in other.sha256.items():
            if sha == found and (other.name, other_stem) != (dataset, stem):
                raise DataError(f"{path} is {other.title}'s {other_stem}, not {dataset}'s {stem}; put the right "
                                f"file there (`python -m mnistlab data fetch --dataset {dataset}` restores it).")
    return False  # not a file we know (a user's own or test data): loaded, and listed in meta["unverified"]


def is_present(dataset: str, data_dir: str | Path | None = None) -> bool:
    """True when all four files of `dataset` exist (not verified)."""
    root = resolve_data_dir(data_dir)
    return all(file_path(root, dataset, s) for split in ("train", "test") for s in split_stems(split))
