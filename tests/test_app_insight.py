"""The Inspect and Draw pages driven with AppTest on tiny runs that recorded layer statistics and snapshots."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from ui.help_texts import CHART_HELP

ROOT = Path(__file__).resolve().parents[1]
TABS = ["Gradient flow", "Weights", "Representations", "Confusion over time", "Saliency", "Side by side", "Diagnose"]
WAIT = 60
pytestmark = pytest.mark.usefixtures("app_caches")


def tiny(**changes) -> TrainConfig:
    return TrainConfig(model=MLPSpec(hidden=(32,)), epochs=2, batch_size=50, optimizer="adam", lr=1e-2,
                       device="cpu").with_(**changes)


@pytest.fixture
def runs(env):
    """A healthy ReLU run and a 4-layer sigmoid run with a tiny learning rate (vanishing gradients)."""
    data_dir, runs_dir = env
    store = RunStore(runs_dir)
    vanishing = run_experiment(tiny(hidden=(50, 50, 50, 50), activation="sigmoid", init="glorot_uniform",
                                    optimizer="sgd", lr=1e-3, epochs=3), store=store, data_dir=data_dir).run_id
    healthy = run_experiment(tiny(), preset="fast", store=store, data_dir=data_dir).run_id
    return {"healthy": healthy, "vanishing": vanishing, "store": store}


def inspect(run_id: str | None = None, tab: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if run_id:
        at.query_params["run"] = run_id
    at.run()
    at.switch_page("pages/inspect.py").run()
    if tab:
        at.session_state["tab"] = tab
        at.run()
    assert not at.exception, at.exception
    return at


def test_inspect_without_runs_points_to_the_lesson(env):
    at = inspect()
    assert "seed003-vanishing" in at.info[0].value


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_with_help_on_every_chart(runs, tab):
    at = inspect(runs["healthy"], tab)
    headings = [m for m in at.markdown if m.value.startswith("**")]
    assert headings, f"{tab} drew no chart heading"
    assert all(m.proto.help in CHART_HELP.values() for m in headings), [m.value for m in headings if not m.proto.help]


def test_vanishing_gradients_are_diagnosed_and_the_fix_opens_on_train(runs):
    at = inspect(runs["vanishing"], "Gradient flow")
    assert any(w.value.startswith("Vanishing gradients: layer 1 gets 1/") for w in at.warning), [w.value for w in at.warning]
    at = inspect(runs["vanishing"], "Diagnose")
    assert any(m.value == "**Vanishing gradients**" for m in at.markdown)
    fix = next(b for b in at.button if b.label.startswith("Try it"))
    assert "activation sigmoid → relu" in fix.label
    fix.click().run()
    assert at.selectbox(key="cfg_activation").value == "relu"
    assert at.number_input(key="cfg_layers").value == 4


def test_healthy_run_says_gradients_reach_every_layer(runs):
    at = inspect(runs["healthy"], "Gradient flow")
    assert any("Gradients reach every layer" in s.value for s in at.success)


def test_confusion_over_time_shows_the_cell_images_of_an_epoch(runs):
    at = inspect(runs["healthy"], "Confusion over time")
    slider = at.select_slider(key=f"confusion_epoch_{runs['healthy']}")
    assert list(slider.options) == ["1", "2"]
    slider.set_value(1).run()
    assert any("after epoch 1" in c.value for c in at.caption)


def test_saliency_and_fgsm_for_a_chosen_image(runs):
    at = inspect(runs["healthy"], "Saliency")
    at.number_input(key=f"saliency_index_{runs['healthy']}").set_value(7).run()
    assert not at.exception
    assert any(m.value.startswith("**Saliency of") for m in at.markdown)


def test_side_by_side_starts_the_missing_twin_then_shows_both(runs):
    from ui import cache

    at = inspect(runs["healthy"], "Side by side")
    at.button(key="start_twin").click().run()
    queue = cache.job_queue()
    job = queue.jobs()[-1]
    assert job.config.dataset == "fashion-mnist" and job.config.model.hidden == (32,)
    if queue.jobs()[-1].active:  # while it trains, the tab says so instead of offering it again
        at = inspect(runs["healthy"], "Side by side")
        assert not [b for b in at.button if b.key == "start_twin"] or not queue.jobs()[-1].active
    assert queue.wait(job.job_id, WAIT).status == "finished"
    at = inspect(runs["healthy"], "Side by side")
    assert [m.value for m in at.markdown if m.value.startswith("####")] == ["#### MNIST (digits)",
                                                                          "#### Fashion-MNIST (clothes)"]
    assert len(at.metric) == 2


# -- Draw ---------------------------------------------------------------------------------------------

def draw(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if run_id:
        at.query_params["run"] = run_id
    at.run()
    at.switch_page("pages/draw.py").run()
    assert not at.exception, at.exception
    return at


def test_draw_without_a_model_offers_to_train(env):
    at = draw()
    assert "No trained model yet" in at.info[0].value


def test_draw_a_test_image_gets_a_prediction(runs):
    at = draw(runs["healthy"])
    at.segmented_control(key="draw_source").set_value("Test image").run()
    assert not at.exception
    assert at.metric[0].label == "Prediction" and at.metric[0].value in [str(c) for c in range(10)]


def test_upload_a_photo_is_converted_mnist_style(runs):
    at = draw(runs["healthy"])
    at.segmented_control(key="draw_source").set_value("Upload").run()
    photo = np.full((300, 200, 3), 235, np.uint8)  # a dark stroke on light paper, not square, colour
    photo[60:240, 90:110] = 20
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG")
    at.file_uploader(key="draw_upload").set_value(("one.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert not at.exception
    assert any("inverted" in c.value for c in at.caption)
    assert at.metric[0].label == "Prediction"


def test_upload_that_is_not_an_image_is_one_error(runs):
    at = draw(runs["healthy"])
    at.segmented_control(key="draw_source").set_value("Upload").run()
    at.file_uploader(key="draw_upload").set_value(("notes.png", b"hello, not a png", "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value
    assert not at.metric
