"""Read a CSV of `label, H×W pixels` rows (header optional, labels integers or strings, .csv.gz allowed).

The file is streamed in chunks of CHUNK_ROWS rows, so memory follows the pixels kept, not the text.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np

from mnistlab.data.csv_data import open_text
from mnistlab.data.idx import READ_ERRORS, Blob
from mnistlab.data.manifest import MAX_CLASSES
from mnistlab.errors import DataError
from mnistlab.ingest import limits
from mnistlab.ingest.convert import Conversions, fit_all
from mnistlab.ingest.part import Part

CHUNK_ROWS = 4096  # rows per np.loadtxt call: ≤ 34 MB of int64 for 32×32 images
LABEL_NAMES = frozenset({"label", "labels", "class", "classes", "target", "y", "digit", "category"})
_PIXEL_NAME = re.compile(r"(pixel|pix|px|p|x)?[ _-]?\d+([ x_-]\d+)?", re.IGNORECASE)  # pixel0, px12, 1x1, 28_28
_INT = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


def _is_header(fields: list[str]) -> bool:
    """A first row whose first name is a label's, or whose other fields are mostly not numbers."""
    if _clean(fields[0]).lower() in LABEL_NAMES:
        return True
    words = sum(1 for f in fields[1:] if not _INT.fullmatch(f))
    return words > len(fields[1:]) / 2


def _clean(field: str) -> str:
    text = field.strip()
    return text[1:-1].strip() if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _check_header(name: str, fields: list[str]) -> None:
    """DataError when the header puts the label elsewhere, or has no label column at all."""
    names = [_clean(f).lower() for f in fields]
    if names[0] in LABEL_NAMES:
        return
    elsewhere = next((i for i, n in enumerate(names) if n in LABEL_NAMES), None)
    if elsewhere is not None:
        raise DataError(f"{name}: the header names column {elsewhere + 1:,} ({_clean(fields[elsewhere])!r}) as the "
                        "label, but mnistlab reads the label from the first column: move that column to the front.")
    if _PIXEL_NAME.fullmatch(names[0]):
        raise DataError(f"{name}: the first column is {_clean(fields[0])!r}, a pixel, and no column is named "
                        "label: a file without labels (such as Kaggle's test.csv) cannot be imported.")


def _side(name: str, lineno: int, columns: int) -> int:
    """The image side H for a row of `columns` = 1 + H×H fields."""
    if columns == 1:
        raise DataError(f"{name}: line {lineno} has no commas; mnistlab reads comma-separated rows of a label, then "
                        "the pixel values.")
    pixels = columns - 1
    side = math.isqrt(pixels)
    if math.isqrt(columns) ** 2 == columns and side * side != pixels:
        raise DataError(f"{name}: line {lineno} has {columns:,} values, a whole {math.isqrt(columns)}×"
                        f"{math.isqrt(columns)} image and no label column: a file without labels (such as "
                        "Kaggle's test.csv) cannot be imported.")
    if pixels < 1 or side * side != pixels:
        raise DataError(f"{name}: line {lineno} has {columns:,} columns, a label and {pixels:,} pixel values, which "
                        "is not a square image; give a label then H×H pixels (785 columns for 28×28, 1,025 for 32×32).")
    if side > limits.MAX_SIDE:
        raise DataError(f"{name}: rows hold {side}×{side} images; mnistlab imports sides up to {limits.MAX_SIDE} px.")
    return side


def _diagnose(name: str, chunk: list[tuple[int, str]]) -> DataError:
    """The first field numpy refused, found row by row for a precise message."""
    for lineno, line in chunk:
        for col, field in enumerate(line.rstrip("\r\n").split(",")[1:], start=2):
            if not _INT.fullmatch(field):
                text = field.strip()
                kind = "NaN" if text.lower() == "nan" else "an empty field" if not text else repr(text[:20])
                return DataError(f"{name}: line {lineno}: column {col:,} holds {kind}; pixel values must be whole "
                                 "numbers 0–255.")
    return DataError(f"{name}: lines {chunk[0][0]}–{chunk[-1][0]} cannot be read as whole numbers.")


