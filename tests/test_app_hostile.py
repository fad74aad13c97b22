"""Damaged run folders and hostile uploads on the dashboard's pages: a damaged run is named, never a page-wide error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_helpers import open_app

from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home", "results", "inspect", "draw", "compare"]
pytestmark = pytest.mark.usefixtures("app_caches")

DAMAGE = {  # run file → content: each makes the run unreadable as a whole
    "config.json": "[1, 2]",
    "run.json": '{"status": "finished", "test_accuracy": "high"}',
    "config.json-no-config": '{"preset": null}',
}


@pytest.fixture
def two_runs(env):
    """One good run and a copy of it whose `name` file the test damages."""
    _, runs_dir = env
    store = RunStore(runs_dir)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, device="cpu")
    good = run_experiment(config, preset=None, store=store, owner="cli").run_id
    bad = good[:-6] + "bad000"
    shutil.copytree(store.path(good), store.path(bad))
    return store, good, bad


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("page", PAGES)
def test_one_damaged_run_never_breaks_a_page(two_runs, page, damage):
    store, good, bad = two_runs
    (store.path(bad) / damage.split("-")[0]).write_text(DAMAGE[damage])
    at = open_app(page, check=False)
    assert not at.exception, at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "Something went wrong" not in errors, errors
    shown = " ".join(str(x.value) for x in [*at.markdown, *at.caption, *at.warning, *at.info, *at.success])
    shown += " ".join(str(getattr(box, "value", "")) for box in at.selectbox)
    if page == "compare":
        assert any(bad in str(w.value) for w in at.warning), "the damaged run is named with its fix"
    if page in ("results", "inspect", "draw"):
        assert at.selectbox(key={"results": "run", "inspect": "inspect_run", "draw": "draw_run"}[page]).value == good


def test_a_stored_spec_too_big_for_this_machine_is_an_error_box_not_a_crash(two_runs):
    from safetensors.torch import save_file

    store, good, bad = two_runs
    huge = MLPSpec(hidden=(65_536, 65_536, 65_536))
    import torch

    save_file({"x": torch.zeros(1)}, str(store.path(good) / "model.safetensors"),
              metadata={"mnistlab_spec": huge.to_json()})
    at = open_app("results", {"run": good}, check=False)
    assert not at.exception, at.exception
    tabs_errors = " ".join(str(e.value) for e in at.error)
    assert "Something went wrong" not in tabs_errors


@pytest.mark.parametrize("name,mime", [("a.svg", "image/svg+xml"), ("a.ppm", "image/x-portable-pixmap"),
                                       ("a.ico", "image/x-icon"), ("a.png", "image/png")])
def test_an_upload_on_draw_of_any_type_is_a_sentence_never_an_exception(two_runs, name, mime):
    store, good, _ = two_runs
    at = open_app("draw", {"run": good})
    at.segmented_control(key="draw_source").set_value("Upload").run()
    content = b'<svg xmlns="http://www.w3.org/2000/svg"/>' if name.endswith("svg") else b"\x00\x01 not an image"
    at.file_uploader(key="draw_upload").set_value((name, content, mime)).run()
    assert not at.exception, at.exception
    assert any("not an image file mnistlab can read" in str(e.value) for e in at.error), [e.value for e in at.error]
