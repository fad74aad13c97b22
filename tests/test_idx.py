"""IDX reading: every malformed file gives a DataError naming the file and the problem."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, MAX_ITEMS, read_header, read_idx, write_idx
from mnistlab.errors import DataError


def images(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def labels(n=5):
    return (np.arange(n) % 10).astype(np.uint8)


def header(magic, *dims):
    return struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims)


def write(path, data: bytes, gz=False):
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_round_trip_images(tmp_path, name):
    a = images()
    path = write_idx(tmp_path / name, a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    got = read_idx(path, expect="images")
    assert got.dtype == np.uint8 and got.shape == (5, 28, 28) and got.flags.writeable
    np.testing.assert_array_equal(got, a)
    h = read_header(path)
    assert (h.magic, h.dims, h.kind, h.count, h.payload_bytes) == (IMAGES_MAGIC, (5, 28, 28), "images", 5, 5 * 784)


@pytest.mark.parametrize("name", ["y-idx1-ubyte", "y-idx1-ubyte.gz"])
def test_round_trip_labels(tmp_path, name):
    path = write_idx(tmp_path / name, labels(12))
    np.testing.assert_array_equal(read_idx(path, expect="labels"), labels(12))
    assert read_header(path).kind == "labels"


def test_expect_rejects_the_other_kind(tmp_path):
    path = write_idx(tmp_path / "y", labels())
    with pytest.raises(DataError, match=r"holds labels, expected images"):
        read_idx(path, expect="images")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="nothere.*file not found"):
        read_idx(tmp_path / "nothere")
    with pytest.raises(DataError, match="empty.*file is empty"):
        read_idx(write(tmp_path / "empty", b""))


def test_wrong_magic(tmp_path):
    path = write(tmp_path / "bad", header(1234, 5) + bytes(5))
    with pytest.raises(DataError, match=r"bad: not an MNIST IDX file \(magic number 1234") as e:
        read_idx(path)
    assert str(IMAGES_MAGIC) in str(e.value) and str(LABELS_MAGIC) in str(e.value)


def test_too_short_and_truncated_header(tmp_path):
    with pytest.raises(DataError, match=r"tiny: file is too short to be IDX \(3 bytes\)"):
        read_idx(write(tmp_path / "tiny", b"\x00\x00\x08"))
    with pytest.raises(DataError, match=r"half: header is truncated \(8 of 16 bytes\)"):
        read_idx(write(tmp_path / "half", header(IMAGES_MAGIC, 5)))


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload(tmp_path, gz):
    path = write(tmp_path / ("t.gz" if gz else "t"), header(IMAGES_MAGIC, 5, 28, 28) + bytes(3 * 784), gz)
    with pytest.raises(DataError, match=r"t(\.gz)?: truncated: the header promises 5 images \(3,920 bytes\) "
                                        r"but the file holds 2,352"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_junk_and_gzip_inflating_beyond_header(tmp_path, gz):
    path = write(tmp_path / ("j.gz" if gz else "j"), header(LABELS_MAGIC, 4) + bytes(4) + b"junk" * 1000, gz)
    with pytest.raises(DataError, match=r"j(\.gz)?: the file holds more data than its header's 4 labels"):
        read_idx(path)


def test_gzip_bomb_is_not_inflated(tmp_path):
    # 64 MB of zeros compress to ~64 KB; the header claims 2 labels, so only 3 bytes are ever inflated.
    bomb = write(tmp_path / "bomb.gz", header(LABELS_MAGIC, 2) + bytes(64 * 2**20), gz=True)
    tracemalloc.start()
    with pytest.raises(DataError, match="more data than its header"):
        read_idx(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20


def test_huge_count_rejected_from_header(tmp_path):
    path = write(tmp_path / "huge", header(IMAGES_MAGIC, MAX_ITEMS + 1, 28, 28) + bytes(784))
    with pytest.raises(DataError, match=r"huge: header claims 10,000,001 items, more than the 10,000,000 allowed"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_large_claim_with_little_data_allocates_little(tmp_path, gz):
    # 9.9 M images would be 7.8 GB: the reader must notice the missing data, not allocate the claim.
    path = write(tmp_path / ("claim.gz" if gz else "claim"), header(IMAGES_MAGIC, 9_900_000, 28, 28) + bytes(784), gz)
    tracemalloc.start()
    with pytest.raises(DataError, match="truncated: the header promises 9,900,000 images"):
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20


def test_images_must_be_28_by_28(tmp_path):
    path = write(tmp_path / "big", header(IMAGES_MAGIC, 1, 32, 32) + bytes(32 * 32))
    with pytest.raises(DataError, match="big: images are 32×32, mnistlab needs 28×28"):
        read_idx(path)


def test_labels_above_9(tmp_path):
    path = write(tmp_path / "lab", header(LABELS_MAGIC, 3) + bytes([1, 12, 3]))
    with pytest.raises(DataError, match="lab: label 12 found; labels must be 0–9"):
        read_idx(path)


def test_gz_name_without_gzip_content(tmp_path):
    path = write(tmp_path / "fake.gz", header(LABELS_MAGIC, 1) + bytes(1))
    with pytest.raises(DataError, match=r"fake\.gz: the name ends in \.gz but the file is not gzip"):
        read_idx(path)


def test_gzip_without_gz_name_is_read(tmp_path):
    path = write(tmp_path / "noext", header(LABELS_MAGIC, 2) + bytes([4, 5]), gz=True)
    np.testing.assert_array_equal(read_idx(path), [4, 5])


def test_gzip_cut_short(tmp_path):
    data = gzip.compress(header(IMAGES_MAGIC, 5, 28, 28) + images().tobytes(), mtime=0)
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.gz: cannot be decompressed .*re-download it"):
        read_idx(path)


def test_gzip_bad_crc(tmp_path):
    data = bytearray(gzip.compress(header(LABELS_MAGIC, 3) + bytes([1, 2, 3]), mtime=0))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"crc\.gz: cannot be decompressed \(CRC check failed"):
        read_idx(path)


# A gzip header followed by a deflate block of the reserved type 3: zlib raises zlib.error, which is
# not an OSError, so idx.py lets it escape instead of turning it into a DataError.
CORRUPT_DEFLATE = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07" + bytes(64)


@pytest.mark.parametrize("reader", [read_idx, read_header])
def test_corrupt_deflate_stream(tmp_path, reader):
    path = write(tmp_path / "corrupt.gz", CORRUPT_DEFLATE)
    with pytest.raises(DataError, match=r"corrupt\.gz: cannot be decompressed"):
        reader(path)
