"""An imported dataset is used like a built-in one: its classes size the output layer, a run records them,
and a run meets only datasets with the classes it learned."""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest

from mnistlab.cli.main import main
from mnistlab.data.datasets import dataset_info, dataset_names
from mnistlab.data.idx import write_idx
from mnistlab.data.load import load_split
from mnistlab.data.manifest import Manifest
from mnistlab.errors import ConfigError, DataError
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

CLASSES = ("bar", "dash", "square")


def _sha(array: np.ndarray) -> str:
    magic = 2051 if array.ndim == 3 else 2049
    digest = hashlib.sha256(struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape))
    digest.update(array.tobytes())
    return digest.hexdigest()


def shapes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n noisy 28×28 images of three easy classes: a vertical bar, a horizontal dash, a filled square."""
    labels = rng.integers(0, 3, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        region = [np.s_[4:24, 12:16], np.s_[12:16, 4:24], np.s_[6:22, 6:22]][label]
        image[region] = 230
    return images, labels


def write_dataset(root, name: str = "shapes", classes=CLASSES, n_train: int = 600, n_test: int = 150) -> None:
    """An imported dataset's folder as `data import` leaves it: four gzip'd IDX files and the manifest."""
    folder = root / name
    folder.mkdir(parents=True)
    rng, sha, counts = np.random.default_rng(0), {}, {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images, labels = shapes(n, rng)
        counts[split] = tuple(int(c) for c in np.bincount(labels, minlength=len(classes)))
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            write_idx(folder / f"{stem}.gz", array)
            sha[stem] = _sha(array)
    (folder / "manifest.json").write_text(Manifest(name, tuple(classes), counts, sha).to_json())


@pytest.fixture
def own(tmp_path):
    data = tmp_path / "data"
    write_dataset(data)
    return data, tmp_path / "runs"


def test_an_imported_dataset_is_listed_and_loaded_verified(own):
    data, _ = own
    assert dataset_names(data) == ["mnist", "fashion-mnist", "shapes"]
    info = dataset_info("shapes", data)
    assert info.imported and info.classes == CLASSES and (info.train_size, info.test_size) == (600, 150)
    split = load_split("shapes", "train", data)
    assert split.classes == CLASSES and len(split) == 600 and split.meta["unverified"] == []


def test_a_preset_trains_on_it_with_one_output_per_class(own, capsys):
    data, runs = own
    code = main(["train", "--preset", "fast", "--dataset", "shapes", "--epochs", "2", "--data-dir", str(data),
                 "--runs-dir", str(runs), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["config"]["model"]["outputs"] == 3 and len(out["per_class_accuracy"]) == 3
    assert out["test_accuracy"] > 0.9  # three easy shapes: far above the 33% of guessing
    run = RunStore(runs).open(out["run_id"])
    assert run.classes == CLASSES and run.dataset_digest == dataset_info("shapes", data).digest
    assert run.model().spec.sizes[-1] == 3 and run.evaluation().classes == CLASSES
    assert run.split("test", data).classes == CLASSES


def test_a_run_refuses_a_dataset_whose_classes_differ(own, capsys):
    data, runs = own
    write_dataset(data, "letters", classes=("a", "b", "c"))
    assert main(["train", "--preset", "fast", "--dataset", "shapes", "--epochs", "1", "--data-dir", str(data),
                 "--runs-dir", str(runs), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    with pytest.raises(DataError, match=r"learned 3 classes \(bar, dash, square\) but dataset 'letters' has 3 "
                                        r"classes \(a, b, c\)"):
        RunStore(runs).open(run_id).split("test", data, dataset="letters")


def test_a_dataset_name_is_checked_where_it_is_named(own, capsys):
    data, runs = own
    with pytest.raises(ConfigError, match="dataset must be one of mnist, fashion-mnist or the name of an imported"):
        TrainConfig(dataset="../etc")
    assert main(["train", "--dataset", "nosuch", "--data-dir", str(data), "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nosuch'; choose one of: mnist, fashion-mnist, shapes" in err and "Traceback" not in err
    assert not runs.exists() or not any(runs.iterdir())  # nothing was created for it


def test_evaluate_on_another_dataset_only_when_the_classes_match(own, capsys):
    data, runs = own
    write_dataset(data, "shapes-copy")  # the same generator and seed: the same images under another name
    write_dataset(data, "letters", classes=("a", "b", "c"))
    assert main(["train", "--preset", "fast", "--dataset", "shapes", "--epochs", "1", "--data-dir", str(data),
                 "--runs-dir", str(runs), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", trained["run_id"], "--dataset", "shapes-copy", "--data-dir", str(data), "--runs-dir",
                 str(runs), "--json"]) == 0
    copy = json.loads(capsys.readouterr().out)
    assert copy["dataset"] == "shapes-copy" and copy["accuracy"] == trained["test_accuracy"]
    assert main(["evaluate", trained["run_id"], "--dataset", "letters", "--data-dir", str(data), "--runs-dir",
                 str(runs)]) == 2
    err = capsys.readouterr().err
    assert "learned 3 classes (bar, dash, square) but dataset 'letters' has 3 classes (a, b, c)" in err
