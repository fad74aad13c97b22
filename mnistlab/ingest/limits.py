"""What `data import` accepts, checked before anything large is read (looked up at call time, so tests can lower them)."""

from __future__ import annotations

MAX_FILE_BYTES = 2**30  # 1 GiB per input file, on disk and again once decompressed (.gz, .npz members, .zip)
MAX_IMAGES = 1_000_000  # images per dataset, train and test together (EMNIST byclass has 814,255)
MAX_SIDE = 256  # px; the longest image side in a CSV, IDX or .npz (image files: imageprep.MAX_SIDE, 4096)
MAX_CLASS_NAME = 60  # characters in one class name
MAX_CLASSES_FILE = 64 * 1024  # bytes in a --classes-file (62 names fit in a few hundred)


def size_text(n: int) -> str:
    """A byte count as people read it ("1 GiB", "3.5 MiB", "900 bytes")."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n:,} bytes"


def too_large(name: str, size: int | None = None, what: str = "") -> str:
    """The sentence for a file past MAX_FILE_BYTES (`what`: "once decompressed", …)."""
    got = f" ({size_text(size)})" if size is not None else ""
    return (f"{name}: the file{got} is larger{' ' + what if what else ''} than the {size_text(MAX_FILE_BYTES)} "
            "limit per file; split it into smaller files and import part of it, or keep fewer images.")


def too_many(name: str, count: int | None = None) -> str:
    """The sentence for a dataset past MAX_IMAGES (`count` None: found while streaming, the total unknown)."""
    held = f"{count:,} images, more than" if count is not None else "more than"
    return (f"{name}: holds {held} the {MAX_IMAGES:,} images a dataset may have (train and test together); import "
            "a subset.")
