"""Read unsigned-byte IDX image/label pairs of any image size (raw or .gz), the label file found beside."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, READ_ERRORS, Blob
from mnistlab.errors import DataError
from mnistlab.ingest import limits
from mnistlab.ingest.convert import Conversions, fit_all
from mnistlab.ingest.part import Part

TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}


def is_idx(head: bytes) -> bool:
    """Whether the first four (decompressed) bytes are an IDX magic number of any type."""
    return len(head) >= 4 and head[:2] == b"\0\0" and head[2] in TYPES and 1 <= head[3] <= 4


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header (magic number, then dimensions) of a uint8 images (N, H, W) or labels (N,) array."""
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    return struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)


def content_sha256(array: np.ndarray) -> str:
    """SHA-256 of the IDX file that holds `array` (header, then bytes), as `load_split` verifies it."""
    digest = hashlib.sha256(idx_header(array))
    digest.update(np.ascontiguousarray(array, dtype=np.uint8).data)
    return digest.hexdigest()


def read_ubyte(path: str | Path, expect: str) -> np.ndarray:
    """An unsigned-byte IDX file as (N, H, W) images or (N,) labels; sizes are checked before the payload is read."""
    blob = Blob.of(path)
    name = blob.name
    if blob.size > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(name, blob.size))
    try:
        with blob.open() as f:
            head = f.read(4)
            if not is_idx(head):
                raise DataError(f"{name}: not an IDX file (it does not start with an IDX magic number); give "
                                "an MNIST-style …-images-idx3-ubyte file, raw or .gz.")
            if head[2] != 0x08:
                raise DataError(f"{name}: holds IDX values of type {TYPES[head[2]]}; mnistlab imports unsigned-byte "
                                "IDX files (type 0x08, pixels 0–255) only.")
            ndim = head[3]
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise DataError(f"{name}: the IDX header is cut short ({4 + len(raw)} of {4 + 4 * ndim} bytes); "
                                "download the file again.")
            dims = struct.unpack(">" + "I" * ndim, raw)
            _check_dims(name, expect, dims)
            payload = int(np.prod(dims, dtype=np.int64))
            data = f.read(payload + 1)  # one byte more than claimed shows trailing junk without reading it all
    except READ_ERRORS as e:
        raise DataError(f"{name}: cannot be read or decompressed ({e}); download it again.") from None
    if len(data) < payload:
        raise DataError(f"{name}: truncated: the header promises {dims[0]:,} {expect} ({payload:,} bytes) but the "
                        f"file holds {len(data):,}; download it again.")
    if len(data) > payload:
        raise DataError(f"{name}: holds more bytes than its header's {dims[0]:,} {expect}; it is not a valid IDX file.")
    return np.frombuffer(data, np.uint8).reshape(dims).copy()


def _check_dims(name: str, expect: str, dims: tuple[int, ...]) -> None:
    kind = {1: "labels", 3: "images"}.get(len(dims), f"a {len(dims)}-dimensional array")
    if kind != expect:
        hint = ("give the images file here: its labels are found beside it, or given with --train-labels / "
                "--test-labels" if kind == "labels" else "give the …-labels-idx1-ubyte file here")
        raise DataError(f"{name}: holds {kind}, not {expect}; {hint}.")
    if dims[0] > limits.MAX_IMAGES:
        raise DataError(limits.too_many(name, dims[0]))
    if expect == "images":
        h, w = dims[1:]
        if not (1 <= h <= limits.MAX_SIDE and 1 <= w <= limits.MAX_SIDE):
            raise DataError(f"{name}: images are {h}×{w} px; mnistlab imports sides of 1 to {limits.MAX_SIDE} px.")
    size = int(np.prod(dims, dtype=np.int64))
    if size > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(name, size, "once decompressed"))


def labels_beside(images: Path) -> Path:
    """The label file next to an IDX images file, by MNIST's and EMNIST's names (…-images-idx3-ubyte → …-labels-idx1-ubyte)."""
    base = images.name[:-3] if images.name.lower().endswith(".gz") else images.name
    guess = base.replace("images", "labels").replace("idx3", "idx1")
    tried = [images.with_name(guess), images.with_name(guess + ".gz")] if guess != base else []
    for candidate in tried:
        if candidate.is_file():
            return candidate
    looked = " or ".join(p.name for p in tried) if tried else "a name with 'labels' for 'images'"
    raise DataError(f"{images}: no labels file beside it (looked for {looked}); give it with --train-labels "
                    "(or --test-labels).")


def read_idx_part(images_path: str | Path, labels_path: str | Path | None, conversions: Conversions) -> Part:
    """An IDX images file and its labels file as a `Part` (labels 0–255, kept as found)."""
    images_path = Path(images_path)
    images = read_ubyte(images_path, "images")  # its own problems first, then where its labels are
    labels_path = Path(labels_path) if labels_path is not None else labels_beside(images_path)
    labels = read_ubyte(labels_path, "labels")
    if len(images) != len(labels):
        raise DataError(f"{images_path}: holds {len(images):,} images but {labels_path} holds {len(labels):,} "
                        "labels; give the labels file that belongs to these images.")
    return Part(fit_all(images, conversions), labels.astype(np.int64), str(images_path), "idx",
                lambda i: f"entry {i:,} (counting from 0)", label_source=str(labels_path))
