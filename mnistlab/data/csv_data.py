"""Read the tutorials' CSV format (label, then 784 pixels 0–255 per row) into a `Split`."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import numpy as np

from mnistlab.data.idx import READ_ERRORS, Blob
from mnistlab.data.split import Split
from mnistlab.errors import DataError

COLUMNS = 1 + 28 * 28  # label, then the pixels row by row
CHUNK_ROWS = 4096  # rows parsed per np.loadtxt call: ~25 MB of int64 at a time
MAX_BYTES = 512 * 1024 * 1024  # bigger files are refused before a byte is read (looked up at call time)


_INT = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


def _is_int(field: str) -> bool:
    return _INT.fullmatch(field) is not None


def _diagnose(name: str, lines: list[str], numbers: list[int]) -> DataError:
    """The first problem in a chunk numpy refused, found row by row for a precise message."""
    for lineno, line in zip(numbers, lines, strict=True):
        fields = line.rstrip("\r\n").split(",")
        if len(fields) != COLUMNS:
            return _columns_error(name, lineno, len(fields))
        for col, field in enumerate(fields, start=1):
            what = "the label" if col == 1 else f"column {col}"
            text = field.strip()
            if not _is_int(field):
                kind = "NaN" if text.lower() == "nan" else "text" if text else "an empty field"
                return DataError(f"{name}: line {lineno}: {what} holds {kind} ({text[:20]!r}); every value "
                                 "must be a whole number (pixels 0–255, labels 0–9).")
            if not 0 <= int(text) <= (9 if col == 1 else 255):
                return _range_error(name, lineno, col, int(text))
    return DataError(f"{name}: lines {numbers[0]}–{numbers[-1]} cannot be parsed as whole numbers.")


def _columns_error(name: str, lineno: int, got: int) -> DataError:
    hint = " (a label-less file such as Kaggle's test.csv cannot be used for training)" if got == COLUMNS - 1 else ""
    return DataError(f"{name}: line {lineno} has {got} columns; expected {COLUMNS} (a label, then 784 "
                     f"pixel values){hint}.")


def _range_error(name: str, lineno: int, col: int, value: int) -> DataError:
    if col == 1:
        return DataError(f"{name}: line {lineno}: label {value} is outside 0–9.")
    return DataError(f"{name}: line {lineno}: pixel value {value} in column {col} is outside 0–255.")


def _check_range(name: str, block: np.ndarray, numbers: list[int]) -> None:
    """Raise on the first label outside 0–9 or pixel outside 0–255 in `block` (rows, 785)."""
    bad = np.zeros(block.shape, dtype=bool)
    bad[:, 0] = (block[:, 0] < 0) | (block[:, 0] > 9)
    bad[:, 1:] = (block[:, 1:] < 0) | (block[:, 1:] > 255)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise _range_error(name, numbers[row], int(col) + 1, int(block[row, col]))


def _parse(name: str, lines: list[str], numbers: list[int]) -> np.ndarray:
    """Parse a chunk of rows into uint8 (rows, 785), validating columns and ranges."""
    try:
        block = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
    except (ValueError, OverflowError):
        raise _diagnose(name, lines, numbers) from None
    if block.shape[1] != COLUMNS:
        raise _columns_error(name, numbers[0], block.shape[1])
    _check_range(name, block, numbers)
    return block.astype(np.uint8)


def open_text(blob: Blob, max_bytes: int, too_large: str | None = None):
    """The content as text (BOM dropped, universal newlines), inflating gzip with a size cap.

    `too_large` is the sentence raised once a .gz inflates past `max_bytes` (default: read_csv's).
    """
    if blob.gzipped:
        message = too_large or _too_large(blob.name, max_bytes, "decompressed")
        capped = _Capped(blob.open(), message, max_bytes)
        return io.TextIOWrapper(io.BufferedReader(capped), encoding="utf-8-sig")
    return io.TextIOWrapper(blob.open(), encoding="utf-8-sig")


class _Capped(io.RawIOBase):
    """A byte stream that raises DataError(`message`) once more than `limit` bytes were read (.csv.gz files)."""

    def __init__(self, inner, message: str, limit: int):
        self.inner, self.message, self.limit, self.read_so_far = inner, message, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.inner.readinto(buffer)
        self.read_so_far += n
        if self.read_so_far > self.limit:
            raise DataError(self.message)
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


def _too_large(name: str, limit: int, what: str = "") -> str:
    size = f"{limit / 2**20:.0f} MiB" if limit >= 2**20 else f"{limit:,}-byte"
    return (f"{name}: the file is larger than the {size} limit{' ' + what if what else ''}; split it "
            f"into smaller files (e.g. `split -l 30000 {Path(name).name} part-`, then add the header line to each "
            "part if it has one) or raise max_bytes.")


def read_csv(path: str | Path | Blob, max_bytes: int | None = None) -> Split:
    """Load a CSV of `label,pixel0,...,pixel783` rows (header row optional; .csv.gz allowed).

    Args:
        path: the CSV file (or a `Blob` of uploaded bytes).
        max_bytes: refuse files larger than this, on disk and after decompression (default MAX_BYTES);
            the size is checked before a byte is read.
    """
    blob = Blob.of(path)
    name, max_bytes = blob.name, MAX_BYTES if max_bytes is None else max_bytes
    max_bytes = min(max_bytes, blob.max_unpacked or max_bytes)
    if blob.size > max_bytes:
        raise DataError(_too_large(name, max_bytes))
    parts: list[np.ndarray] = []
    try:
        with open_text(blob, max_bytes) as f:
            numbered = ((n, line) for n, line in enumerate(f, start=1) if line.strip())
            first = next(numbered, None)
            if first is None:
                raise DataError(f"{name}: file holds no rows (only blank lines).")
            if not _is_int(first[1].split(",")[0]):
                first = None  # a header row ("label,pixel0,..."): skip it; a bad data row is diagnosed below
            rows = itertools.chain([first] if first else [], numbered)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                numbers, lines = [n for n, _ in chunk], [line for _, line in chunk]
                parts.append(_parse(name, lines, numbers))
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a text CSV file (it holds bytes that are not UTF-8).") from None
    except READ_ERRORS as e:
        what = "decompressed" if blob.gzipped else "read"
        raise DataError(f"{name}: cannot be {what} ({e}); re-download it.") from None
    if not parts:
        raise DataError(f"{name}: holds a header row but no data rows.")
    data = np.concatenate(parts)  # (N, 785) uint8
    return Split.from_numpy(data[:, 1:].reshape(-1, 28, 28), data[:, 0], name=Path(name).name,
                            meta={"source": name})