def _parse(name: str, chunk: list[tuple[int, str]], columns: int, first: int) -> tuple[list[str], np.ndarray]:
    """(labels, (rows, H×H) uint8 pixels) of a chunk, with ragged rows and bad values named by line."""
    labels, rests = [], []
    for lineno, line in chunk:
        got = line.count(",") + 1
        if got != columns:
            raise DataError(f"{name}: line {lineno} has {got:,} columns but line {first} has {columns:,}; every "
                            f"row needs a label then the same {columns - 1:,} pixel values.")
        label, _, rest = line.partition(",")
        label = _clean(label)
        if not label:
            raise DataError(f"{name}: line {lineno}: the label (column 1) is empty; every row starts with its label.")
        if len(label) > limits.MAX_CLASS_NAME:
            raise DataError(f"{name}: line {lineno}: the label {label[:20]!r}… is longer than "
                            f"{limits.MAX_CLASS_NAME} characters; is column 1 really the label?")
        labels.append(label)
        rests.append(rest)
    try:
        pixels = np.loadtxt(rests, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
    except (ValueError, OverflowError):
        raise _diagnose(name, chunk) from None
    bad = (pixels < 0) | (pixels > 255)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{name}: line {chunk[row][0]}: pixel value {pixels[row, col]} in column {col + 2:,} is "
                        "outside 0–255.")
    return labels, pixels.astype(np.uint8)


def _label_hint(labels: np.ndarray, pixels: np.ndarray, columns: int) -> str:
    """A hint for when column 1 does not look like labels but the last column does."""
    if labels.dtype.kind == "U":
        return ""
    found, last = len(np.unique(labels)), len(np.unique(pixels[:, -1]))
    if (found == 1 or found > MAX_CLASSES) and 2 <= last <= MAX_CLASSES:
        return (f" (column {columns:,} holds {last} distinct values, like labels: if the label is the last column, "
                "move it to the front)")
    return ""


def read_csv_part(path: str | Path, conversions: Conversions) -> Part:
    """A CSV file as a `Part`; a header row is skipped, other sizes than 28×28 are resized."""
    blob = Blob.of(path)
    name = blob.name
    if blob.size > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(name, blob.size))
    labels: list[str] = []
    blocks: list[np.ndarray] = []
    lines: list[int] = []
    try:
        with open_text(blob, limits.MAX_FILE_BYTES, limits.too_large(name, what="once decompressed")) as f:
            numbered = ((n, line) for n, line in enumerate(f, start=1) if line.strip())
            first = next(numbered, None)
            if first is None:
                raise DataError(f"{name}: holds no rows (only blank lines); give one row per image: a label, then "
                                "its pixel values.")
            fields = first[1].rstrip("\r\n").split(",")
            header = _is_header(fields)
            if header:
                _check_header(name, fields)
            columns = len(fields)
            side = _side(name, first[0], columns)
            rows = numbered if header else itertools.chain([first], numbered)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                if len(lines) + len(chunk) > limits.MAX_IMAGES:
                    raise DataError(limits.too_many(name))
                chunk_labels, pixels = _parse(name, chunk, columns, first[0])
                labels += chunk_labels
                blocks.append(pixels)
                lines += [n for n, _ in chunk]
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a text CSV file (it holds bytes that are not UTF-8).") from None
    except READ_ERRORS as e:
        raise DataError(f"{name}: cannot be read or decompressed ({e}); download it again.") from None
    if not blocks:
        raise DataError(f"{name}: holds a header row but no data rows.")
    pixels = np.concatenate(blocks)  # (N, H×H) uint8
    label_array = np.array(labels)
    if all(_INT.fullmatch(v) for v in labels):
        label_array = _as_int(name, labels, lines)
    numbers = np.asarray(lines, dtype=np.int64)
    images = fit_all(pixels.reshape(-1, side, side), conversions)
    return Part(images, label_array, name, "csv", lambda i: f"line {numbers[i]:,}",
                label_hint=_label_hint(label_array, pixels, columns) if not header else "")


def _as_int(name: str, labels: list[str], lines: list[int]) -> np.ndarray:
    values = [int(v) for v in labels]
    for value, lineno in zip(values, lines, strict=True):
        if abs(value) >= 2**62:
            raise DataError(f"{name}: line {lineno}: label {value} is too large to be a class number.")
    return np.asarray(values, dtype=np.int64)
