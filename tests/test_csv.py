"""CSV reading: the tutorials' label,pixel rows, with precise errors for every malformed file."""

import gzip

import numpy as np
import pytest

from mnistlab.data import csv_data
from mnistlab.data.csv_data import read_csv
from mnistlab.errors import DataError

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"


def rows(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([np.arange(n) % 10, rng.integers(0, 256, (n, 784))])


def text(data) -> str:
    return "".join(",".join(map(str, row)) + "\n" for row in data)


def write(tmp_path, content: str, name="digits.csv"):
    path = tmp_path / name
    path.write_text(content)
    return path


def row(label=3, pixel=0, **at):
    """One row as text; `at` maps 'cN' (1-based column) to a replacement field."""
    fields = [str(label)] + [str(pixel)] * 784
    for key, value in at.items():
        fields[int(key[1:]) - 1] = value
    return ",".join(fields) + "\n"


@pytest.mark.parametrize("header", ["", HEADER])
def test_reads_with_and_without_header(tmp_path, header):
    data = rows()
    path = write(tmp_path, header + text(data))
    split = read_csv(path)
    assert len(split) == 6 and split.name == "digits.csv" and split.meta == {"source": str(path)}
    np.testing.assert_array_equal(split.images.numpy(), data[:, 1:].reshape(-1, 28, 28))
    np.testing.assert_array_equal(split.labels.numpy(), data[:, 0])


def test_gzip_crlf_bom_and_blank_lines(tmp_path):
    data = rows(4)
    content = "\ufeff" + HEADER + text(data[:2]) + "\n\n" + text(data[2:])
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(content.replace("\n", "\r\n").encode()))
    np.testing.assert_array_equal(read_csv(path).labels.numpy(), data[:, 0])


def test_many_rows_across_chunks(tmp_path):
    template = ",".join(["0"] * 392 + ["255"] * 392)
    path = write(tmp_path, "".join(f"{i % 10},{template}\n" for i in range(10_000)))
    split = read_csv(path)
    assert len(split) == 10_000 and split.label_counts() == [1000] * 10
    assert int(split.images[9999, 27, 27]) == 255


@pytest.mark.parametrize("content, match", [
    ("", r"digits\.csv: file is empty"),
    ("\n\n  \n", r"digits\.csv: file holds no rows"),
    (HEADER, r"digits\.csv: holds a header row but no data rows"),
])
def test_empty_files(tmp_path, content, match):
    with pytest.raises(DataError, match=match):
        read_csv(write(tmp_path, content))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        read_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("bad_row, match", [
    (row() [:-3] + "\n", r"line 3 has 784 columns; expected 785 .*Kaggle's test\.csv"),
    (row().strip() + ",0,0\n", r"line 3 has 787 columns; expected 785 \(a label, then 784 pixel values\)"),
    (row(c5="abc"), r"line 3: column 5 holds text \('abc'\); every value must be a whole number"),
    (row(c9="NaN"), r"line 3: column 9 holds NaN"),
    (row(c2=""), r"line 3: column 2 holds an empty field"),
    (row(c4="1.5"), r"line 3: column 4 holds text \('1.5'\)"),
    (row(c1="seven"), r"line 3: the label holds text"),
    (row(c4="256"), r"line 3: pixel value 256 in column 4 is outside 0–255"),
    (row(c785="-1"), r"line 3: pixel value -1 in column 785 is outside 0–255"),
    (row(label=10), r"line 3: label 10 is outside 0–9"),
    (row(c7="99999999999999999999999"), r"line 3: pixel value 99999999999999999999999 in column 7"),
])
def test_bad_rows_name_file_line_and_problem(tmp_path, bad_row, match):
    path = write(tmp_path, HEADER + row() + bad_row + row())
    with pytest.raises(DataError, match=r"digits\.csv: " + match):
        read_csv(path)


def test_bad_first_row_is_not_mistaken_for_a_header(tmp_path):
    with pytest.raises(DataError, match=r"digits\.csv: line 1: column 3 holds text"):
        read_csv(write(tmp_path, row(c3="oops") + row()))


def test_line_numbers_survive_blank_lines_and_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_data, "CHUNK_ROWS", 2)
    path = write(tmp_path, row() + "\n" + row() + row() + row() + row(c300="300"))
    with pytest.raises(DataError, match="line 6: pixel value 300 in column 300"):
        read_csv(path)
    path = write(tmp_path, row() + row() + "\n" + row() + row(c2="x"))
    with pytest.raises(DataError, match="line 5: column 2 holds text"):
        read_csv(path)


def test_size_limit(tmp_path):
    path = write(tmp_path, text(rows(3)))
    with pytest.raises(DataError, match=r"digits\.csv: the file is larger than the 1,000-byte limit; split it into "
                                        r"smaller files \(e\.g\. `split -l 30000 digits\.csv part-`"):
        read_csv(path, max_bytes=1000)
    gz = tmp_path / "big.csv.gz"
    gz.write_bytes(gzip.compress(text(rows(20)).encode()))  # small on disk, large inflated
    with pytest.raises(DataError, match=r"big\.csv\.gz: .*limit decompressed"):
        read_csv(gz, max_bytes=gz.stat().st_size + 100)


def test_binary_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x00\xff\xfe" * 100)
    with pytest.raises(DataError, match=r"x\.csv: not a text CSV file"):
        read_csv(path)
