"""`list_datasets`: the built-ins (downloaded or not) and every imported dataset, with classes and counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mnistlab.data.datasets import DATASETS, dataset_names, resolve_data_dir
from mnistlab.data.load import is_present
from mnistlab.data.manifest import Manifest
from mnistlab.errors import DataError
from mnistlab.ingest.store import clean_leftovers


@dataclass(frozen=True)
class ListedDataset:
    """One dataset as `data list` shows it."""

    name: str
    imported: bool
    present: bool  # built-ins: all four files are there (`data fetch` downloads them)
    path: str
    classes: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)  # split → images
    counts: dict[str, tuple[int, ...]] | None = None  # split → images per class (imported: from the manifest)
    source: dict[str, str] = field(default_factory=dict)
    conversions: tuple[str, ...] = ()
    error: str = ""  # an imported dataset whose manifest cannot be read

    def to_dict(self) -> dict:
        return asdict(self)


def list_datasets(data_dir: str | Path | None = None, log: Callable[[str], None] | None = None) -> list[ListedDataset]:
    """Built-ins first, then imported datasets by name; leftovers of stopped imports are cleaned first (`log` says so)."""
    root = resolve_data_dir(data_dir)
    for line in clean_leftovers(root):
        (log or (lambda _: None))(line)
    listed = []
    for name in dataset_names(root):
        path = str(root / name)
        if name in DATASETS:
            info = DATASETS[name]
            listed.append(ListedDataset(name, False, is_present(name, root), path, info.classes,
                                        {"train": info.train_size, "test": info.test_size}))
            continue
        try:
            manifest = Manifest.read(root / name)
        except DataError as e:
            listed.append(ListedDataset(name, True, False, path, error=str(e)))
            continue
        listed.append(ListedDataset(name, True, True, path, manifest.classes, manifest.sizes, dict(manifest.counts),
                                    dict(manifest.source), manifest.conversions))
    return listed
