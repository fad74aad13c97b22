"""Bad input to `data import` (and remove/export), each case through both doors: the core and the CLI.

Every case writes its own files. Each must end in one sentence naming the file (or flag), the line or
entry where there is one, and the problem: a mnistlab error in the core, `error: …` and exit status 2
from the CLI, no traceback. The data directory (holding an imported dataset and a foreign folder) and
the case's own folder must be exactly as they were.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from ingest_helpers import idx_bytes, images_for, labels_for, tree, write_csv, write_folder, write_idx_pair

from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError
from mnistlab.ingest import export_csv, import_dataset, limits, remove_dataset

ZERO = ",".join(["0"] * 784)


def rows(*lines: str, header: str | None = None) -> str:
    return "".join(f"{line}\n" for line in ([header] if header else []) + list(lines))


def good(label: str = "a") -> str:
    return f"{label},{ZERO}"


def csv(d: Path, name: str, text: str) -> dict:
    (d / name).write_text(text)
    return {"train": d / name}


def two_classes(d: Path, name: str = "ab.csv", n: int = 12) -> Path:
    labels = labels_for(["a", "b"], n, 1)
    return write_csv(d / name, labels, images_for(labels))


def png_folder(d: Path, classes=("cats", "dogs"), n: int = 6) -> Path:
    labels = labels_for(list(classes), n, 2)
    return write_folder(d / "pets", labels, images_for(labels))


def _label_last(d: Path) -> dict:
    labels = labels_for([0, 1, 2], 12, 3).astype(int)
    flat = np.zeros((12, 784), int)
    return csv(d, "last.csv", "".join(",".join(map(str, [*row, lab])) + "\n" for row, lab in zip(flat, labels, strict=True)))


def _test_missing_class(d: Path) -> dict:
    return {"train": two_classes(d), "test": csv(d, "test.csv", rows(good("a"), good("a")))["train"]}


def _test_unknown_label(d: Path) -> dict:
    return {"train": two_classes(d), "test": csv(d, "test.csv", rows(good("a"), good("b"), good("b"), good("z")))["train"]}


def _empty_class(d: Path) -> dict:
    folder = png_folder(d)
    (folder / "owls").mkdir()
    (folder / "owls" / "readme.txt").write_text("todo")
    return {"train": folder}


def _bad_image(d: Path, data: bytes) -> dict:
    folder = png_folder(d)
    (folder / "cats" / "9999.png").write_bytes(data)
    return {"train": folder}


def _truncated_png(d: Path) -> dict:
    folder = png_folder(d)
    whole = (folder / "dogs" / sorted(p.name for p in (folder / "dogs").iterdir())[0]).read_bytes()
    return _bad_image(d, whole[: len(whole) // 2])


def _stray_image(d: Path) -> dict:
    folder = png_folder(d)
    first = next((folder / "cats").iterdir())
    (folder / "stray.png").write_bytes(first.read_bytes())
    return {"train": folder}


def _unsafe_zip(d: Path) -> dict:
    folder = png_folder(d)
    with zipfile.ZipFile(d / "evil.zip", "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, p.relative_to(folder).as_posix())
        zf.writestr("../escape.png", b"x")
    return {"train": d / "evil.zip"}


def _idx(d: Path, images: np.ndarray, labels: np.ndarray | None, name: str = "x") -> dict:
    (d / f"{name}-images-idx3-ubyte").write_bytes(idx_bytes(images))
    if labels is not None:
        (d / f"{name}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    return {"train": d / f"{name}-images-idx3-ubyte"}


def _idx_float(d: Path) -> dict:
    (d / "f-images-idx3-ubyte").write_bytes(b"\0\0\x0d\x03" + b"\0\0\0\x01\0\0\0\x02\0\0\0\x02" + b"\0" * 16)
    return {"train": d / "f-images-idx3-ubyte"}


def _npz(d: Path, **arrays) -> dict:
    np.savez(d / "data.npz", **arrays)
    return {"train": d / "data.npz"}


def _npz_objects(d: Path) -> dict:
    np.savez(d / "data.npz", x_train=np.array([np.zeros((28, 28)), None], dtype=object), y_train=np.array([0, 1]))
    return {"train": d / "data.npz"}


def _gz_bomb(d: Path) -> dict:
    (d / "big.csv.gz").write_bytes(gzip.compress(rows(*[good("a"), good("b")] * 20).encode(), mtime=0))
    return {"train": d / "big.csv.gz"}


def _classes_file(d: Path, text: str) -> dict:
    (d / "names.txt").write_text(text)
    return {"train": two_classes(d), "classes_file": d / "names.txt"}


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], dict]  # writes the case's files in its folder; the import's arguments
    message: str  # regex the one sentence must match (with the case folder as {d})
    limits: dict = field(default_factory=dict)  # lowered limits while the case runs
    name: str = "mine"


CASES = [
    Case("ragged-row", lambda d: csv(d, "rag.csv", rows(good(), good()[:-2], good("b"))),
         r"{d}/rag\.csv: line 2 has 784 columns but line 1 has 785; every row needs a label then the same 784 pixel "
         r"values\."),
    Case("text-pixel", lambda d: csv(d, "t.csv", rows(good(), "b,0,0,0,abc," + ",".join(["0"] * 780))),
         r"{d}/t\.csv: line 2: column 5 holds 'abc'; pixel values must be whole numbers 0–255\."),
    Case("nan-pixel", lambda d: csv(d, "t.csv", rows(good(), "b,nan," + ",".join(["0"] * 783))),
         r"{d}/t\.csv: line 2: column 2 holds NaN; pixel values must be whole numbers 0–255\."),
    Case("pixel-256", lambda d: csv(d, "t.csv", rows(good(), "b,0,0,0,0,0,256," + ",".join(["0"] * 778))),
         r"{d}/t\.csv: line 2: pixel value 256 in column 7 is outside 0–255\."),
    Case("negative-pixel", lambda d: csv(d, "t.csv", rows(good(), "b,-1," + ",".join(["0"] * 783))),
         r"{d}/t\.csv: line 2: pixel value -1 in column 2 is outside 0–255\."),
    Case("empty-label", lambda d: csv(d, "t.csv", rows(good(), good(""))),
         r"{d}/t\.csv: line 2: the label \(column 1\) is empty; every row starts with its label\."),
    Case("label-last-by-header", lambda d: csv(d, "t.csv", rows(
        f"{ZERO},1", header=",".join(f"pixel{i}" for i in range(784)) + ",label")),
        r"{d}/t\.csv: the header names column 785 \('label'\) as the label, but mnistlab reads the label from the "
        r"first column: move that column to the front\."),
    Case("label-last-no-header", _label_last,
         r"{d}/last\.csv: holds one class only \(0\); mnistlab needs 2 to 62 classes \(column 785 holds 3 distinct "
         r"values, like labels: if the label is the last column, move it to the front\)\."),
    Case("kaggle-test-csv", lambda d: csv(d, "test.csv", rows(ZERO, header=",".join(f"pixel{i}" for i in range(784)))),
         r"{d}/test\.csv: the first column is 'pixel0', a pixel, and no column is named label: a file without labels "
         r"\(such as Kaggle's test\.csv\) cannot be imported\."),
    Case("pixels-only", lambda d: csv(d, "p.csv", rows(ZERO, ZERO)),
         r"{d}/p\.csv: line 1 has 784 values, a whole 28×28 image and no label column: a file without labels "
         r"\(such as Kaggle's test\.csv\) cannot be imported\."),
    Case("not-square", lambda d: csv(d, "p.csv", rows("a," + ",".join(["0"] * 500))),
         r"{d}/p\.csv: line 1 has 501 columns, a label and 500 pixel values, which is not a square image; give a "
         r"label then H×H pixels \(785 columns for 28×28, 1,025 for 32×32\)\."),
    Case("semicolons", lambda d: csv(d, "s.csv", rows("a;0;0;0;0", "b;0;0;0;0")),
         r"{d}/s\.csv: line 1 has no commas; mnistlab reads comma-separated rows of a label, then the pixel values\."),
    Case("blank-csv", lambda d: csv(d, "b.csv", "\n\n"),
         r"{d}/b\.csv: holds no rows \(only blank lines\); give one row per image: a label, then its pixel values\."),
    Case("one-class", lambda d: csv(d, "one.csv", rows(good("7"), good("7"))),
         r"{d}/one\.csv: holds one class only \(7\); mnistlab needs 2 to 62 classes\."),
    Case("63-classes", lambda d: csv(d, "many.csv", rows(*[good(str(i)) for i in range(63)])),
         r"{d}/many\.csv: holds 63 classes \(0, 1, 2, 3, 4, 5, 6, 7 … \(63 in all\)\); mnistlab trains 2 to 62: "
         r"merge or leave out some\."),
    Case("test-unknown-label", _test_unknown_label,
         r"{d}/test\.csv: line 4: label z is not one of the train set's classes \(a, b\); the test set must use the "
         r"train set's labels\."),
    Case("test-missing-class", _test_missing_class,
         r"{d}/test\.csv: holds no test images of class 'b'; the test set needs every train class: add some, or "
         r"leave out --test to hold out part of the training set\."),
    Case("one-image-class", lambda d: csv(d, "t.csv", rows(good("a"), good("a"), good("b"))),
         r"{d}/t\.csv: class 'b' has 1 image; holding out a test set needs at least 2 per class: add images or give "
         r"a test set with --test\."),
    Case("empty-class-folder", _empty_class,
         r"{d}/pets/owls: the class folder holds no images \(\.png, .*\); add some or delete the folder\."),
    Case("one-class-folder", lambda d: {"train": png_folder(d, classes=("cats",))},
         r"{d}/pets: holds one class only \(cats\); mnistlab needs 2 to 62 classes\."),
    Case("long-class-folder-name", lambda d: {"train": png_folder(d, classes=("cats", "x" * 61))},
         r"{d}/pets: class name 'x{60}' must be 1 to 60 printable characters\."),
    Case("undecodable-image", lambda d: _bad_image(d, b"this is not a png"),
         r"{d}/pets/cats/9999\.png is not an image file mnistlab can read; use a PNG, JPEG, GIF, BMP, WEBP, TIFF, PPM "
         r"image\."),
    Case("truncated-image", _truncated_png,
         r"{d}/pets/cats/9999\.png is damaged or truncated and cannot be decoded \(.*\); save it again\."),
    Case("image-outside-class-folders", _stray_image,
         r"{d}/pets/stray\.png: is not inside a class folder; put each image in a sub-folder named for its class "
         r"\({d}/pets/<class>/stray\.png\)\."),
    Case("unsafe-zip-entry", _unsafe_zip,
         r"{d}/evil\.zip: entry '\.\./escape\.png' has an unsafe path \('\.\.' or absolute\); zip the folder again "
         r"from inside its parent folder\."),
    Case("file-size-limit", lambda d: {"train": two_classes(d, "big.csv")},
         r"{d}/big\.csv: the file \(\d+\.\d KiB\) is larger than the 1 KiB limit per file; split it into smaller files "
         r"and import part of it, or keep fewer images\.", limits={"MAX_FILE_BYTES": 1024}),
    Case("gzip-size-limit", _gz_bomb,
         r"{d}/big\.csv\.gz: the file is larger once decompressed than the 20 KiB limit per file; split it .*\.",
         limits={"MAX_FILE_BYTES": 20 * 1024}),
    Case("image-count-limit", lambda d: {"train": two_classes(d, n=30)},
         r"{d}/ab\.csv: holds more than the 20 images a dataset may have \(train and test together\); import a "
         r"subset\.", limits={"MAX_IMAGES": 20}),
    Case("folder-count-limit", lambda d: {"train": png_folder(d, n=12)},
         r"{d}/pets: holds 12 images, more than the 10 images a dataset may have \(train and test together\); "
         r"import a subset\.", limits={"MAX_IMAGES": 10}),
    Case("idx-no-labels-beside", lambda d: _idx(d, np.zeros((4, 28, 28), np.uint8), None),
         r"{d}/x-images-idx3-ubyte: no labels file beside it \(looked for x-labels-idx1-ubyte or "
         r"x-labels-idx1-ubyte\.gz\); give it with --train-labels \(or --test-labels\)\."),
    Case("idx-count-mismatch", lambda d: _idx(d, np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0], np.uint8)),
         r"{d}/x-images-idx3-ubyte: holds 4 images but {d}/x-labels-idx1-ubyte holds 3 labels; give the labels file "
         r"that belongs to these images\."),
    Case("idx-float", _idx_float,
         r"{d}/f-images-idx3-ubyte: holds IDX values of type float; mnistlab imports unsigned-byte IDX files \(type "
         r"0x08, pixels 0–255\) only\."),
    Case("idx-labels-as-train", lambda d: {"train": write_idx_pair(d, "train", np.zeros((2, 28, 28)),
                                                                     np.array([0, 1]), gz=True).with_name(
        "train-labels-idx1-ubyte.gz")},
        r"{d}/train-labels-idx1-ubyte\.gz: holds labels, not images; give the images file here: its labels are found "
        r"beside it, or given with --train-labels / --test-labels\."),
    Case("idx-truncated", lambda d: {"train": (d / "x-images-idx3-ubyte").write_bytes(
        idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10]) and d / "x-images-idx3-ubyte"},
        r"{d}/x-images-idx3-ubyte: truncated: the header promises 4 images \(3,136 bytes\) but the file holds 3,126; "
        r"download it again\."),
    Case("npz-missing-arrays", lambda d: _npz(d, images=np.zeros((2, 28, 28)), labels=np.array([0, 1])),
         r"{d}/data\.npz: holds images, labels; mnistlab needs x_train and y_train \(optionally x_test and y_test\), as "
         r"in Keras' mnist\.npz\."),
    Case("npz-pickled-objects", _npz_objects,
         r"{d}/data\.npz: x_train holds Python objects, which mnistlab does not unpickle; save plain numeric or string "
         r"arrays .*\."),
    Case("npz-nan-pixel", lambda d: _npz(d, x_train=np.where(np.arange(2 * 784).reshape(2, 28, 28) == 30, np.nan, 0.5),
                                         y_train=np.array([0, 1])),
         r"{d}/data\.npz: x_train\[0\] holds nan at pixel \(1, 2\); pixels must be finite numbers\."),
    Case("npz-pixel-range", lambda d: _npz(d, x_train=np.full((2, 28, 28), 300, np.int32), y_train=np.array([0, 1])),
         r"{d}/data\.npz: x_train\[0\] holds the pixel value 300, outside 0–255 \(or 0–1 for floats\)\."),
    Case("npz-own-test-and-test-file", lambda d: {**_npz(d, x_train=np.zeros((4, 28, 28), np.uint8),
                                                         y_train=np.array([0, 1, 0, 1]),
                                                         x_test=np.zeros((2, 28, 28), np.uint8),
                                                         y_test=np.array([0, 1])), "test": two_classes(d)},
         r"{d}/data\.npz: holds its own test set; leave out --test, or import a file without one\."),
    Case("train-labels-for-csv", lambda d: {"train": two_classes(d), "train_labels": two_classes(d, "other.csv")},
         r"{d}/ab\.csv: is a csv file, which holds its own labels; --train-labels is for IDX images files\."),
    Case("missing-file", lambda d: {"train": d / "nope.csv"},
         r"{d}/nope\.csv not found; give a CSV \(label, then pixel values\), an IDX images file \(raw or \.gz\), a "
         r"\.npz with x_train and y_train, or a folder or \.zip with one sub-folder of images per class\."),
    Case("unknown-format", lambda d: {"train": (d / "blob.bin").write_bytes(bytes(range(256)) * 4) and d / "blob.bin"},
         r"{d}/blob\.bin: not a format mnistlab imports; give a CSV .*\."),
    Case("bad-name", lambda d: {"train": two_classes(d)},
         r"dataset name 'My Data' must be 1 to 40 lower-case letters, digits, '\.', '_' or '-', starting with a "
         r"letter or digit \(e\.g\. kmnist or my-digits\)\.", name="My Data"),
    Case("path-in-name", lambda d: {"train": two_classes(d)}, r"dataset name '\.\./evil' must be 1 to 40 .*\.",
         name="../evil"),
    Case("built-in-name", lambda d: {"train": two_classes(d)},
         r"'mnist' is a built-in dataset; choose another name for your import\.", name="mnist"),
    Case("existing-name", lambda d: {"train": two_classes(d)},
         r"dataset 'kept' already exists in {data}; pass --replace to overwrite it, remove it first \(`python -m "
         r"mnistlab data remove kept`\) or choose another name\.", name="kept"),
    Case("foreign-folder", lambda d: {"train": two_classes(d), "replace": True},
         r"{data}/notes already exists and is not an imported dataset \(it has no manifest\.json\); move it away or "
         r"choose another name\.", name="notes"),
    Case("test-and-fraction", lambda d: {"train": two_classes(d), "test": two_classes(d, "t.csv"), "test_fraction": 0.2},
         r"give a test set \(--test\) or a test fraction \(--test-fraction\), not both\."),
    Case("fraction-out-of-range", lambda d: {"train": two_classes(d), "test_fraction": 1.5},
         r"test fraction must be in \(0, 1\); got 1\.5\."),
    Case("test-labels-without-test", lambda d: {"train": two_classes(d), "test_labels": d / "x"},
         r"--test-labels needs --test \(the IDX images file the labels belong to\)\."),
    Case("classes-count", lambda d: {"train": csv(d, "n.csv", rows(*[good(str(5 + 4 * (i % 2))) for i in range(6)]))[
        "train"], "classes": "a,b,c"},
        r"--classes names 3 classes but {d}/n\.csv holds 2 labels \(5, 9\); give one name per label\."),
    Case("classes-name-without-images", lambda d: {"train": csv(d, "n.csv", rows(*[good(str(i % 2)) for i in range(6)]))[
        "train"], "classes": "a,b,c"},
        r"{d}/n\.csv: holds no images of class 2 \('c'\); every class named by --classes needs training images \(or "
        r"leave its name out\)\."),
    Case("classes-missing-string", lambda d: {"train": two_classes(d), "classes": "a,c"},
         r"--classes must list exactly the labels of {d}/ab\.csv, in the order wanted \(missing b; not in the file: "
         r"c\)\."),
    Case("classes-twice", lambda d: {"train": two_classes(d), "classes": "a,a"},
         r"--classes: class name 'a' is given twice; every class needs its own name\."),
    Case("classes-both", lambda d: {**_classes_file(d, "a\nb\n"), "classes": "a,b"},
         r"give --classes or --classes-file, not both\."),
    Case("classes-file-one-name", lambda d: _classes_file(d, "only\n"),
         r"classes file {d}/names\.txt: names 1 classes; mnistlab trains 2 to 62\."),
    Case("classes-file-missing", lambda d: {"train": two_classes(d), "classes_file": d / "none.txt"},
         r"classes file '{d}/none\.txt' not found\."),
]


def _argv(name: str, kwargs: dict, data_dir: Path) -> list[str]:
    argv = ["data", "import", name, "--data-dir", str(data_dir)]
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


@pytest.fixture
def dirs(tmp_path):
    """(case folder, data dir with one imported dataset 'kept' and a foreign folder 'notes')."""
    data = tmp_path / "data"
    seed = tmp_path / "seed"
    seed.mkdir()
    import_dataset("kept", two_classes(seed), data_dir=data)
    (data / "notes").mkdir()
    (data / "notes" / "todo.txt").write_text("mine")
    case = tmp_path / "case"
    case.mkdir()
    return case, data


def _one_sentence(text: str, pattern: str) -> None:
    assert "\n" not in text.strip() and "Traceback" not in text, text
    assert re.fullmatch(pattern, text), f"\n{text}\n{pattern}"
    assert not re.search(r"[.;:]\s+[A-Z][a-z]", text.replace("Kaggle", "kaggle").replace("Keras", "keras")
                         .replace("PNG", "png").replace("Python", "python")), f"more than one sentence: {text}"


@pytest.mark.parametrize("door", ["core", "cli"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_import_is_one_sentence_and_changes_nothing(case, door, dirs, monkeypatch, capsys):
    folder, data = dirs
    for key, value in case.limits.items():
        monkeypatch.setattr(limits, key, value)
    kwargs = case.make(folder)
    before_data, before_case = tree(data), tree(folder)
    pattern = case.message.replace("{d}", re.escape(str(folder))).replace("{data}", re.escape(str(data)))
    if door == "core":
        with pytest.raises(MnistlabError) as caught:
            import_dataset(case.name, data_dir=data, **kwargs)
        _one_sentence(str(caught.value), pattern)
    else:
        status = main(_argv(case.name, kwargs, data))
        out, err = capsys.readouterr()
        assert status == 2 and out == "", (status, out, err)
        assert err.startswith("error: ") and err.endswith("\n"), err
        _one_sentence(err[len("error: "):-1], pattern)
    assert tree(data) == before_data
    assert tree(folder) == before_case


OTHER = [  # (id, core call, CLI argv after `data`, message)
    ("remove-built-in", lambda data, d: remove_dataset("mnist", data), ["remove", "mnist"],
     r"'mnist' is a built-in dataset; `data remove` removes imported ones only \(delete {data}/mnist by hand to free "
     r"its space\)\."),
    ("remove-unknown", lambda data, d: remove_dataset("ghost", data), ["remove", "ghost"],
     r"no imported dataset 'ghost' in {data}; imported there: kept\."),
    ("remove-foreign-folder", lambda data, d: remove_dataset("notes", data), ["remove", "notes"],
     r"no imported dataset 'notes' in {data}; imported there: kept\."),
    ("export-unknown", lambda data, d: export_csv("ghost", d / "out", data), ["export", "ghost", "--csv", "{d}/out"],
     r"unknown dataset 'ghost'; choose one of: mnist, fashion-mnist, kept \(or import yours with `python -m mnistlab "
     r"data import NAME --train FILE`\)\."),
    ("export-built-in-missing", lambda data, d: export_csv("mnist", d / "out", data), ["export", "mnist", "--csv",
                                                                                        "{d}/out"],
     r"dataset 'mnist' not found in {data}/mnist; run `python -m mnistlab data fetch --dataset mnist` or set "
     r"MNISTLAB_DATA_DIR / --data-dir to a folder that holds it\."),
]


@pytest.mark.parametrize("door", ["core", "cli"])
@pytest.mark.parametrize("case", OTHER, ids=[c[0] for c in OTHER])
def test_bad_remove_and_export_are_one_sentence(case, door, dirs, capsys):
    folder, data = dirs
    _, call, argv, message = case
    before = tree(data)
    pattern = message.replace("{d}", re.escape(str(folder))).replace("{data}", re.escape(str(data)))
    if door == "core":
        with pytest.raises(MnistlabError) as caught:
            call(data, folder)
        _one_sentence(str(caught.value), pattern)
    else:
        status = main(["data", *[a.replace("{d}", str(folder)) for a in argv], "--data-dir", str(data)])
        err = capsys.readouterr().err
        assert status == 2 and err.startswith("error: "), err
        _one_sentence(err[len("error: "):-1], pattern)
    assert tree(data) == before and not (folder / "out").exists() or tree(folder / "out") == {}
