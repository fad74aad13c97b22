"""Read the tutorials' CSV format (label, then 784 pixels 0–255 per row) into a `Split`."""

from __future__ import annotations

import gzip
import io
import itertools
import re
import zlib
from pathlib import Path

import numpy as np

from mnistlab.data.idx import is_gzip, nonempty_size
from mnistlab.data.split import Split
from mnistlab.errors import DataError

COLUMNS = 1 + 28 * 28  # label, then the pixels row by row
CHUNK_ROWS = 4096  # rows parsed per np.loadtxt call: ~25 MB of int64 at a time
MAX_BYTES = 512 * 1024 * 1024


_INT = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


def _is_int(field: str) -> bool:
    return _INT.fullmatch(field) is not None


def _diagnose(path: Path, lines: list[str], numbers: list[int]) -> DataError:
    """The first problem in a chunk numpy refused, found row by row for a precise message."""
    for lineno, line in zip(numbers, lines, strict=True):
        fields = line.rstrip("\r\n").split(",")
        if len(fields) != COLUMNS:
            return _columns_error(path, lineno, len(fields))
        for col, field in enumerate(fields, start=1):
            what = "the label" if col == 1 else f"column {col}"
            text = field.strip()
            if not _is_int(field):
                kind = "NaN" if text.lower() == "nan" else "text" if text else "an empty field"
                return DataError(f"{path}: line {lineno}: {what} holds {kind} ({text[:20]!r}); every value "
                                 "must be a whole number (pixels 0–255, labels 0–9).")
            if not 0 <= int(text) <= (9 if col == 1 else 255):
                return _range_error(path, lineno, col, int(text))
    return DataError(f"{path}: lines {numbers[0]}–{numbers[-1]} cannot be parsed as whole numbers.")


def _columns_error(path: Path, lineno: int, got: int) -> DataError:
    hint = " (a label-less file such as Kaggle's test.csv cannot be used for training)" if got == COLUMNS - 1 else ""
    return DataError(f"{path}: line {lineno} has {got} columns; expected {COLUMNS} (a label, then 784 "
                     f"pixel values){hint}.")


def _range_error(path: Path, lineno: int, col: int, value: int) -> DataError:
    if col == 1:
        return DataError(f"{path}: line {lineno}: label {value} is outside 0–9.")
    return DataError(f"{path}: line {lineno}: pixel value {value} in column {col} is outside 0–255.")


def _check_range(path: Path, block: np.ndarray, numbers: list[int]) -> None:
    """Raise on the first label outside 0–9 or pixel outside 0–255 in `block` (rows, 785)."""
    bad = np.zeros(block.shape, dtype=bool)
    bad[:, 0] = (block[:, 0] < 0) | (block[:, 0] > 9)
    bad[:, 1:] = (block[:, 1:] < 0) | (block[:, 1:] > 255)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise _range_error(path, numbers[row], int(col) + 1, int(block[row, col]))


def _parse(path: Path, lines: list[str], numbers: list[int]) -> np.ndarray:
    """Parse a chunk of rows into uint8 (rows, 785), validating columns and ranges."""
    try:
        block = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
    except (ValueError, OverflowError):
        raise _diagnose(path, lines, numbers) from None
    if block.shape[1] != COLUMNS:
        raise _columns_error(path, numbers[0], block.shape[1])
    _check_range(path, block, numbers)
    return block.astype(np.uint8)


def _open_text(path: Path, max_bytes: int):
    """The file as text (BOM dropped, universal newlines), inflating .gz with a size cap."""
    if is_gzip(path):
        capped = _Capped(gzip.open(path, "rb"), path, max_bytes)
        return io.TextIOWrapper(io.BufferedReader(capped), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


class _Capped(io.RawIOBase):
    """A byte stream that raises once more than `limit` bytes were read (for .csv.gz files)."""

    def __init__(self, inner, path: Path, limit: int):
        self.inner, self.path, self.limit, self.read_so_far = inner, path, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.inner.readinto(buffer)
        self.read_so_far += n
        if self.read_so_far > self.limit:
            raise DataError(_too_large(self.path, self.limit, "decompressed"))
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


def _too_large(path: Path, limit: int, what: str = "") -> str:
    size = f"{limit / 2**20:.0f} MiB" if limit >= 2**20 else f"{limit:,}-byte"
    return (f"{path}: the file is larger than the {size} limit{' ' + what if what else ''}; split it "
            f"into smaller files (e.g. `split -l 30000 {path.name} part-`, then add the header line to each "
            "part if it has one) or raise max_bytes.")


def read_csv(path: str | Path, max_bytes: int = MAX_BYTES) -> Split:
    """Load a CSV of `label,pixel0,...,pixel783` rows (header row optional; .csv.gz allowed).

    Args:
        path: the CSV file.
        max_bytes: refuse files larger than this (on disk, and after decompression).
    """
    path = Path(path)
    size = nonempty_size(path)
    if size > max_bytes:
        raise DataError(_too_large(path, max_bytes))
    parts: list[np.ndarray] = []
    try:
        with _open_text(path, max_bytes) as f:
            numbered = ((n, line) for n, line in enumerate(f, start=1) if line.strip())
            first = next(numbered, None)
            if first is None:
                raise DataError(f"{path}: file holds no rows (only blank lines).")
            if not _is_int(first[1].split(",")[0]):
                first = None  # a header row ("label,pixel0,..."): skip it; a bad data row is diagnosed below
            rows = itertools.chain([first] if first else [], numbered)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                numbers, lines = [n for n, _ in chunk], [line for _, line in chunk]
                parts.append(_parse(path, lines, numbers))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (it holds bytes that are not UTF-8).") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot be read ({e}).") from None
    if not parts:
        raise DataError(f"{path}: holds a header row but no data rows.")
    data = np.concatenate(parts)  # (N, 785) uint8
    return Split.from_numpy(data[:, 1:].reshape(-1, 28, 28), data[:, 0], name=path.name, meta={"source": str(path)})
