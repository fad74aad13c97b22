"""The datasets mnistlab knows: their files, checksums, class names and where they live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mnistlab.data.manifest import MANIFEST, NAME_PATTERN, Manifest
from mnistlab.errors import DataError

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, class names and the SHA-256 of each decompressed file."""

    name: str
    title: str
    classes: tuple[str, ...]
    sha256: dict[str, str]
    mirrors: tuple[str, ...]  # base URLs, tried in order
    licence: str
    train_size: int = 60_000  # images in the training split (both built-ins have 60,000 and 10,000 test)
    test_size: int = 10_000
    imported: bool = False  # a user's dataset (`data import`), described by its manifest
    digest: str = ""  # an imported dataset's manifest SHA-256 (what a run records it was trained on)
    conversions: tuple[str, ...] = ()  # what its import did to the images

    @property
    def num_classes(self) -> int:
        return len(self.classes)


MNIST = DatasetInfo(
    name="mnist",
    title="MNIST handwritten digits",
    classes=tuple(str(i) for i in range(10)),
    sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    licence="Yann LeCun and Corinna Cortes, CC BY-SA 3.0",
)

FASHION_MNIST = DatasetInfo(
    name="fashion-mnist",
    title="Fashion-MNIST (Zalando article images)",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    licence="Zalando SE, MIT",
)

DATASETS: dict[str, DatasetInfo] = {d.name: d for d in (MNIST, FASHION_MNIST)}


def dataset_info(name: str, data_dir: str | Path | None = None) -> DatasetInfo:
    """A built-in dataset, or one imported into the data directory, with a message listing the known ones."""
    if name in DATASETS:
        return DATASETS[name]
    folder = resolve_data_dir(data_dir) / name if isinstance(name, str) and NAME_PATTERN.fullmatch(name) else None
    if folder is None or not (folder / MANIFEST).is_file():
        known = ", ".join(dataset_names(data_dir))
        raise DataError(f"unknown dataset {name!r}; choose one of: {known} (or import yours with "
                        "`python -m mnistlab data import NAME --train FILE`).")
    return imported_info(Manifest.read(folder))


def imported_info(manifest: Manifest) -> DatasetInfo:
    sizes = manifest.sizes
    return DatasetInfo(name=manifest.name, title=manifest.name, classes=manifest.classes, sha256=manifest.sha256,
                       mirrors=(), licence=f"imported from {manifest.source.get('train', 'a local file')}",
                       train_size=sizes["train"], test_size=sizes["test"], imported=True, digest=manifest.digest,
                       conversions=manifest.conversions)


def dataset_names(data_dir: str | Path | None = None) -> list[str]:
    """The built-ins, then every imported dataset in the data directory, by name."""
    root = resolve_data_dir(data_dir)
    try:
        found = sorted(p.name for p in root.iterdir() if p.name not in DATASETS and NAME_PATTERN.fullmatch(p.name)
                       and (p / MANIFEST).is_file())
    except OSError:  # no data directory yet
        found = []
    return [*DATASETS, *found]


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: the argument, else $MNISTLAB_DATA_DIR, else ./data."""
    if data_dir:
        return Path(data_dir)
    return Path(os.environ.get("MNISTLAB_DATA_DIR") or "data")


def file_path(data_dir: Path, dataset: str, stem: str) -> Path | None:
    """The existing file for `stem` (raw preferred over .gz), or None."""
    base = data_dir / dataset
    for candidate in (base / stem, base / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def split_stems(split: str) -> tuple[str, str]:
    """(images, labels) file stems for split 'train' or 'test'."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise DataError(f"unknown split {split!r}; use 'train' or 'test'.")
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def missing_message(data_dir: Path, dataset: str) -> str:
    return (
        f"dataset {dataset!r} not found in {data_dir / dataset}; run "
        f"`python -m mnistlab data fetch --dataset {dataset}` or set MNISTLAB_DATA_DIR / --data-dir "
        "to a folder that holds it."
    )
