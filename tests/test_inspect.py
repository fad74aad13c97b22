"""inspect_file: describes IDX and CSV files, one DataError sentence for anything else."""

import gzip

import numpy as np
import pytest

from mnistlab.data.idx import write_idx
from mnistlab.data.inspect import inspect_file
from mnistlab.errors import DataError


def csv_text(labels) -> str:
    return "".join(f"{y}," + ",".join(["7"] * 784) + "\n" for y in labels)


def test_idx_images(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    assert inspect_file(path) == {"path": str(path), "format": "idx-images", "count": 3, "shape": [3, 28, 28],
                                  "label_histogram": None, "compressed": False}


def test_idx_labels_gz(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.array([0, 1, 1, 9, 9, 9], np.uint8))
    info = inspect_file(path)
    assert info["format"] == "idx-labels" and info["count"] == 6 and info["shape"] == [6]
    assert info["label_histogram"] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 3] and info["compressed"] is True


@pytest.mark.parametrize("name, gz", [("d.csv", False), ("d.csv.gz", True), ("digits.txt", False), ("plain", True)])
def test_csv_by_extension_or_content(tmp_path, name, gz):
    data = ("label," + ",".join(f"p{i}" for i in range(784)) + "\n" + csv_text([2, 2, 5])).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    info = inspect_file(path)
    assert info["format"] == "csv" and info["count"] == 3 and info["shape"] == [3, 28, 28]
    assert info["label_histogram"] == [0, 0, 2, 0, 0, 1, 0, 0, 0, 0] and info["compressed"] is gz


def test_headerless_csv_without_extension(tmp_path):
    path = tmp_path / "data"
    path.write_text(csv_text([4]))
    assert inspect_file(path)["format"] == "csv"


@pytest.mark.parametrize("content, match", [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), r"pic\.png: neither an MNIST IDX file nor a CSV"),
    (b"", r"pic\.png: file is empty"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x02\x03\x0c", r"pic\.png: label 12 found; labels must be 0–9"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07" + bytes(64), r"pic\.png: cannot be decompressed"),
    (b"\x1f\x8b\x08\x00" + bytes(6), r"pic\.png: cannot be decompressed"),
])
def test_bad_files(tmp_path, content, match):
    path = tmp_path / "pic.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        inspect_file(path)


def test_bad_csv_is_reported_by_the_csv_reader(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(csv_text([1]) + csv_text([11]))
    with pytest.raises(DataError, match=r"d\.csv: line 2: label 11 is outside 0–9"):
        inspect_file(path)


def test_missing_and_folder(tmp_path):
    with pytest.raises(DataError, match="gone.idx: file not found"):
        inspect_file(tmp_path / "gone.idx")
    with pytest.raises(DataError, match="is a folder; pick one IDX or CSV file inside it"):
        inspect_file(tmp_path)
