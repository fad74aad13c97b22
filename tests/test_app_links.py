"""Links and page switches: Inspect's one-click buttons land on Train, Train's settings live in the URL,
Home's buttons open Train on the live view, and the words of the lessons and the Data page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

from mnistlab.experiment import run_experiment
from mnistlab.lessons import LESSONS
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import Augment, TrainConfig
from ui import links

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("app_caches")


def open_page(page: str, query: dict | None = None) -> AppTest:
    """A fresh browser session (a new tab, a reload, a classmate's machine) opening `page` with `query`."""
    return open_app(page, query)


def url(at: AppTest) -> dict[str, str]:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def shown_config(at: AppTest) -> dict:
    return json.loads(at.code[0].value)  # Train's "Config as JSON" block


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def jobs():
    from ui import cache

    return cache.job_queue().jobs()


@pytest.fixture
def sigmoid_run(env) -> str:
    """A finished 4-layer sigmoid run: Diagnose offers a fix, Side by side offers its Fashion-MNIST twin."""
    data_dir, runs_dir = env
    config = TrainConfig(model=MLPSpec(hidden=(50, 50, 50, 50), activation="sigmoid", init="glorot_uniform"),
                         optimizer="sgd", lr=1e-3, epochs=3, batch_size=50, device="cpu")
    return run_experiment(config, store=RunStore(runs_dir), data_dir=data_dir).run_id


# -- 1. Inspect's buttons, while its tabs are bound to the URL (?tab=...) --------------------------------

def test_a_diagnosis_fix_lands_on_train_with_the_fix(sigmoid_run):
    at = open_page("inspect", {"run": sigmoid_run, "tab": "Diagnose"})
    fix = next(b for b in at.button if b.label.startswith("Try it"))
    fix.click().run()
    assert not at.exception and not at.error, texts(at, "error")
    assert at.title[0].value == "Train"
    assert at.selectbox(key="cfg_activation").value == "relu" and at.number_input(key="cfg_layers").value == 4
    assert "tab" not in at.query_params  # Inspect's parameter stays behind


def test_the_twin_button_lands_on_train_and_queues_the_twin_once(sigmoid_run):
    at = open_page("inspect", {"run": sigmoid_run, "tab": "Side by side"})
    assert not jobs()
    at.button(key="start_twin").click().run()
    assert not at.exception and "Something went wrong" not in texts(at, "error"), texts(at, "error")
    assert at.title[0].value == "Train"
    queued = jobs()
    assert len(queued) == 1 and queued[0].config.dataset == "fashion-mnist"
    assert at.session_state["job_id"] == queued[0].job_id and url(at)["job"] == queued[0].job_id
    at.run()  # the next redraw starts nothing more
    assert len(jobs()) == 1


# -- 2. Train's settings in the URL --------------------------------------------------------------------

def test_settings_go_to_the_url_and_a_fresh_session_gets_them_back(env):
    at = open_page("train")
    assert url(at) == {"preset": "fast"}  # nothing changed from the preset: a short link
    at.number_input(key="cfg_layers").set_value(2).run()
    at.number_input(key="cfg_width_1").set_value(64).run()
    at.selectbox(key="cfg_activation").set_value("tanh").run()
    at.number_input(key="cfg_epochs").set_value(5).run()
    at.slider(key="aug_rotation").set_value(10.0).run()
    at.toggle(key="aug_hflip").set_value(True).run()
    at.button_group(key="dataset").set_value("fashion-mnist").run()
    link = url(at)
    assert link == {"preset": "fast", "dataset": "fashion-mnist", "epochs": "5", "hidden": "1024,64",
                    "activation": "tanh", "rotation": "10", "hflip": "true"}
    again = open_page("train", link)
    assert shown_config(again) == shown_config(at)
    assert again.button_group(key="dataset").value == "fashion-mnist"
    assert again.selectbox(key="preset").value == "fast" and not again.info[0].value.startswith("Ignored")
    assert "Changed from the preset" in texts(again, "caption")


def test_a_reload_mid_run_keeps_the_job_and_the_settings(env):
    at = open_page("train")
    at.number_input(key="cfg_width_0").set_value(16).run()
    at.select_slider(key="cfg_batch_size").set_value(50).run()
    at.number_input(key="cfg_epochs").set_value(300).run()
    at.button(key="start").click().run()
    job_id = at.session_state["job_id"]
    link = url(at)
    assert link["job"] == job_id and link["epochs"] == "300"
    again = open_page("train", link)
    assert again.session_state["job_id"] == job_id
    assert shown_config(again) == shown_config(at) == jobs()[-1].config.to_dict()


def test_copy_link_gives_the_full_settings_without_the_job(env):
    at = open_page("train")
    at.selectbox(key="preset").set_value("seed004-fashion").run()
    at.number_input(key="cfg_epochs").set_value(2).run()
    link = next(c.value for c in at.code if "preset=" in c.value)
    assert link.endswith("?preset=seed004-fashion&epochs=2") and "job=" not in link


def test_bad_values_in_the_url_are_a_notice_not_an_error(env):
    at = open_page("train", {"epochs": "banana", "activation": "swish", "zzz": "1", "hidden": "256,128",
                             "preset": "nope", "lr": "0.0123", "layers": "x"})
    assert not at.exception and not at.error, texts(at, "error")
    notice = at.info[0].value
    for name in ("epochs=banana", "activation=swish", "zzz=1", "preset=nope", "layers=x"):
        assert name in notice, notice
    assert "lr 0.0123 → 0.01" in notice  # not on the slider: the nearest value, and it says so
    config = shown_config(at)
    assert config["model"]["hidden"] == [256, 128]  # the good values are kept
    assert config["epochs"] == 3 and config["model"]["activation"] == "relu"  # fast's, for the bad ones
    at.run()
    assert not at.info[0].value.startswith("Ignored")  # said once


def test_values_beyond_the_controls_or_valid_only_together_do_not_break_the_page(env):
    at = open_page("train", {"hidden": "64,64,64,64,64,64,64,64", "epochs": "5000", "engine": "numpy",
                             "optimizer": "sgd", "schedule": "none", "activation": "relu"})
    assert not at.exception and not at.error, texts(at, "error")
    config = shown_config(at)
    assert config["engine"] == "numpy" and config["optimizer"] == "sgd"  # applied once the others were
    assert config["epochs"] == 1000 and len(config["model"]["hidden"]) == 6  # the controls' limits
    assert "epochs 5000 → 1000" in at.info[0].value


def test_url_values_round_trip_for_every_field():
    config = TrainConfig(dataset="fashion-mnist", model=MLPSpec(hidden=(), activation="gelu", input_scale="standardize"),
                         lr=3e-4, train_subset=0.25, test_subset=500, seed=2**31 - 1,
                         augment=Augment(scale_min=0.9, scale_max=1.2, hflip=True))
    for preset in ("fast", "custom"):
        params = links.encode(config, preset)
        assert links.decode(params) == (preset, config, [])
    assert links.encode(config, "custom")["hidden"] == "none"


# -- 3. Home's buttons open Train on the live view; the lessons promise epochs --------------------------

@pytest.mark.parametrize("button", ["run_fast", "lesson_1_fast"])
def test_home_buttons_open_train_scrolled_to_the_live_view(env, button):
    at = open_page("home")
    at.button(key=button).click().run()
    assert not at.exception and at.title[0].value == "Train"
    assert any(h.value == "Live" and h.proto.anchor == "live" for h in at.subheader)
    script = [h for h in at.html if "scrollIntoView" in h.proto.body]
    assert len(script) == 1 and '"live"' in script[0].proto.body
    assert url(at)["job"] == at.session_state["job_id"]
    at.run()
    assert not [h for h in at.html if "scrollIntoView" in h.proto.body]  # once, not on every redraw


def test_lessons_promise_epochs_or_measured_seconds():
    first = LESSONS[0]
    assert "in seconds" not in first.title and "2 epochs" in first.title
    assert "2-core CPU" in first.watch  # a time comes with the machine it was measured on


def test_guided_path_says_epochs_on_each_button(env):
    at = open_page("home")
    assert "few seconds" not in texts(at, "caption")
    assert at.button(key="lesson_1_fast").label == "Train fast · 3 epochs"


# -- 4. The Data page's words --------------------------------------------------------------------------

@pytest.mark.parametrize("dataset,thing", [("mnist", "digit"), ("fashion-mnist", "garment")])
def test_class_means_are_described_as_what_they_are(env, dataset, thing):
    at = open_page("home")
    at.button_group(key="dataset").set_value(dataset).run()
    at.switch_page("pages/data.py").run()
    means = next(m.value for m in at.markdown if m.value.startswith("**Average image of each class**"))
    assert "averaged pixel by pixel" in means and f"typical {thing}" in means
    assert "no hidden layer" not in means and ("digit" not in means or dataset == "mnist")


def test_compare_selection_is_a_link_and_unknown_runs_are_a_notice(env):
    from mnistlab.experiment import run_experiment
    from mnistlab.models.spec import MLPSpec
    from mnistlab.runs.store import RunStore
    from mnistlab.train.config import TrainConfig

    _, runs_dir = env
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, device="cpu")
    ids = [run_experiment(config.with_(seed=s), store=RunStore(runs_dir), owner="cli").run_id for s in (0, 1, 2)]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["runs"] = f"{ids[1]},20990101-000000-mnist-gone-abcdef"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="compare_runs").value == [ids[1]]
    assert any("Ignored from the link" in str(c.value) for c in at.caption)
    at.multiselect(key="compare_runs").set_value([ids[0], ids[2]]).run()
    assert at.query_params["runs"] == [f"{ids[0]},{ids[2]}"] or at.query_params["runs"] == f"{ids[0]},{ids[2]}"
