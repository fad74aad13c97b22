"""Predict an unlabelled CSV of images with a stored run, into Kaggle's `ImageId,Label` submission file.

The input is Kaggle's Digit Recognizer `test.csv`: an optional header (`pixel0,…,pixel783`), then one row of
784 pixel values 0–255 per image. It is read in chunks, never whole, and the output is written to a
temporary name and renamed, so a failed prediction leaves no half-written submission.
"""

from __future__ import annotations

import csv as csv_module
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mnistlab.data.csv_data import open_text
from mnistlab.data.idx import Blob
from mnistlab.errors import DataError
from mnistlab.models.inputs import EVAL_BATCH, to_inputs
from mnistlab.models.torch_mlp import eval_mode
from mnistlab.runs.store import RunStore

PIXELS = 28 * 28
CHUNK_ROWS = 4096  # rows parsed at a time: ~25 MB of int64
MAX_BYTES = 1024**3  # the same 1 GiB per file as an import
Progress = Callable[[int], None]  # called with the number of images predicted so far


@dataclass(frozen=True)
class Submission:
    """What `write_submission` wrote: where, how many rows, and how often each class was predicted."""

    path: Path
    rows: int
    counts: dict[str, int]  # class name → images predicted as it
    header: bool  # whether the input had a header line


def _row_error(name: str, lineno: int, fields: list[str]) -> DataError:
    """The first problem in one row that numpy refused, as one sentence."""
    if len(fields) != PIXELS:
        extra = (" (a label column first? this is for unlabelled images: train or evaluate on a labelled file "
                 "instead)" if len(fields) == PIXELS + 1 else "")
        return DataError(f"{name}: line {lineno} has {len(fields):,} values; every row must hold the {PIXELS} pixel "
                         f"values of one 28×28 image{extra}.")
    for col, field in enumerate(fields, start=1):
        text = field.strip()
        if not text.lstrip("+-").isdigit():
            return DataError(f"{name}: line {lineno}: column {col} holds {text[:20]!r}; pixel values must be whole "
                             "numbers 0–255.")
        if not 0 <= int(text) <= 255:
            return DataError(f"{name}: line {lineno}: pixel value {int(text)} in column {col} is outside 0–255.")
    return DataError(f"{name}: line {lineno} cannot be read as pixel values.")


def _chunks(blob: Blob, seen: dict):
    """(n, 28, 28) uint8 chunks of the CSV's images; a header line is skipped and noted in `seen`."""
    header = None
    with open_text(blob, MAX_BYTES) as text:
        lines: list[str] = []
        first = lineno = 0
        for lineno, line in enumerate(text, start=1):
            if not line.strip():
                continue
            if header is None:
                header = seen["header"] = not line.split(",", 1)[0].strip().lstrip("+-").isdigit()
                if header:
                    continue
            if not lines:
                first = lineno
            lines.append(line)
            if len(lines) == CHUNK_ROWS:
                yield _parse(blob.name, first, lines)
                lines = []
        if lines:
            yield _parse(blob.name, first, lines)


def _parse(name: str, first: int, lines: list[str]) -> np.ndarray:
    try:
        values = np.array([line.split(",") for line in lines], dtype=np.int64)
    except ValueError:
        values = None
    if values is None or values.ndim != 2 or values.shape[1] != PIXELS or values.min() < 0 or values.max() > 255:
        for offset, line in enumerate(lines):
            fields = line.rstrip("\r\n").split(",")
            try:
                row = np.array(fields, dtype=np.int64)
            except ValueError:
                row = None
            if row is None or len(row) != PIXELS or row.min() < 0 or row.max() > 255:
                raise _row_error(name, first + offset, fields)
    return values.astype(np.uint8).reshape(-1, 28, 28)


@torch.no_grad()
def write_submission(store: RunStore, run_id: str, csv: str | Path | Blob, out: str | Path,
                     progress: Progress | None = None) -> Submission:
    """Classify every image of the unlabelled `csv` with run `run_id`'s model; write `ImageId,Label` to `out`."""
    run = store.open(run_id)
    model, classes = run.model(device="cpu"), run.classes
    blob = Blob.of(csv)
    if blob.size > MAX_BYTES:
        raise DataError(f"{blob.name}: the file is larger than the 1 GiB limit; split it into smaller files.")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    counts = np.zeros(len(classes), np.int64)
    rows, seen = 0, {"header": False}
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f, eval_mode(model):
            writer = csv_module.writer(f, lineterminator="\n")  # quotes a class name that holds a comma
            writer.writerow(("ImageId", "Label"))
            for images in _chunks(blob, seen):
                x = to_inputs(torch.from_numpy(images))
                labels = torch.cat([model(x[i:i + EVAL_BATCH]).argmax(1) for i in range(0, len(x), EVAL_BATCH)])
                labels = labels.numpy()
                counts += np.bincount(labels, minlength=len(classes))
                writer.writerows((rows + i + 1, classes[c]) for i, c in enumerate(labels))
                rows += len(labels)
                if progress:
                    progress(rows)
        if rows == 0:
            raise DataError(f"{blob.name}: holds no image rows; give one row of {PIXELS} pixel values per image.")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return Submission(out, rows, dict(zip(classes, counts.tolist(), strict=True)), seen["header"])
