"""`Manifest`: what an imported dataset is — its classes, counts, files, origin and conversions.

An imported dataset is a folder under the data directory holding the four IDX files of the built-ins'
layout (gzip'd) and `manifest.json`. The manifest's own SHA-256 identifies the dataset in a run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mnistlab.configs import from_dict, read_json_file, to_dict
from mnistlab.errors import ConfigError, DataError

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the layout changes; a newer manifest is refused with a plain message
MIN_CLASSES, MAX_CLASSES = 2, 62  # EMNIST's largest split ("byclass") has 62
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")  # a folder name on every OS, and a URL/CLI word
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Manifest:
    """An imported dataset's description, written beside its IDX files."""

    name: str
    classes: tuple[str, ...]  # class k's name; labels in the IDX files are 0..K-1
    counts: dict[str, tuple[int, ...]]  # split → images per class, in class order
    sha256: dict[str, str]  # IDX file stem → SHA-256 of its decompressed content (as the built-ins')
    source: dict[str, str] = field(default_factory=dict)  # split → where it came from ("test": "20% of train")
    source_format: str = ""  # csv | idx | npz | folder | zip
    conversions: tuple[str, ...] = ()  # what the import did, one sentence each ("resized 32×32 to 28×28 …")
    label_map: dict[str, int] = field(default_factory=dict)  # original label → class index, where they differ
    created: str = ""  # ISO 8601, UTC
    format: int = FORMAT

    def __post_init__(self):
        check_name(self.name)
        if not MIN_CLASSES <= len(self.classes) <= MAX_CLASSES:
            raise DataError(f"dataset {self.name!r} has {len(self.classes)} classes; mnistlab trains "
                            f"{MIN_CLASSES} to {MAX_CLASSES}.")
        if self.format > FORMAT:
            raise DataError(f"dataset {self.name!r} was written by a newer mnistlab (manifest format {self.format}); "
                            "update mnistlab or import it again.")

    @property
    def sizes(self) -> dict[str, int]:
        return {split: sum(self.counts.get(split, ())) for split in SPLITS}

    def to_dict(self) -> dict:
        return to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @property
    def digest(self) -> str:
        """SHA-256 of the manifest's canonical JSON: which dataset (files and classes) a run was trained on."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        try:
            data = {**data, "counts": {k: tuple(v) for k, v in dict(data.get("counts", {})).items()}}
        except (TypeError, ValueError):
            raise DataError("manifest counts must map each split to a list of counts.") from None
        try:
            return from_dict(cls, data)
        except ConfigError as e:
            raise DataError(str(e)) from None

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest in `folder`; DataError naming the file and the fix when it is damaged."""
        path = folder / MANIFEST
        try:
            return cls.from_dict(read_json_file(path, "dataset manifest"))
        except (ConfigError, DataError) as e:
            raise DataError(f"{e} Import the dataset again (`python -m mnistlab data import {folder.name} …`) or "
                            f"remove it (`python -m mnistlab data remove {folder.name}`).") from None


def check_name(name: str, builtins: tuple[str, ...] = ()) -> None:
    """A dataset name: lower-case letters, digits, '.', '_' or '-', up to 40, not a built-in's."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DataError(f"dataset name {name!r} must be 1 to 40 lower-case letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit (e.g. kmnist or my-digits).")
    if name in builtins:
        raise DataError(f"{name!r} is a built-in dataset; choose another name for your import.")
