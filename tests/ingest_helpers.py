"""Tiny fixtures for `data import` tests: CSV, IDX, .npz and image folders written in tmp_path."""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC


def images_for(labels: np.ndarray, side: int = 28, seed: int = 0) -> np.ndarray:
    """(N, side, side) uint8: class c lights a band at a class-specific row, plus noise (learnable, distinct)."""
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 30, size=(len(labels), side, side), dtype=np.uint8)
    codes = np.unique(labels, return_inverse=True)[1]
    for c in np.unique(codes):
        row = (3 * int(c)) % (side - 3)
        out[codes == c, row:row + 3, :] = 220
    return out


def labels_for(classes, n: int, seed: int = 0) -> np.ndarray:
    """`n` labels cycling through `classes`, shuffled."""
    labels = np.array([classes[i % len(classes)] for i in range(n)])
    np.random.default_rng(seed).shuffle(labels)
    return labels


def write_csv(path: Path, labels, images: np.ndarray, header: bool | str = False) -> Path:
    """Rows of `label,pixel…`; header=True writes Kaggle's `label,pixel0,…`, a string writes that line."""
    flat = images.reshape(len(images), -1)
    lines = []
    if header is True:
        lines.append("label," + ",".join(f"pixel{i}" for i in range(flat.shape[1])))
    elif header:
        lines.append(header)
    lines += [f"{label}," + ",".join(map(str, row)) for label, row in zip(labels, flat.tolist(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    return struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()


def write_idx_pair(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> Path:
    """`<prefix>-images-idx3-ubyte[.gz]` and its labels beside it; returns the images path."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        data = idx_bytes(array)
        (folder / f"{prefix}-{kind}-ubyte{suffix}").write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return folder / f"{prefix}-images-idx3-ubyte{suffix}"


def write_folder(root: Path, labels, images: np.ndarray, rgb: bool = False, ext: str = "png") -> Path:
    """`root/<label>/<i>.<ext>`, one image per row; rgb=True saves colour (the grey value on the red and
    green channels, so luminance differs from it)."""
    for i, (label, image) in enumerate(zip(labels, images, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(np.stack([image, image, np.zeros_like(image)], -1) if rgb else image)
        picture.save(folder / f"{i:04d}.{ext}")
    return root


def zip_folder(folder: Path, zip_path: Path, wrap: str | None = None) -> Path:
    """Zip `folder`'s files (under `wrap/` when given, as zipping a folder does)."""
    with zipfile.ZipFile(zip_path, "w") as zf:
        for here, _, files in os.walk(folder):
            for file in sorted(files):
                path = Path(here) / file
                rel = path.relative_to(folder).as_posix()
                zf.write(path, f"{wrap}/{rel}" if wrap else rel)
    return zip_path


def tree(root: Path) -> dict[str, int]:
    """Every path below `root` (hidden ones too) → its size (-1 for folders); {} when root is missing."""
    if not root.exists():
        return {}
    out = {}
    for here, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(here, name), root)] = -1
        for name in files:
            path = os.path.join(here, name)
            out[os.path.relpath(path, root)] = os.path.getsize(path)
    return out
