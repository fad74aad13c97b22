"""Bad data files, each tried through every door: core readers, the CLI and the dashboard's upload.

Every case is a file written here. Each path must end in one sentence that names the file and the
problem (a DataError in the core, `error: ...` with exit status 2 in the CLI, an `st.error` box on
the Data page), and must leave the case's folder, the data dir and the runs dir exactly as they were.
`FILE_CASES × FILE_PATHS + DATASET_CASES × DATASET_PATHS` is the count the README quotes.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from conftest import write_dataset
from streamlit.testing.v1 import AppTest

from mnistlab.cli.main import main
from mnistlab.data import csv_data
from mnistlab.data.csv_data import read_csv
from mnistlab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, write_idx
from mnistlab.data.inspect import inspect_bytes, inspect_file
from mnistlab.data.load import load_split
from mnistlab.errors import DataError
from ui.upload import check_upload

ROOT = Path(__file__).resolve().parents[1]
CSV_LIMIT = 2**20  # the size limit while these tests run (the real one, 512 MiB, is too big to write)


def idx(magic: int, *dims: int) -> bytes:
    return struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def row(label: str = "3", pixel: str = "0", **at: str) -> str:
    """One CSV row; `at` maps 'cN' (1-based column) to a replacement field."""
    fields = [label] + [pixel] * 784
    for key, value in at.items():
        fields[int(key[1:]) - 1] = value
    return ",".join(fields) + "\n"


CSV_HEADER = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"


def csv_with(bad: str) -> bytes:
    """A header, a good row, then `bad` as line 3."""
    return (CSV_HEADER + row() + bad + row()).encode()


@cache
def big_csv() -> bytes:
    """Valid rows, 1.5× the size limit."""
    line = row(pixel="128")
    return (line * (int(1.5 * CSV_LIMIT) // len(line) + 1)).encode()


@cache
def gzip_longer_than_header() -> bytes:
    """A valid header and payload for 10 images, then 8 MiB more: inflating it all would be the bug."""
    return gz(idx(IMAGES_MAGIC, 10, 28, 28) + bytes(10 * 784) + bytes(8 * 2**20))


# A gzip header then a deflate block of the reserved type 3: zlib.error, not OSError, on the first read.
CORRUPT_DEFLATE = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07" + bytes(64)


@dataclass(frozen=True)
class FileCase:
    """A bad file: its name, its bytes, the problem phrase every path must report, and a memory cap."""

    id: str
    filename: str  # IDX cases use a dataset file name, so the same file also breaks dataset loading
    content: Callable[[], bytes]
    problem: str
    max_peak: int | None = None  # bytes Python may allocate while rejecting it (None: not measured)

    @property
    def is_idx(self) -> bool:
        return "ubyte" in self.filename


FILE_CASES = [
    FileCase("idx-wrong-magic", "train-images-idx3-ubyte", lambda: idx(1234, 10, 28, 28) + bytes(10 * 784),
             "not an MNIST IDX file (magic number 1234, expected 2051 for images or 2049 for labels)"),
    FileCase("idx-too-short", "train-labels-idx1-ubyte", lambda: b"\x00\x00\x08",
             "file is too short to be IDX (3 bytes)"),
    FileCase("idx-truncated", "train-images-idx3-ubyte", lambda: idx(IMAGES_MAGIC, 10, 28, 28) + bytes(3 * 784),
             "truncated: the header promises 10 images (7,840 bytes) but the file holds 2,352"),
    FileCase("idx-truncated-gz", "train-images-idx3-ubyte.gz",
             lambda: gz(idx(IMAGES_MAGIC, 10, 28, 28) + bytes(3 * 784)),
             "truncated: the header promises 10 images (7,840 bytes) but the file holds 2,352"),
    FileCase("idx-claims-billions", "train-images-idx3-ubyte",
             lambda: idx(IMAGES_MAGIC, 3_000_000_000, 28, 28) + bytes(784),
             "header claims 3,000,000,000 items, more than the 10,000,000 allowed", max_peak=2**20),
    FileCase("idx-not-28x28", "train-images-idx3-ubyte", lambda: idx(IMAGES_MAGIC, 2, 32, 32) + bytes(2 * 32 * 32),
             "images are 32×32, mnistlab needs 28×28"),
    FileCase("idx-label-above-9", "train-labels-idx1-ubyte", lambda: idx(LABELS_MAGIC, 3) + bytes([1, 12, 3]),
             "label 12 found; labels must be 0–9"),
    FileCase("idx-empty", "train-images-idx3-ubyte", lambda: b"", "file is empty"),
    FileCase("gz-not-gzip", "train-labels-idx1-ubyte.gz", lambda: idx(LABELS_MAGIC, 2) + bytes([1, 2]),
             "the name ends in .gz but the file is not gzip; re-download it"),
    FileCase("gz-corrupt-stream", "train-images-idx3-ubyte.gz", lambda: CORRUPT_DEFLATE,
             "cannot be decompressed (Error -3 while decompressing data: invalid block type)"),
    FileCase("gz-cut-short", "train-labels-idx1-ubyte.gz", lambda: gz(idx(LABELS_MAGIC, 500) + bytes(500))[:30],
             "cannot be decompressed (Compressed file ended before the end-of-stream marker was reached)"),
    FileCase("gz-longer-than-header", "train-images-idx3-ubyte.gz", gzip_longer_than_header,
             "the file holds more data than its header's 10 images", max_peak=2**20),
    FileCase("csv-wrong-columns", "digits.csv", lambda: csv_with(row()[:-3] + "\n"),
             "line 3 has 784 columns; expected 785 (a label, then 784 pixel values)"),
    FileCase("csv-text-pixel", "digits.csv", lambda: csv_with(row(c5="abc")),
             "line 3: column 5 holds text ('abc'); every value must be a whole number"),
    FileCase("csv-nan", "digits.csv", lambda: csv_with(row(c9="NaN")), "line 3: column 9 holds NaN"),
    FileCase("csv-pixel-above-255", "digits.csv", lambda: csv_with(row(c4="256")),
             "line 3: pixel value 256 in column 4 is outside 0–255"),
    FileCase("csv-negative-pixel", "digits.csv", lambda: csv_with(row(c785="-1")),
             "line 3: pixel value -1 in column 785 is outside 0–255"),
    FileCase("csv-label-above-9", "digits.csv", lambda: csv_with(row(label="10")), "line 3: label 10 is outside 0–9"),
    FileCase("csv-empty", "digits.csv", lambda: b"", "file is empty"),
    FileCase("csv-header-only", "digits.csv", lambda: CSV_HEADER.encode(), "holds a header row but no data rows"),
    FileCase("csv-over-size-limit", "big.csv", big_csv,
             "the file is larger than the 1 MiB limit; split it into smaller files (e.g. `split -l 30000 big.csv "
             "part-`", max_peak=256 * 2**10),
]

# Dataset loading (`load_split`, `train --data-dir`): every IDX case in place of its dataset file, plus a
# pair of files that are each fine but disagree. (filename, content, problem) like FileCase.
DATASET_CASES = [c for c in FILE_CASES if c.is_idx] + [
    FileCase("pair-count-mismatch", "train-labels-idx1-ubyte.gz", lambda: gz(idx(LABELS_MAGIC, 500) + bytes(500)),
             "600 images but train-labels-idx1-ubyte.gz has 500 labels; they must match: run `python -m mnistlab "
             "data fetch --dataset mnist` to repair them"),
]
FILE_PATHS = ["core reader", "inspect_file", "inspect_bytes", "cli data inspect", "upload check", "upload page"]
DATASET_PATHS = ["load_split", "cli train --data-dir"]


@pytest.fixture(autouse=True, scope="module")
def small_csv_limit():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csv_data, "MAX_BYTES", CSV_LIMIT)
        yield


def listing(*folders: Path) -> dict:
    """Every file and folder under `folders` with its size and mtime: any write changes it."""
    out = {}
    for folder in folders:
        out[str(folder)] = folder.exists()
        for p in sorted(folder.rglob("*")) if folder.exists() else []:
            st = p.stat()
            out[str(p)] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path, Path]:
    """(case folder, data dir with a good tiny MNIST, runs dir that does not exist yet)."""
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    return case_dir, write_dataset(tmp_path / "data", "mnist", n_train=600, n_test=200), tmp_path / "runs"


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI in-process; assert exit status 2 and one `error:` line; return the message."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err[len("error: "):-1]


def check_message(message: str, name: str, case: FileCase) -> None:
    assert message.startswith(f"{name}: "), message
    assert case.problem in message, message
    assert "\n" not in message


@pytest.mark.parametrize("path_name", FILE_PATHS)
@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_bad_file(case, path_name, dirs, capsys, request):
    case_dir, data_dir, runs_dir = dirs
    path = case_dir / case.filename
    path.write_bytes(case.content())
    before = listing(case_dir, data_dir, runs_dir)
    with pytest.raises(DataError) as core:  # the reference sentence, for the file on disk
        inspect_file(path)
    expected, as_upload = str(core.value), str(core.value).replace(str(path), path.name)

    if path_name == "core reader":
        tracemalloc.start()
        try:
            with pytest.raises(DataError) as err:
                (read_idx if case.is_idx else read_csv)(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        check_message(str(err.value), str(path), case)
        if case.max_peak is not None:
            assert peak < case.max_peak, f"{peak:,} bytes allocated before rejecting {case.id}"
    elif path_name == "inspect_file":
        check_message(expected, str(path), case)
    elif path_name == "inspect_bytes":
        with pytest.raises(DataError) as err:
            inspect_bytes(case.content(), path.name)
        assert str(err.value) == as_upload
        check_message(as_upload, path.name, case)
    elif path_name == "cli data inspect":
        assert one_line_error(capsys, ["data", "inspect", str(path)]) == expected
    elif path_name == "upload check":
        view = check_upload(path.name, case.content())
        assert view.error == as_upload and not view.cards
    else:
        at = request.getfixturevalue("upload_page")(path.name, case.content())
        assert [e.value for e in at.error] == [as_upload]
        assert not at.success
    assert listing(case_dir, data_dir, runs_dir) == before


def place(data_dir: Path, case: FileCase) -> Path:
    """Put the case's file in place of its dataset file (raw or .gz: the other variant is removed)."""
    folder = data_dir / "mnist"
    stem = case.filename.removesuffix(".gz")
    for old in (folder / stem, folder / f"{stem}.gz"):
        old.unlink(missing_ok=True)
    path = folder / case.filename
    path.write_bytes(case.content())
    return path


