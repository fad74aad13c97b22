"""Validate any IDX or CSV file a user points at and describe what it holds."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from mnistlab.data.csv_data import read_csv
from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, is_gzip, read_idx
from mnistlab.errors import DataError

_CSV_BYTES = frozenset(b"0123456789,+-. \t\r\n\"'_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\xef\xbb\xbf")


def _head(path: Path, compressed: bool, n: int = 512) -> bytes:
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            return f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot be decompressed ({e}); re-download it.") from None


def _detect(path: Path, compressed: bool) -> str:
    """'idx' or 'csv', from the file name and else from the first bytes."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    head = _head(path, compressed)
    if len(head) >= 4 and struct.unpack(">I", head[:4])[0] in (IMAGES_MAGIC, LABELS_MAGIC):
        return "idx"
    if head and set(head) <= _CSV_BYTES and b"," in head:
        return "csv"
    raise DataError(f"{path}: neither an MNIST IDX file nor a CSV of label,pixel rows; check that you picked "
                    "the right file.")


def inspect_file(path: str | Path) -> dict:
    """Validate an IDX (images or labels, raw or gzip) or CSV file and describe it.

    Returns {"path", "format": "idx-images"|"idx-labels"|"csv", "count", "shape", "label_histogram"
    (10 counts, None for an images-only file), "compressed"}.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; pick one IDX or CSV file inside it.")
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty.")
    compressed = is_gzip(path)
    if _detect(path, compressed) == "csv":
        split = read_csv(path)
        fmt, shape, labels = "csv", list(split.images.shape), split.labels.numpy()
    else:
        try:
            array = read_idx(path)
        except zlib.error as e:  # a corrupt deflate stream inside a valid gzip header
            raise DataError(f"{path}: cannot be decompressed ({e}); re-download it.") from None
        fmt, shape = ("idx-images", list(array.shape)) if array.ndim == 3 else ("idx-labels", list(array.shape))
        labels = array if array.ndim == 1 else None
    histogram = None if labels is None else np.bincount(labels, minlength=10).tolist()
    return {"path": str(path), "format": fmt, "count": shape[0], "shape": shape,
            "label_histogram": histogram, "compressed": compressed}
