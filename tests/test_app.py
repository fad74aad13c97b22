"""Every dashboard page driven with Streamlit's AppTest: data present or missing, controls, a live run.

AppTest never fires `run_every` timers, so tests wait on the job queue and then rerun the app.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home", "data", "train", "results", "compare"]
WAIT = 60  # seconds for a tiny job
pytestmark = pytest.mark.usefixtures("app_caches")


@pytest.fixture
def no_data(monkeypatch, tmp_path, runs_dir):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))


def app(page: str = "home", query: dict | None = None) -> AppTest:
    return open_app(page, query, timeout=30)


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def config_json(at: AppTest) -> dict:
    return json.loads(at.code[0].value)


def tiny_settings(at: AppTest, epochs: int = 1) -> None:
    at.number_input(key="cfg_width_0").set_value(16).run()
    at.number_input(key="cfg_epochs").set_value(epochs).run()
    at.select_slider(key="cfg_batch_size").set_value(50).run()


def queue():
    from ui import cache

    return cache.job_queue()


def stored_run(runs_dir: Path, data_dir: Path, **changes) -> str:
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, optimizer="adam", lr=1e-2,
                         device="cpu").with_(**changes)
    return run_experiment(config, preset="fast", store=RunStore(runs_dir), data_dir=data_dir, owner="cli").run_id


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_data(env, page):
    at = app(page)
    assert not at.error, texts(at, "error")
    assert at.title[0].value
    assert at.button_group(key="dataset").value == "mnist"


@pytest.mark.parametrize("page,message", [
    ("home", "is not here yet"), ("data", "is not here yet"), ("train", "not downloaded yet"),
    ("results", "No runs yet"), ("compare", "No runs yet")])
def test_every_page_has_a_designed_empty_state(no_data, page, message):
    at = app(page)
    assert not at.error, texts(at, "error")
    assert message in texts(at, "info") + texts(at, "warning")
    if page == "home":
        assert at.button(key="fetch").label == "Fetch MNIST"
    if page == "train":
        assert at.button(key="start").disabled


def test_fetch_failure_is_one_plain_error(no_data, monkeypatch):
    import mnistlab.data.fetch as fetch
    from mnistlab.errors import FetchError

    monkeypatch.setattr(fetch, "default_sources", lambda info: [])
    monkeypatch.setattr(fetch, "_failure_message", lambda *a: "could not fetch mnist: no network.")
    at = app("home")
    at.button(key="fetch").click().run()
    assert not at.exception and "could not fetch mnist" in texts(at, "error")
    assert FetchError  # the error type the page shows with st.error


def test_controls_change_the_config(env):
    at = app("train")
    assert config_json(at)["model"]["hidden"] == [1024]  # the default preset, "fast"
    at.number_input(key="cfg_layers").set_value(2).run()
    at.number_input(key="cfg_width_1").set_value(64).run()
    at.selectbox(key="cfg_activation").set_value("tanh").run()
    at.slider(key="cfg_dropout").set_value(0.25).run()
    at.selectbox(key="cfg_optimizer").set_value("sgd").run()
    at.select_slider(key="cfg_lr").set_value(0.05).run()
    at.number_input(key="cfg_epochs").set_value(3).run()
    at.slider(key="aug_rotation").set_value(10.0).run()
    at.button_group(key="dataset").set_value("fashion-mnist").run()
    config = config_json(at)
    assert config["model"]["hidden"] == [1024, 64] and config["model"]["activation"] == "tanh"
    assert config["model"]["dropout"] == 0.25 and config["optimizer"] == "sgd" and config["lr"] == 0.05
    assert config["epochs"] == 3 and config["augment"]["rotation"] == 10 and config["dataset"] == "fashion-mnist"
    assert "Changed from the preset" in texts(at, "caption")
    # the settings survive a trip to another page, and the augmentation is shared with Data
    at.switch_page("pages/data.py").run()
    assert at.slider(key="aug_rotation").value == 10.0
    at.switch_page("pages/train.py").run()
    assert config_json(at)["epochs"] == 3


def test_choosing_a_preset_loads_it_everywhere(env):
    at = app("train")
    at.selectbox(key="preset").set_value("seed004-fashion").run()
    config = config_json(at)
    assert config["model"]["hidden"] == [256, 128] and config["epochs"] == 30 and config["lr"] == 0.01
    assert at.button_group(key="dataset").value == "fashion-mnist"
    assert "Published" not in texts(at, "caption") and "Fashion-MNIST" in texts(at, "caption") + texts(at, "markdown")


def test_bad_setting_is_a_plain_error_and_start_is_disabled(env):
    at = app("train")
    at.select_slider(key="cfg_batch_size").set_value(4096).run()  # more than the 600 tiny training images
    at.button(key="start").click().run()
    assert not at.exception
    assert "batch size 4096 is larger" in texts(at, "error")


def test_train_live_then_results_shows_test_accuracy(env):
    at = app("train")
    tiny_settings(at, epochs=2)
    at.button(key="start").click().run()
    job_id = at.session_state["job_id"]
    assert at.query_params["job"] == [job_id] or at.query_params["job"] == job_id
    snap = queue().wait(job_id, WAIT)
    assert snap.status == "finished", snap.message
    at.run()
    assert not at.exception
    assert "Finished: test accuracy" in texts(at, "success")
    assert any(m.label == "Epoch" and m.value == "2/2" for m in at.metric)
    at.switch_page("pages/results.py").run()
    assert not at.exception and not at.error
    metric = next(m for m in at.metric if m.label == "Test accuracy")
    assert metric.value == f"{snap.test_accuracy:.2%}"
    assert at.selectbox(key="run").value == snap.run_id
    # a browser reload (a new session) finds the job again through ?job=...
    again = app("train", query={"job": job_id, "me": at.query_params["me"]})  # a reload keeps the whole address
    assert "Finished: test accuracy" in texts(again, "success")
    assert "another session" not in texts(again, "markdown")  # the reloaded page still owns its job


def test_stop_keeps_a_stopped_run(env):
    at = app("train")
    tiny_settings(at, epochs=500)
    at.select_slider(key="cfg_batch_size").set_value(2).run()  # many steps: still running when we stop
    at.button(key="start").click().run()
    job_id = at.session_state["job_id"]
    at.button(key="stop").click().run()
    snap = queue().wait(job_id, WAIT)
    assert snap.status == "stopped"
    at.run()
    assert not at.exception
    assert "Stopped at epoch" in texts(at, "info")
    assert RunStore(env[1]).info(snap.run_id).status == "stopped"


def test_second_job_waits_in_line_with_its_position(env, monkeypatch):
    import threading

    import mnistlab.jobs as jobs

    gate, real = threading.Event(), jobs.run_experiment
    monkeypatch.setattr(jobs, "run_experiment", lambda *a, **k: (gate.wait(WAIT), real(*a, **k))[1])
    try:
        at = app("train")
        tiny_settings(at)
        at.button(key="start").click().run()
        first = at.session_state["job_id"]
        at.button(key="start").click().run()
        assert at.session_state["job_id"] != first
        assert "Waiting in line: **#1**" in texts(at, "info")
    finally:
        gate.set()
    assert queue().wait(at.session_state["job_id"], WAIT).status == "finished"


def test_data_page_controls(env):
    at = app("data")
    at.button_group(key="data_split").set_value("test").run()
    at.pills(key="data_classes").set_value([3]).run()
    assert "20 images match" in texts(at, "caption")
    at.number_input(key="data_index").set_value(7).run()
    at.selectbox(key="aug_recipe").set_value("affine").run()
    assert at.slider(key="aug_rotation").value == 15.0
    assert not at.exception and not at.error
    at.button_group(key="dataset").set_value("fashion-mnist").run()
    assert at.title[0].value == "Data: Fashion-MNIST"


def test_home_presets_start_or_open_on_train(env):
    at = app("home")
    at.button(key="open_seed004-fashion").click().run()
    assert not at.exception and at.title[0].value == "Train"
    assert config_json(at)["dataset"] == "fashion-mnist" and at.button_group(key="dataset").value == "fashion-mnist"
    home = app("home")
    home.button(key="run_fast").click().run()
    assert not home.exception and home.title[0].value == "Train"
    job_id = home.session_state["job_id"]
    assert queue().snapshot(job_id).preset == "fast"
    queue().stop(job_id)
    assert queue().wait(job_id, WAIT).status in ("stopped", "cancelled")


def test_dataset_switch_is_kept_across_pages(env):
    at = app("home")
    at.button_group(key="dataset").set_value("fashion-mnist").run()
    for page in ["data", "train", "results", "compare", "home"]:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception and at.button_group(key="dataset").value == "fashion-mnist", page
    at.switch_page("pages/data.py").run()
    assert at.title[0].value == "Data: Fashion-MNIST"
    at.switch_page("pages/train.py").run()
    assert config_json(at)["dataset"] == "fashion-mnist"
