"""Which reader a path needs (CSV, IDX, .npz, a folder or .zip of class folders), by its name and first bytes."""

from __future__ import annotations

from pathlib import Path

from mnistlab.data.idx import READ_ERRORS, Blob
from mnistlab.errors import DataError
from mnistlab.ingest.convert import Conversions
from mnistlab.ingest.part import Part
from mnistlab.ingest.readers_csv import read_csv_part
from mnistlab.ingest.readers_idx import is_idx, read_idx_part
from mnistlab.ingest.readers_images import read_images_part
from mnistlab.ingest.readers_npz import read_npz_part
from mnistlab.userfiles import describe

FORMATS_TEXT = ("a CSV (label, then pixel values), an IDX images file (raw or .gz), a .npz with x_train and "
                "y_train, or a folder or .zip with one sub-folder of images per class")


def detect(path: Path) -> str:
    """'csv', 'idx', 'npz', 'folder' or 'zip'; DataError for a missing path or another kind of file."""
    if path.is_dir():
        return "folder"
    problem = describe(path)
    if problem is not None:
        raise DataError(f"{path} {problem}; give {FORMATS_TEXT}.")
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    blob = Blob.of(path)
    try:
        with blob.open() as f:
            head = f.read(512)
    except (DataError, *READ_ERRORS) as e:
        raise DataError(f"{path}: cannot be read ({e}); give {FORMATS_TEXT}.") from None
    if is_idx(head):
        return "idx"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if all(b in b"0123456789,+-. \t\r\n\"" or 32 <= b < 127 for b in head.lstrip(b"\xef\xbb\xbf")):
        return "csv"
    raise DataError(f"{path}: not a format mnistlab imports; give {FORMATS_TEXT}.")


def read(path: str | Path, labels: str | Path | None, labels_flag: str, conversions: Conversions) -> Part:
    """The `Part` in `path` (`labels`: an IDX labels file, else found beside the images)."""
    path = Path(path)
    fmt = detect(path)
    if labels is not None and fmt != "idx":
        raise DataError(f"{path}: is a {fmt} file, which holds its own labels; {labels_flag} is for IDX images files.")
    if fmt == "idx":
        return read_idx_part(path, labels, conversions)
    if fmt == "npz":
        return read_npz_part(path, conversions)
    if fmt == "csv":
        return read_csv_part(path, conversions)
    return read_images_part(path, conversions)
