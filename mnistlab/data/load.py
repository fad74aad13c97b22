"""Load a dataset split from the data directory into a `Split`."""

from __future__ import annotations

from pathlib import Path

from mnistlab.data.datasets import dataset_info, file_path, missing_message, resolve_data_dir, split_stems
from mnistlab.data.idx import read_idx
from mnistlab.data.split import Split
from mnistlab.errors import DataError


def load_split(dataset: str = "mnist", split: str = "train", data_dir: str | Path | None = None) -> Split:
    """Read `split` ('train' or 'test') of `dataset` from IDX files (raw or .gz).

    Args:
        dataset: 'mnist' or 'fashion-mnist'.
        split: 'train' (60,000) or 'test' (10,000).
        data_dir: folder holding `<dataset>/`; default $MNISTLAB_DATA_DIR or ./data.
    """
    info = dataset_info(dataset)
    root = resolve_data_dir(data_dir)
    image_stem, label_stem = split_stems(split)
    image_path, label_path = file_path(root, dataset, image_stem), file_path(root, dataset, label_stem)
    if image_path is None or label_path is None:
        raise DataError(missing_message(root, dataset))
    for path in (image_path, label_path):
        _inside(path, root)
    images = read_idx(image_path, expect="images")
    labels = read_idx(label_path, expect="labels")
    if len(images) != len(labels):  # each file is whole by now: the pair disagrees
        raise DataError(f"{image_path}: {len(images):,} images but {label_path.name} has {len(labels):,} labels; "
                        f"they must match: run `python -m mnistlab data fetch --dataset {dataset}` to repair them.")
    return Split.from_numpy(images, labels, classes=info.classes, name=f"{dataset}-{split}",
                            meta={"dataset": dataset, "split": split, "source": str(image_path.parent)})


def _inside(path: Path, root: Path) -> None:
    """DataError for a file that is a link to somewhere outside the data directory (never followed)."""
    real, base = path.resolve(), root.resolve()
    if not real.is_relative_to(base):
        raise DataError(f"{path} is a link to {real}, outside the data directory {base}; mnistlab does not "
                        "follow links out of it: copy the file in, or point --data-dir/MNISTLAB_DATA_DIR at its folder.")


def is_present(dataset: str, data_dir: str | Path | None = None) -> bool:
    """True when all four files of `dataset` exist (not verified)."""
    root = resolve_data_dir(data_dir)
    return all(file_path(root, dataset, s) for split in ("train", "test") for s in split_stems(split))
