"""Read and validate IDX files (raw or gzip) before allocating anything."""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.errors import DataError

IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dims
LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dim
MAX_ITEMS = 10_000_000  # far above any MNIST-like set; guards against hostile headers
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class IdxHeader:
    """What an IDX header claims: magic number and dimensions."""

    magic: int
    dims: tuple[int, ...]

    @property
    def count(self) -> int:
        return self.dims[0]

    @property
    def kind(self) -> str:
        return "images" if self.magic == IMAGES_MAGIC else "labels"

    @property
    def payload_bytes(self) -> int:
        size = 1
        for d in self.dims:
            size *= d
        return size


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _open(path: Path):
    if is_gzip(path):
        return gzip.open(path, "rb")
    if path.suffix == ".gz":
        raise DataError(f"{path}: the name ends in .gz but the file is not gzip; re-download it.")
    return open(path, "rb")


def _read_header(f, path: Path) -> IdxHeader:
    """Read and check the header from an open file, leaving it at the payload."""
    head = f.read(4)
    if len(head) < 4:
        raise DataError(f"{path}: file is too short to be IDX ({len(head)} bytes); re-download it.")
    magic = struct.unpack(">I", head)[0]
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise DataError(
            f"{path}: not an MNIST IDX file (magic number {magic}, expected "
            f"{IMAGES_MAGIC} for images or {LABELS_MAGIC} for labels)."
        )
    ndim = 3 if magic == IMAGES_MAGIC else 1
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: header is truncated ({4 + len(raw_dims)} of {4 + 4 * ndim} bytes).")
    dims = struct.unpack(">" + "I" * ndim, raw_dims)
    if dims[0] > MAX_ITEMS:
        raise DataError(f"{path}: header claims {dims[0]:,} items, more than the {MAX_ITEMS:,} allowed.")
    if magic == IMAGES_MAGIC and dims[1:] != (28, 28):
        raise DataError(f"{path}: images are {dims[1]}×{dims[2]}, mnistlab needs 28×28.")
    return IdxHeader(magic, tuple(dims))


def _read_bounded(f, limit: int, chunk: int = 1 << 24) -> bytes:
    """Read up to `limit` bytes in chunks, so memory follows the real content, not the claim."""
    parts, got = [], 0
    while got < limit:
        part = f.read(min(chunk, limit - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def nonempty_size(path: Path) -> int:
    """The file's size in bytes; DataError when it is missing or empty."""
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: file is empty.")
    return size


def read_header(path: str | Path) -> IdxHeader:
    """Return the header of an IDX file (raw or gzip) without reading its payload."""
    path = Path(path)
    nonempty_size(path)
    with _open(path) as f:
        try:
            return _read_header(f, path)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: cannot be decompressed ({e}); re-download it.") from None


def _raise_length(path: Path, header: IdxHeader, have: int) -> None:
    if have < header.payload_bytes:
        raise DataError(
            f"{path}: truncated: the header promises {header.count:,} {header.kind} "
            f"({header.payload_bytes:,} bytes) but the file holds {max(have, 0):,}; re-download it."
        )
    raise DataError(f"{path}: the file holds more data than its header's {header.count:,} {header.kind}; re-download it.")


def read_idx(path: str | Path, expect: str | None = None) -> np.ndarray:
    """Read an IDX file into a uint8 array: (N, 28, 28) for images, (N,) for labels.

    Args:
        path: raw or gzip'd IDX file.
        expect: "images" or "labels" to reject the other kind.
    """
    path = Path(path)
    size = nonempty_size(path)
    with _open(path) as f:
        try:
            header = _read_header(f, path)
            if expect and header.kind != expect:
                raise DataError(f"{path}: holds {header.kind}, expected {expect}.")
            raw = not isinstance(f, gzip.GzipFile)
            if raw and size != 4 + 4 * len(header.dims) + header.payload_bytes:
                _raise_length(path, header, size - 4 - 4 * len(header.dims))
            # Read at most one byte beyond the claimed payload: a gzip bomb or trailing junk shows
            # up without inflating the rest.
            data = _read_bounded(f, header.payload_bytes + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: cannot be decompressed ({e}); re-download it.") from None
    if len(data) != header.payload_bytes:
        _raise_length(path, header, len(data))
    arr = np.frombuffer(data, dtype=np.uint8).reshape(header.dims).copy()  # writable for torch
    if header.kind == "labels" and arr.size and int(arr.max()) > 9:
        raise DataError(f"{path}: label {int(arr.max())} found; labels must be 0–9.")
    return arr


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as IDX (images (N,28,28) or labels (N,)); gzip when the name ends in .gz."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)
    compress = path.suffix == ".gz" if compress is None else compress
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
    return path
