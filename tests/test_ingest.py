"""`data import` round trips: every format in, the same images and labels out through `load_split`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REAL_DATA
from ingest_helpers import idx_bytes, images_for, labels_for, write_csv, write_folder, write_idx_pair, zip_folder
from PIL import Image

from mnistlab.cli.main import main
from mnistlab.data.datasets import dataset_info, dataset_names
from mnistlab.data.load import load_split
from mnistlab.data.manifest import Manifest
from mnistlab.ingest import export_csv, import_dataset, list_datasets, remove_dataset
from mnistlab.ingest.convert import fit

DIGITS = [str(i) for i in range(10)]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory; MNISTLAB_DATA_DIR points at it too, as load_split looks imported datasets up there."""
    root = tmp_path / "data"
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(root))
    return root


def loaded(name, data_dir):
    """Both splits through the trainer's loader, checked against the manifest's SHA-256."""
    out = {}
    for split in ("train", "test"):
        s = load_split(name, split, data_dir)
        assert s.meta["unverified"] == [], s.meta  # the manifest's checksums are what load_split computes
        out[split] = (s.images.numpy(), s.labels.numpy())
    return out


def test_csv_with_a_header_and_a_test_file_round_trips_exactly(tmp_path, data_dir):
    train_labels, test_labels = labels_for(range(10), 300, 1).astype(int), labels_for(range(10), 100, 2).astype(int)
    train_images, test_images = images_for(train_labels, seed=1), images_for(test_labels, seed=2)
    train = write_csv(tmp_path / "train.csv", train_labels, train_images, header=True)  # Kaggle's header
    test = write_csv(tmp_path / "test.csv", test_labels, test_images)
    report = import_dataset("digits", train, test=test, data_dir=data_dir)
    got = loaded("digits", data_dir)
    np.testing.assert_array_equal(got["train"][0], train_images)
    np.testing.assert_array_equal(got["train"][1], train_labels)
    np.testing.assert_array_equal(got["test"][0], test_images)
    np.testing.assert_array_equal(got["test"][1], test_labels)
    m = report.manifest
    assert m.classes == tuple(DIGITS) and m.label_map == {} and m.conversions == () and m.source_format == "csv"
    assert m.counts["train"] == tuple(np.bincount(train_labels)) and m.sizes == {"train": 300, "test": 100}
    assert m.source == {"train": str(train), "test": str(test)}
    info = dataset_info("digits", data_dir)
    assert info.imported and info.classes == tuple(DIGITS) and (info.train_size, info.test_size) == (300, 100)
    assert Manifest.read(data_dir / "digits") == m and sorted(p.name for p in report.path.iterdir()) == [
        "manifest.json", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz"]


def test_without_a_test_set_a_stratified_sixth_is_held_out_the_same_way_every_time(tmp_path, data_dir):
    labels = labels_for(range(3), 600, 3).astype(int)
    images = images_for(labels, seed=3)
    path = write_csv(tmp_path / "all.csv", labels, images)  # no header
    first = import_dataset("a", path, data_dir=data_dir).manifest
    again = import_dataset("b", path, data_dir=data_dir).manifest
    assert first.counts == {"train": (167, 167, 167), "test": (33, 33, 33)}  # round(200 / 6) of each class
    assert first.sha256 == again.sha256  # seed 0: the same split on every import
    assert "held out a stratified 1/6 of the images of each class as the test set (seed 0), as no test set was " \
           "given" in first.conversions and first.source["test"] == f"a stratified 1/6 of {path} held out (seed 0)"
    got = loaded("a", data_dir)
    together = np.concatenate([got["train"][0], got["test"][0]]).reshape(len(labels), -1)
    assert sorted(map(bytes, together)) == sorted(map(bytes, images.reshape(len(labels), -1)))  # a partition
    fifth = import_dataset("c", path, test_fraction=0.2, data_dir=data_dir).manifest
    assert fifth.sizes == {"train": 480, "test": 120} and "a stratified 20% of" in fifth.source["test"]


def test_string_labels_become_sorted_classes_and_classes_sets_their_order(tmp_path, data_dir):
    labels = labels_for(["owl", "cat", "dog"], 120, 4)
    images = images_for(labels, seed=4)
    path = write_csv(tmp_path / "pets.csv", labels, images, header="label," + ",".join(f"p{i}" for i in range(784)))
    sorted_ = import_dataset("pets", path, data_dir=data_dir).manifest
    assert sorted_.classes == ("cat", "dog", "owl") and sorted_.label_map == {}
    ordered = import_dataset("pets2", path, classes="owl,dog,cat", data_dir=data_dir)
    assert ordered.manifest.classes == ("owl", "dog", "cat")
    s = load_split("pets2", "train", data_dir)
    assert s.classes == ("owl", "dog", "cat")
    names = np.array(s.classes)[s.labels.numpy()]
    assert set(names) == {"owl", "dog", "cat"}
    for image, name in zip(s.images.numpy()[:20], names[:20], strict=True):  # each image kept its own label
        assert name == labels[int(np.flatnonzero((images == image).all(axis=(1, 2)))[0])]


def test_integer_labels_that_are_not_0_to_k_minus_1_are_mapped_and_the_map_kept(tmp_path, data_dir):
    labels = labels_for([1, 5, 9], 90, 5).astype(int)
    path = write_csv(tmp_path / "odd.csv", labels, images_for(labels, seed=5))
    m = import_dataset("odd", path, data_dir=data_dir).manifest
    assert m.classes == ("1", "5", "9") and m.label_map == {"1": 0, "5": 1, "9": 2}
    assert "mapped labels 1, 5, 9 to classes 0–2 in sorted order (kept as label_map)" in m.conversions
    named = import_dataset("odd2", path, classes=["one", "five", "nine"], data_dir=data_dir).manifest
    assert named.classes == ("one", "five", "nine") and named.label_map == {"1": 0, "5": 1, "9": 2}
    got = loaded("odd", data_dir)
    assert set(np.unique(got["train"][1])) == {0, 1, 2}


def test_a_32x32_csv_is_resized_and_says_so(tmp_path, data_dir):
    labels = labels_for(["a", "b"], 60, 6)
    images = images_for(labels, side=32, seed=6)
    images[0] = 200  # a flat image stays flat
    path = write_csv(tmp_path / "big.csv", labels, images)
    m = import_dataset("big", path, test=path, data_dir=data_dir).manifest
    assert m.conversions == ("resized 120 images of 32×32 to 28×28 (bilinear, antialiased)",)
    got = loaded("big", data_dir)
    np.testing.assert_array_equal(got["train"][0][0], np.full((28, 28), 200, np.uint8))
    np.testing.assert_array_equal(got["train"][0][1], fit(images[1]))


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_pairs_with_the_labels_found_beside_them(tmp_path, data_dir, gz):
    labels = labels_for(range(4), 80, 7).astype(np.uint8)
    images = images_for(labels, seed=7)
    train = write_idx_pair(tmp_path / "src", "train", images, labels, gz)
    test = write_idx_pair(tmp_path / "src", "t10k", images[:40], labels[:40], gz)
    m = import_dataset("quad", train, test=test, data_dir=data_dir).manifest
    assert m.source_format == "idx" and m.classes == ("0", "1", "2", "3")
    assert m.source["train"] == f"{train} (labels: {str(train).replace('images-idx3', 'labels-idx1')})"
    got = loaded("quad", data_dir)
    np.testing.assert_array_equal(got["train"][0], images)
    np.testing.assert_array_equal(got["test"][1], labels[:40])


def test_idx_labels_given_by_flag_and_non_square_images_padded_with_their_background(tmp_path, data_dir):
    labels = labels_for(range(2), 40, 8).astype(np.uint8)
    images = np.full((40, 20, 40), 10, np.uint8)
    images[labels == 1, :, 15:25] = 250
    (tmp_path / "pics.idx").write_bytes(idx_bytes(images))
    (tmp_path / "answers.idx").write_bytes(idx_bytes(labels))
    m = import_dataset("wide", tmp_path / "pics.idx", train_labels=tmp_path / "answers.idx", data_dir=data_dir).manifest
    assert ("resized 40 images of 20×40 to fit 28×28 keeping the aspect ratio (bilinear, antialiased) and padded "
            "the short side with each image's background (the median of its border)") in m.conversions
    train = loaded("wide", data_dir)["train"][0]
    assert (train[:, :7] == 10).all() and (train[:, 21:] == 10).all()  # 20×40 → 14×28, centred on 28 rows
    assert train[:, 7:21].max() > 200


def test_npz_in_keras_layout_with_and_without_a_test_part(tmp_path, data_dir):
    y_train, y_test = labels_for(range(3), 90, 9).astype(np.uint8), labels_for(range(3), 30, 10).astype(np.uint8)
    x_train, x_test = images_for(y_train, seed=9), images_for(y_test, seed=10)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    m = import_dataset("keras", tmp_path / "mnist.npz", data_dir=data_dir).manifest
    assert m.sizes == {"train": 90, "test": 30} and m.conversions == () and m.source_format == "npz"
    got = loaded("keras", data_dir)
    np.testing.assert_array_equal(got["test"][0], x_test)
    own = import_dataset("keras2", tmp_path / "mnist.npz", test_fraction=0.3, data_dir=data_dir).manifest
    assert own.sizes == {"train": 90, "test": 30} and own.conversions == (
        f"used the test set inside {tmp_path / 'mnist.npz'}; the test fraction applies only to files without one",)
    np.savez_compressed(tmp_path / "flat.npz", x_train=(x_train.reshape(90, -1) / 255.0), y_train=y_train[:, None])
    flat = import_dataset("flat", tmp_path / "flat.npz", data_dir=data_dir).manifest
    assert flat.sizes == {"train": 75, "test": 15} and "scaled float pixels in [0, 1] to 0–255 (rounded)" in \
        flat.conversions
    np.testing.assert_array_equal(np.sort(np.concatenate([v[0] for v in loaded("flat", data_dir).values()])
                                          .reshape(90, -1), axis=0), np.sort(x_train.reshape(90, -1), axis=0))


def test_npz_colour_images_become_luminance_as_pillow_computes_it(tmp_path, data_dir):
    y = labels_for(range(2), 20, 11).astype(np.int64)
    rgb = np.random.default_rng(11).integers(0, 256, (20, 28, 28, 3), dtype=np.uint8)
    np.savez(tmp_path / "rgb.npz", x_train=rgb, y_train=y, x_test=rgb, y_test=y)
    m = import_dataset("rgb", tmp_path / "rgb.npz", data_dir=data_dir).manifest
    assert "converted 40 colour images to grey by luminance (ITU-R 601-2: 0.299 R + 0.587 G + 0.114 B)" in m.conversions
    expected = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in rgb])
    np.testing.assert_array_equal(loaded("rgb", data_dir)["test"][0], expected)


