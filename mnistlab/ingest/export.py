"""`export_csv`: any dataset, built-ins included, as the tutorials' CSV files (`mnist_train.csv`'s format)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mnistlab.data.datasets import dataset_info, resolve_data_dir
from mnistlab.data.load import load_split
from mnistlab.errors import DataError
from mnistlab.userfiles import describe_os_error

ROWS = 4096  # rows formatted per write
_TEXT = np.array([str(v).encode() for v in range(256)])  # value → its decimal digits (dtype S3)


def _arrays(name: str, split: str, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) uint8) of a split; an imported one must match its manifest."""
    loaded = load_split(name, split, root)
    changed = loaded.meta.get("unverified")
    if dataset_info(name, root).imported and changed:
        raise DataError(f"{root / name}: {', '.join(changed)} no longer match the SHA-256 in its manifest (changed "
                        "since the import); import the dataset again.")
    return loaded.images.numpy(), loaded.labels.numpy().astype(np.uint8)


def _write_rows(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Rows of `label,pixel…` with no header, written to a temporary name, then renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            for start in range(0, len(labels), ROWS):
                block = np.concatenate([labels[start:start + ROWS, None],
                                        images[start:start + ROWS].reshape(-1, 28 * 28)], axis=1)
                f.write(b"".join(b",".join(row) + b"\n" for row in _TEXT[block].tolist()))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_csv(name: str, out_dir: str | Path, data_dir: str | Path | None = None) -> dict[str, Path]:
    """Write `<out_dir>/<name>_train.csv`, `<name>_test.csv` (integer labels first, no header) and
    `<name>_classes.txt` (line k names label k); returns {"train", "test", "classes"} → path."""
    root = resolve_data_dir(data_dir)
    info = dataset_info(name, root)
    out = Path(out_dir)
    written = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for split in ("train", "test"):
            images, labels = _arrays(name, split, root)
            written[split] = out / f"{name}_{split}.csv"
            _write_rows(written[split], images, labels)
        written["classes"] = out / f"{name}_classes.txt"
        written["classes"].write_text("".join(f"{c}\n" for c in info.classes), encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot write the CSV files in {out} ({describe_os_error(e, out)}); choose another "
                        "folder.") from None
    return written