@pytest.mark.parametrize("path_name", DATASET_PATHS)
@pytest.mark.parametrize("case", DATASET_CASES, ids=lambda c: c.id)
def test_bad_dataset_file(case, path_name, dirs, capsys):
    case_dir, data_dir, runs_dir = dirs
    path = place(data_dir, case)
    named = data_dir / "mnist" / "train-images-idx3-ubyte.gz" if case.id == "pair-count-mismatch" else path
    before = listing(case_dir, data_dir, runs_dir)
    with pytest.raises(DataError) as core:
        load_split("mnist", "train", data_dir)
    check_message(str(core.value), str(named), case)
    if path_name == "cli train --data-dir":
        argv = ["train", "--epochs", "1", "--hidden", "8", "--device", "cpu", "--data-dir", str(data_dir),
                "--runs-dir", str(runs_dir)]
        assert one_line_error(capsys, argv) == str(core.value)
    assert listing(case_dir, data_dir, runs_dir) == before
    assert not runs_dir.exists()


# -- the dashboard's upload ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_page(tmp_path_factory):
    """The Data page with no dataset present (the upload works without one), drawn once per module."""
    import streamlit as st

    root = tmp_path_factory.mktemp("page")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTLAB_DATA_DIR", str(root / "data"))
        mp.setenv("MNISTLAB_RUNS_DIR", str(root / "runs"))
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.run()
        at.switch_page("pages/data.py").run()
        assert not at.exception, at.exception
        yield at, root
    assert not any(root.iterdir()), "the page wrote into its data or runs dir"


