"""The bad-import table of `test_ingest_bad` through its third door: an upload on the Data page.

Every case that is one uploaded file (a CSV, an IDX images file with its labels, an .npz, a .zip) must end in
the same sentence as the core's, naming the uploaded file instead of its folder, in an error box; nothing
is registered and the data directory is exactly as it was.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from ingest_helpers import tree
from test_app import app, texts
from test_ingest_bad import CASES, _one_sentence, two_classes

from mnistlab.errors import MnistlabError
from mnistlab.ingest import import_dataset, limits

pytestmark = pytest.mark.usefixtures("app_caches")
PAGE_OPTIONS = {"train", "test", "classes"}  # what the page's import offers besides the name
NOT_ON_THE_PAGE = {"missing-file", "existing-name", "foreign-folder", "test-and-fraction", "fraction-out-of-range",
                   "test-labels-without-test", "unsafe-zip-entry"}  # paths, flags and zips the page cannot produce


def _zip(folder, target):
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent))
    return target


def _uploads(path):
    """What a browser sends for `path`: the file, an IDX file with its labels beside it, a folder zipped."""
    if path.is_dir():
        path = _zip(path, path.with_suffix(".zip"))
        return [(path.name, path.read_bytes())]
    files = [(path.name, path.read_bytes())]
    beside = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if beside != path and beside.exists():
        files.append((beside.name, beside.read_bytes()))
    return files


PAGE_CASES = [c for c in CASES if c.id not in NOT_ON_THE_PAGE]


@pytest.mark.parametrize("case", PAGE_CASES, ids=[c.id for c in PAGE_CASES])
def test_bad_upload_on_the_data_page_is_the_cores_sentence(case, tmp_path, monkeypatch):
    data, folder = tmp_path / "data", tmp_path / "case"
    folder.mkdir()
    seed = tmp_path / "seed"
    seed.mkdir()
    import_dataset("kept", two_classes(seed), data_dir=data)
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(data))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(tmp_path / "runs"))
    for key, value in case.limits.items():
        monkeypatch.setattr(limits, key, value)
    kwargs = case.make(folder)
    if set(kwargs) - PAGE_OPTIONS:
        pytest.skip(f"{case.id}: needs {', '.join(sorted(set(kwargs) - PAGE_OPTIONS))}, which only the CLI has")
    before = tree(data)
    at = app("data")
    at.text_input(key="import_name").set_value(case.name).run()
    train = _uploads(kwargs["train"])
    at.file_uploader(key="import_train").set_value([(n, b, "application/octet-stream") for n, b in train]).run()
    if "test" in kwargs:
        test = _uploads(kwargs["test"])
        at.file_uploader(key="import_test").set_value([(n, b, "application/octet-stream") for n, b in test]).run()
    if "classes" in kwargs:
        at.text_input(key="import_classes").set_value(kwargs["classes"]).run()
    at.button(key="import_go").click().run()
    assert not at.exception, at.exception
    (error,) = [e.value for e in at.error]
    if kwargs["train"].is_dir():  # uploaded as a .zip: the core's sentence for that same zip
        core = {**kwargs, "train": kwargs["train"].with_suffix(".zip")}
        with pytest.raises(MnistlabError) as caught:
            import_dataset(case.name, data_dir=tmp_path / "elsewhere", **core)
        assert error == str(caught.value).replace(f"{folder}/", ""), error
        _one_sentence(error, re.escape(error))
    else:
        _one_sentence(error, case.message.replace("{d}/", "").replace("{data}", re.escape(str(data))))
    assert tree(data) == before and not texts(at, "success")
