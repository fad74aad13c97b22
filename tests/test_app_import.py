"""The dashboard's own-data path: import on the Data page, switch to it, train, see its class names on Results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ingest_helpers import images_for, labels_for, write_csv
from test_app import WAIT, app, queue, texts, tiny_settings

from mnistlab.data.datasets import dataset_info, dataset_names

pytestmark = pytest.mark.usefixtures("app_caches")
CLASSES = ("circle", "cross", "wave")


@pytest.fixture
def own_env(monkeypatch, tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(data))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs))
    return data, runs


def csv_bytes(tmp_path, n: int = 600) -> bytes:
    labels = labels_for(CLASSES, n)
    return write_csv(tmp_path / "shapes.csv", labels, images_for(labels), header=True).read_bytes()


def import_on_data_page(at, name: str, data: bytes, filename: str = "shapes.csv"):
    at.text_input(key="import_name").set_value(name).run()
    at.file_uploader(key="import_train").set_value([(filename, data, "text/csv")]).run()
    at.button(key="import_go").click().run()
    assert not at.exception, at.exception
    return at


def test_import_switch_train_and_see_the_class_names(own_env, tmp_path):
    data_dir, _ = own_env
    at = import_on_data_page(app("data"), "shapes", csv_bytes(tmp_path))
    info = dataset_info("shapes", data_dir)  # what the core stored: 1/6 of each class held out for testing
    assert info.train_size + info.test_size == 600 and 90 <= info.test_size <= 110
    assert (f"Imported **shapes**: {info.train_size} training and {info.test_size} test images in 3 classes "
            "(circle, cross, wave)") in texts(at, "success")
    assert dataset_names(data_dir)[-1] == "shapes"
    at.button(key="import_use").click().run()
    assert at.button_group(key="dataset").value == "shapes" and "shapes" in at.button_group(key="dataset").options
    assert not at.exception, at.exception  # the Data page now shows the imported images

    at.switch_page("pages/train.py").run()
    tiny_settings(at, epochs=2)
    at.button(key="start").click().run()
    snap = queue().wait(at.session_state["job_id"], WAIT)
    assert snap.status == "finished", snap.message
    at.switch_page("pages/results.py").run()
    assert not at.exception, at.exception
    (bars,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart") if e.proto.id.endswith("-per_class")]
    assert tuple(bars["data"][0]["x"]) == CLASSES  # one bar per class of the imported dataset, by its names


def test_a_bad_upload_says_what_is_wrong_and_registers_nothing(own_env, tmp_path):
    data_dir, _ = own_env
    ragged = b"label,p1,p2\n1,2,3\n4,5\n"
    at = import_on_data_page(app("data"), "broken", ragged, "broken.csv")
    errors = texts(at, "error")
    assert "broken.csv" in errors and "Traceback" not in errors
    assert dataset_names(data_dir) == ["mnist", "fashion-mnist"]
    assert sorted(p.name for p in data_dir.iterdir()) == []  # no debris either


def test_an_imported_dataset_is_removed_only_after_saying_yes(own_env, tmp_path):
    data_dir, _ = own_env
    at = import_on_data_page(app("data"), "shapes", csv_bytes(tmp_path, 120))
    assert at.button(key="remove_shapes").disabled
    at.checkbox(key="remove_sure_shapes").check().run()
    at.button(key="remove_shapes").click().run()
    assert not at.exception, at.exception
    assert dataset_names(data_dir) == ["mnist", "fashion-mnist"] and np.all([not p.name.startswith("shapes")
                                                                              for p in data_dir.iterdir()])