@pytest.fixture
def upload_page(data_page):
    """upload_page(name, data): the Data page after that upload."""
    at, _ = data_page

    def upload(name: str, data: bytes) -> AppTest:
        at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, at.exception
        return at

    return upload


def test_upload_control_takes_any_name(data_page):
    uploader = data_page[0].file_uploader(key="upload_file")
    # No type filter: MNIST's own files (train-images-idx3-ubyte) have no extension a filter could match,
    # so the browser would hide them; the core check names anything that is not IDX or CSV.
    assert uploader.allowed_type == [] and not uploader.accept_multiple_files


@pytest.mark.parametrize("name, summary", [
    ("t10k-images-idx3-ubyte", "IDX images, 20 items of shape 20×28×28."),
    ("digits.csv.gz", "CSV (a label, then 784 pixels per row), 20 items of shape 20×28×28 (gzip)."),
])
def test_good_upload_shows_summary_and_samples(upload_page, tmp_path, name, summary):
    labels = np.arange(20, dtype=np.uint8) % 10
    pixels = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    is_csv = name.endswith(".csv.gz")
    if is_csv:
        data = gz("".join(",".join(map(str, [y, *p.ravel()])) + "\n" for y, p in zip(labels, pixels)).encode())
    else:
        data = write_idx(tmp_path / name, pixels).read_bytes()
    view = check_upload(name, data)
    assert view.error is None and summary in view.summary and len(view.cards) == 12
    np.testing.assert_array_equal(view.cards[3].image, pixels[3])
    assert view.cards[3].title == ("3" if is_csv else "#3")  # the label where the file has labels
    at = upload_page(name, data)
    assert not at.error and summary in at.success[0].value
    assert any(".ml-card" in str(h.proto) for h in at.get("html"))  # the sample grid
    assert ("Labels: 0: 2 · 1: 2" in "\n".join(c.value for c in at.caption)) is is_csv


def test_upload_that_unpacks_beyond_the_cap_is_refused_from_its_header(monkeypatch):
    import ui.upload

    monkeypatch.setattr(ui.upload, "MAX_UNPACKED", 2**20)
    data = gz(idx(IMAGES_MAGIC, 3000, 28, 28) + bytes(3000 * 784))  # 2.2 MiB of zeros, 2 KiB gzipped
    assert check_upload("x-idx3-ubyte.gz", data).error == (
        "x-idx3-ubyte.gz: header claims 3,000 images (2.2 MiB unpacked), more than the 1.0 MiB an upload may "
        "unpack; check it with `python -m mnistlab data inspect` instead.")


def test_counts():
    """The README's "N bad inputs tried": file cases × their paths, dataset cases × theirs."""
    assert (len(FILE_CASES), len(FILE_PATHS), len(DATASET_CASES), len(DATASET_PATHS)) == (21, 6, 13, 2)
    assert len({c.id for c in FILE_CASES + DATASET_CASES}) == len(FILE_CASES) + 1
