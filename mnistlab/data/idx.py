"""Read and validate IDX files (raw or gzip, on disk or uploaded) before allocating anything."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnistlab.errors import DataError

IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dims
LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dim
MAX_ITEMS = 10_000_000  # far above any MNIST-like set; guards against hostile headers
GZIP_MAGIC = b"\x1f\x8b"
READ_ERRORS = (OSError, EOFError, zlib.error)  # what a damaged gzip stream raises (zlib.error is no OSError)


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


@dataclass(frozen=True)
class Blob:
    """A data file on disk or uploaded bytes: the name every message starts with, its size, its content."""

    name: str  # the path as given, or the upload's file name
    size: int  # bytes as stored, before any decompression
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    max_unpacked: int | None = None  # most bytes the content may unpack to (uploads: a small gzip can claim GBs)

    @classmethod
    def of(cls, source: str | Path | Blob) -> Blob:
        """`source` as a Blob; DataError when the file is missing, a folder or empty."""
        if isinstance(source, Blob):
            return source
        path = Path(source)
        if path.is_dir():
            raise DataError(f"{path}: is a folder; pick one IDX or CSV file inside it.")
        if not path.is_file():
            raise DataError(f"{path}: file not found.")
        return cls(str(path), path.stat().st_size, path=path)._nonempty()

    @classmethod
    def from_bytes(cls, data: bytes, name: str, max_unpacked: int | None = None) -> Blob:
        """Uploaded bytes under their file name (nothing is written to disk)."""
        return cls(name, len(data), data=bytes(data), max_unpacked=max_unpacked)._nonempty()

    def _nonempty(self) -> Blob:
        if self.size == 0:
            raise DataError(f"{self.name}: file is empty.")
        return self

    def raw(self) -> BinaryIO:
        """The stored bytes as a stream (still compressed if gzip)."""
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data)

    @property
    def gzipped(self) -> bool:
        with self.raw() as f:
            return f.read(2) == GZIP_MAGIC

    def open(self) -> BinaryIO:
        """The content as a stream, inflated lazily when gzip; DataError when a .gz name holds no gzip."""
        if self.gzipped:
            return gzip.open(self.path if self.path is not None else io.BytesIO(self.data), "rb")
        if self.name.lower().endswith(".gz"):
            raise DataError(f"{self.name}: the name ends in .gz but the file is not gzip; re-download it.")
        return self.raw()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _read_header(f, name: str) -> IdxHeader:
    """Read and check the header from an open stream, leaving it at the payload."""
    head = f.read(4)
    if len(head) < 4:
        raise DataError(f"{name}: file is too short to be IDX ({len(head)} bytes); re-download it.")
    magic = struct.unpack(">I", head)[0]
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise DataError(
            f"{name}: not an MNIST IDX file (magic number {magic}, expected "
            f"{IMAGES_MAGIC} for images or {LABELS_MAGIC} for labels)."
        )
    ndim = 3 if magic == IMAGES_MAGIC else 1
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{name}: header is truncated ({4 + len(raw_dims)} of {4 + 4 * ndim} bytes).")
    dims = struct.unpack(">" + "I" * ndim, raw_dims)
    # Checked before anything is allocated: a hostile header cannot make us reserve its claim.
    if dims[0] > MAX_ITEMS:
        raise DataError(f"{name}: header claims {dims[0]:,} items, more than the {MAX_ITEMS:,} allowed.")
    if magic == IMAGES_MAGIC and dims[1:] != (28, 28):
        raise DataError(f"{name}: images are {dims[1]}×{dims[2]}, mnistlab needs 28×28.")
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


def _decompress_error(name: str, error: BaseException) -> DataError:
    return DataError(f"{name}: cannot be decompressed ({error}); re-download it.")


def read_header(path: str | Path | Blob) -> IdxHeader:
    """Return the header of an IDX file (raw or gzip) without reading its payload."""
    blob = Blob.of(path)
    try:
        with blob.open() as f:
            return _read_header(f, blob.name)
    except READ_ERRORS as e:
        raise _decompress_error(blob.name, e) from None


def _raise_length(name: str, header: IdxHeader, have: int) -> None:
    if have < header.payload_bytes:
        raise DataError(
            f"{name}: truncated: the header promises {header.count:,} {header.kind} "
            f"({header.payload_bytes:,} bytes) but the file holds {max(have, 0):,}; re-download it."
        )
    raise DataError(f"{name}: the file holds more data than its header's {header.count:,} {header.kind}; "
                    "re-download it.")


def read_idx(path: str | Path | Blob, expect: str | None = None, classes: int = 10) -> np.ndarray:
    """Read an IDX file into a uint8 array: (N, 28, 28) for images, (N,) for labels.

    Args:
        path: raw or gzip'd IDX file (or a `Blob` of uploaded bytes).
        expect: "images" or "labels" to reject the other kind.
        classes: labels must be below this (10 for MNIST's files; an imported dataset's class count).
    """
    blob = Blob.of(path)
    try:
        with blob.open() as f:
            header = _read_header(f, blob.name)
            if expect and header.kind != expect:
                raise DataError(f"{blob.name}: holds {header.kind}, expected {expect}.")
            if blob.max_unpacked is not None and header.payload_bytes > blob.max_unpacked:
                raise DataError(f"{blob.name}: header claims {header.count:,} {header.kind} "
                                f"({header.payload_bytes / 2**20:,.1f} MiB unpacked), more than the "
                                f"{blob.max_unpacked / 2**20:,.1f} MiB an upload may unpack; check it with "
                                "`python -m mnistlab data inspect` instead.")
            if not isinstance(f, gzip.GzipFile) and blob.size != 4 + 4 * len(header.dims) + header.payload_bytes:
                _raise_length(blob.name, header, blob.size - 4 - 4 * len(header.dims))
            # At most one byte beyond the claimed payload: a gzip bomb or trailing junk shows up
            # without inflating the rest.
            data = _read_bounded(f, header.payload_bytes + 1)
    except READ_ERRORS as e:
        raise _decompress_error(blob.name, e) from None
    if len(data) != header.payload_bytes:
        _raise_length(blob.name, header, len(data))
    arr = np.frombuffer(data, dtype=np.uint8).reshape(header.dims).copy()  # writable for torch
    if header.kind == "labels" and arr.size and int(arr.max()) >= classes:
        raise DataError(f"{blob.name}: label {int(arr.max())} found; labels must be 0–{classes - 1}.")
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
