"""`import_uploads`: a dataset from uploaded files (names and bytes, as the dashboard receives them).

The bytes are saved in a hidden work folder in the data directory (removed afterwards, or by the next
import or list if the process is killed), read like files given by path, and every message names the
uploaded file, not the work folder.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

from mnistlab.data.datasets import resolve_data_dir
from mnistlab.data.idx import READ_ERRORS, Blob
from mnistlab.errors import DataError, MnistlabError
from mnistlab.ingest import store
from mnistlab.ingest.importer import ImportReport, check_target, prepare, store_dataset
from mnistlab.ingest.readers_idx import is_idx

Upload = tuple[str, bytes]  # the file's name as uploaded, its content


def _ndim(path: Path) -> int | None:
    """An IDX file's number of dimensions (3 images, 1 labels), None for anything else."""
    try:
        with Blob.of(path).open() as f:
            head = f.read(4)
    except (DataError, *READ_ERRORS):
        return None
    return head[3] if is_idx(head) else None


def _save(folder: Path, files: Sequence[Upload], what: str) -> tuple[Path, Path | None]:
    """Write the uploads of one split; (the file to read, its IDX labels file or None)."""
    folder.mkdir()
    paths = []
    for name, data in files:
        plain = Path(str(name).replace("\\", "/")).name
        if not plain or plain.startswith(".") or (folder / plain).exists():
            raise DataError(f"upload {name!r}: give each {what} file its own plain name (not hidden, not twice).")
        (folder / plain).write_bytes(data)
        paths.append(folder / plain)
    if len(paths) == 1:
        return paths[0], None
    kinds = {_ndim(p): p for p in paths}
    if len(paths) == 2 and set(kinds) == {1, 3}:
        return kinds[3], kinds[1]
    raise DataError(f"upload one {what} file (a CSV, .npz or .zip), or an IDX images file with its labels file; "
                    f"got {len(paths)} files ({', '.join(p.name for p in paths)}).")


def import_uploads(name: str, train: Sequence[Upload], test: Sequence[Upload] = (), test_fraction: float | None = None,
                   classes: str | Sequence[str] | None = None, data_dir: str | Path | None = None,
                   replace: bool = False) -> ImportReport:
    """`import_dataset` for uploaded files: `train` (and `test`) are one file each, or an IDX images+labels pair."""
    root = resolve_data_dir(data_dir)
    check_target(root, name, replace)
    if not train:
        raise DataError("choose the training data to upload (a CSV, an IDX pair, an .npz or a .zip).")
    work = store.work_folder(root, store.UPLOAD, name)
    plain = _plain_names(work)
    try:
        train_path, train_labels = _save(work / "train", train, "training")
        test_path, test_labels = _save(work / "test", test, "test") if test else (None, None)
        try:
            manifest, arrays = prepare(name, train_path, test_path, test_fraction, classes,
                                       train_labels=train_labels, test_labels=test_labels)
        except MnistlabError as e:
            raise type(e)(plain(str(e))) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = dataclasses.replace(manifest, source={k: f"upload {plain(v)}" for k, v in manifest.source.items()},
                                   conversions=tuple(plain(c) for c in manifest.conversions))
    return store_dataset(root, manifest, arrays, replace)


def _plain_names(work: Path):
    """Text with the work folder's paths turned back into the uploaded file names."""
    prefixes = [f"{work / split}/" for split in ("train", "test")]

    def plain(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    return plain