def _pets(tmp_path):
    labels = labels_for(["cats", "dogs", "owls"], 45, 12)
    images = images_for(labels, seed=12)
    return labels, images, write_folder(tmp_path / "pets", labels, images, rgb=True)


def test_a_folder_of_class_folders_and_a_zip_of_it_import_alike(tmp_path, data_dir):
    labels, images, folder = _pets(tmp_path)
    (folder / "cats" / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0")
    m = import_dataset("pets", folder, data_dir=data_dir).manifest
    zipped = import_dataset("pets-zip", zip_folder(folder, tmp_path / "pets.zip", wrap="pets"), data_dir=data_dir)
    assert m.classes == ("cats", "dogs", "owls") == zipped.manifest.classes and m.source_format == "folder"
    assert zipped.manifest.source_format == "zip" and m.sha256 == zipped.manifest.sha256
    assert m.conversions[0] == "converted 45 colour images to grey by luminance (ITU-R 601-2: 0.299 R + 0.587 G + " \
                               "0.114 B)"
    assert f"skipped 1 file that is not an image (e.g. {folder / 'cats' / 'notes.txt'}); images are read from " \
           ".png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff, .ppm, .pgm, .pbm files" in m.conversions
    assert "shuffled the images with seed 0 (a folder lists them class by class)" in m.conversions
    got = loaded("pets", data_dir)
    grey = np.stack([np.asarray(Image.fromarray(np.stack([i, i, np.zeros_like(i)], -1)).convert("L")) for i in images])
    all_images = np.concatenate([got["train"][0], got["test"][0]])
    all_labels = np.concatenate([got["train"][1], got["test"][1]])
    for image, number in zip(all_images, all_labels, strict=True):  # every image kept its class
        row = int(np.flatnonzero((grey == image).all(axis=(1, 2)))[0])
        assert m.classes[number] == labels[row]
    assert len(set(got["train"][1][:10].tolist())) > 1  # shuffled: a `first 10` subset is not one class


def test_a_folder_with_train_and_test_folders_gives_both_splits(tmp_path, data_dir):
    labels = labels_for(["x", "y"], 30, 13)
    images = images_for(labels, side=14, seed=13)
    write_folder(tmp_path / "set" / "train", labels, images, ext="bmp")
    write_folder(tmp_path / "set" / "test", labels[:10], images[:10], ext="gif")
    m = import_dataset("xy", tmp_path / "set", data_dir=data_dir).manifest
    assert m.sizes == {"train": 30, "test": 10} and m.source["test"] == f"{tmp_path / 'set'}/test"
    assert "resized 40 images of 14×14 to 28×28 (bilinear, antialiased)" in m.conversions


def test_list_remove_and_the_cli_json_shapes(tmp_path, data_dir, capsys):
    labels = labels_for(["a", "b"], 60, 14)
    path = write_csv(tmp_path / "ab.csv", labels, images_for(labels, seed=14))
    assert main(["data", "import", "ab", "--train", str(path), "--json", "--data-dir", str(data_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["name"] == "ab" and report["classes"] == ["a", "b"] and report["sizes"] == {"train": 50, "test": 10}
    assert report["path"] == str(data_dir / "ab") and report["replaced"] is False and set(report["files"]) == set(
        report["sha256"]) and {"counts", "source", "source_format", "conversions", "label_map", "created"} <= set(report)
    assert main(["data", "list", "--json", "--data-dir", str(data_dir)]) == 0
    listed = {d["name"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    assert list(listed) == ["mnist", "fashion-mnist", "ab"]
    assert listed["mnist"]["present"] is False and listed["mnist"]["imported"] is False
    assert listed["ab"]["counts"] == {"train": [25, 25], "test": [5, 5]} and listed["ab"]["classes"] == ["a", "b"]
    assert main(["data", "list", "--data-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "mnist            built-in  not downloaded: run `python -m mnistlab data fetch --dataset mnist`" in text
    assert "ab               imported   2 classes" in text
    assert main(["data", "import", "ab", "--train", str(path), "--replace", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.startswith(f"replaced 'ab' in {data_dir / 'ab'}: 2 classes (a, b), 50 train / 10 test")
    assert main(["data", "remove", "ab", "--data-dir", str(data_dir)]) == 0
    assert dataset_names(data_dir) == ["mnist", "fashion-mnist"] and list(data_dir.iterdir()) == []
    assert [d.name for d in list_datasets(data_dir)] == ["mnist", "fashion-mnist"]


def test_export_writes_the_tutorials_csv_and_importing_it_gives_the_same_dataset(tmp_path, data_dir, capsys):
    labels = labels_for(["ant", "bee", "cow"], 90, 15)
    path = write_csv(tmp_path / "bugs.csv", labels, images_for(labels, seed=15))
    original = import_dataset("bugs", path, data_dir=data_dir).manifest
    assert main(["data", "export", "bugs", "--csv", str(tmp_path / "out"), "--data-dir", str(data_dir)]) == 0
    assert f"class names: {tmp_path / 'out' / 'bugs_classes.txt'} (line k names label k)" in capsys.readouterr().out
    first = (tmp_path / "out" / "bugs_train.csv").read_text().splitlines()[0].split(",")
    assert len(first) == 785 and first[0] in "012"  # no header, an integer label first
    assert (tmp_path / "out" / "bugs_classes.txt").read_text() == "ant\nbee\ncow\n"
    again = import_dataset("bugs2", tmp_path / "out" / "bugs_train.csv", test=tmp_path / "out" / "bugs_test.csv",
                           classes_file=tmp_path / "out" / "bugs_classes.txt", data_dir=data_dir).manifest
    assert again.sha256 == original.sha256 and again.classes == original.classes and again.counts == original.counts
    remove_dataset("bugs2", data_dir)


def test_an_export_of_an_image_with_many_digits_reads_back(tmp_path, data_dir):
    """Values 0–255 spell as 1 to 3 digits: the lookup-table writer must produce each exactly."""
    images = np.arange(256 * 28 * 28 // 784 * 784, dtype=np.int64).reshape(-1, 28, 28) % 256
    images = np.concatenate([images, 255 - images]).astype(np.uint8)
    labels = np.array([0, 1] * (len(images) // 2))
    path = write_csv(tmp_path / "values.csv", labels, images)
    import_dataset("values", path, test=path, data_dir=data_dir)
    export_csv("values", tmp_path / "out", data_dir)
    assert (tmp_path / "out" / "values_train.csv").read_text() == path.read_text()


@pytest.mark.integration
def test_real_mnist_exports_to_csv_and_imports_back_identical(tmp_path, real_data_dir, monkeypatch):
    """`data export mnist` of the real files, imported again: the very same arrays (the real data is only read)."""
    before = sorted((p.name, p.stat().st_size) for p in (real_data_dir / "mnist").iterdir())
    assert main(["data", "export", "mnist", "--csv", str(tmp_path / "csv"), "--data-dir", str(real_data_dir)]) == 0
    with open(tmp_path / "csv" / "mnist_train.csv") as f:
        first = f.readline().split(",")
    assert len(first) == 785 and first[0] == "5"  # as the tutorials' mnist_train.csv: no header, a 5 first
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "data"))
    report = import_dataset("mnist-csv", tmp_path / "csv" / "mnist_train.csv", test=tmp_path / "csv" / "mnist_test.csv",
                            classes_file=tmp_path / "csv" / "mnist_classes.txt", data_dir=tmp_path / "data")
    assert report.manifest.sha256 == dataset_info("mnist").sha256  # byte for byte the published files' content
    for split in ("train", "test"):
        real, back = load_split("mnist", split, real_data_dir), load_split("mnist-csv", split, tmp_path / "data")
        assert back.meta["unverified"] == [] and back.classes == real.classes
        np.testing.assert_array_equal(back.images.numpy(), real.images.numpy())
        np.testing.assert_array_equal(back.labels.numpy(), real.labels.numpy())
    assert sorted((p.name, p.stat().st_size) for p in (real_data_dir / "mnist").iterdir()) == before
    assert not (REAL_DATA / "mnist-csv").exists()


def test_uploads_import_like_files_and_messages_name_the_uploaded_file(tmp_path, data_dir):
    from mnistlab.errors import DataError
    from mnistlab.ingest.uploads import import_uploads

    labels = labels_for(range(3), 60, 16).astype(np.uint8)
    images = images_for(labels, seed=16)
    csv_bytes = write_csv(tmp_path / "x.csv", labels, images).read_bytes()
    report = import_uploads("up", [("C:\\Users\\me\\digits.csv", csv_bytes)], data_dir=data_dir)
    assert report.manifest.source["train"] == "upload digits.csv" and report.manifest.sizes == {"train": 51, "test": 9}
    pair = [("pics.idx", idx_bytes(images)), ("answers.idx", idx_bytes(labels))]  # any names: told apart by header
    idx = import_uploads("up-idx", pair, test=pair, data_dir=data_dir).manifest
    assert idx.source["train"] == "upload pics.idx (labels: answers.idx)"
    np.testing.assert_array_equal(loaded("up-idx", data_dir)["test"][0], images)
    lines = csv_bytes.split(b"\n")
    bad = b"\n".join([lines[0], lines[1] + b",7", *lines[2:]])
    with pytest.raises(DataError, match=r"^digits\.csv: line 2 has 786 columns but line 1 has 785; every row"):
        import_uploads("up-bad", [("digits.csv", bad)], data_dir=data_dir)
    assert sorted(p.name for p in data_dir.iterdir()) == ["up", "up-idx"]  # no work folder left


def test_62_classes_the_most_mnistlab_trains_import_with_their_names(tmp_path, data_dir):
    names = [*"0123456789", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ", *"abcdefghijklmnopqrstuvwxyz"]  # EMNIST byclass
    y = np.arange(62 * 4) % 62
    np.savez(tmp_path / "emnist.npz", x_train=images_for(y), y_train=y)
    m = import_dataset("byclass", tmp_path / "emnist.npz", classes=names, data_dir=data_dir).manifest
    assert m.classes == tuple(names) and m.counts["test"] == (1,) * 62 and m.label_map == {}
    assert dataset_info("byclass", data_dir).num_classes == 62
