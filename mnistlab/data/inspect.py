"""Validate any IDX or CSV file a user points at (or uploads) and describe what it holds."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab.data.csv_data import read_csv
from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, READ_ERRORS, Blob, read_idx
from mnistlab.errors import DataError

_CSV_BYTES = frozenset(b"0123456789,+-. \t\r\n\"'_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\xef\xbb\xbf")
_IDX_NAMES = ("idx1", "idx3", "ubyte", ".idx")  # MNIST's own file names: judged as IDX whatever they hold


@dataclass(frozen=True)
class Examined:
    """A validated file: its summary (what `inspect_file` returns) and the arrays behind it."""

    info: dict
    images: np.ndarray | None = field(default=None, repr=False)  # (N, 28, 28) uint8; None for a labels file
    labels: np.ndarray | None = field(default=None, repr=False)  # (N,) in 0..9; None for an images file


def _head(blob: Blob, n: int = 512) -> bytes:
    try:
        with blob.open() as f:
            return f.read(n)
    except READ_ERRORS as e:
        raise DataError(f"{blob.name}: cannot be decompressed ({e}); re-download it.") from None


def _detect(blob: Blob) -> str:
    """'idx' or 'csv', from the file name and else from the first bytes."""
    name = Path(blob.name).name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    head = _head(blob)  # also rejects a .gz name that holds no gzip, and a damaged gzip stream
    if any(part in name for part in _IDX_NAMES):
        return "idx"
    if len(head) >= 4 and struct.unpack(">I", head[:4])[0] in (IMAGES_MAGIC, LABELS_MAGIC):
        return "idx"
    if head and set(head) <= _CSV_BYTES and b"," in head:
        return "csv"
    raise DataError(f"{blob.name}: neither an MNIST IDX file nor a CSV of label,pixel rows; check that you picked "
                    "the right file.")


def examine(source: str | Path | Blob) -> Examined:
    """Validate an IDX (images or labels, raw or gzip) or CSV file; its summary and arrays."""
    blob = Blob.of(source)
    compressed = blob.gzipped
    if _detect(blob) == "csv":
        split = read_csv(blob)
        fmt, images, labels = "csv", split.images.numpy(), split.labels.numpy()
    else:
        array = read_idx(blob)
        fmt = "idx-images" if array.ndim == 3 else "idx-labels"
        images, labels = (array, None) if array.ndim == 3 else (None, array)
    shape = list((images if images is not None else labels).shape)
    histogram = None if labels is None else np.bincount(labels, minlength=10).tolist()
    info = {"path": blob.name, "format": fmt, "count": shape[0], "shape": shape, "label_histogram": histogram,
            "compressed": compressed}
    return Examined(info, images, labels)


def inspect_file(path: str | Path) -> dict:
    """Validate an IDX (images or labels, raw or gzip) or CSV file and describe it.

    Returns {"path", "format": "idx-images"|"idx-labels"|"csv", "count", "shape", "label_histogram"
    (10 counts, None for an images-only file), "compressed"}.
    """
    return examine(path).info


def inspect_bytes(data: bytes, name: str) -> dict:
    """`inspect_file` for uploaded bytes: the same checks and messages, with `name` for the path."""
    return examine(Blob.from_bytes(data, name)).info
