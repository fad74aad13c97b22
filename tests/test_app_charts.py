"""Charts that do not mislead (fixed accuracy axes, chance level, label smoothing), clickable confusion
matrices on Results and Inspect, lasso selection on Representations, and Inspect's linkable epoch and image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.proto.PlotlyChart_pb2 import PlotlyChart as PlotlyChartProto
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from test_app import stored_run

from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from ui import charts, confusion
from ui.inspect import charts as insight_charts

ROOT = Path(__file__).resolve().parents[1]
CLASSES = tuple("0123456789")
FLAT = [{"epoch": e, "train_loss": 2.30, "train_accuracy": 0.096 + e / 1000, "test_loss": 2.30,
         "test_accuracy": 0.106 - e / 1000} for e in (1, 2, 3)]  # a run stuck at chance level


def chance_shapes(fig) -> list:
    return [s for s in fig.layout.shapes if s.line.dash == "dash"]


# -- figure builders -------------------------------------------------------------------------------

def test_flat_accuracy_stays_flat_on_a_fixed_axis_with_the_chance_line():
    _, acc = charts.curves(FLAT)
    assert tuple(acc.layout.yaxis.range) == (0, 1)
    [line] = chance_shapes(acc)
    assert line.y0 == line.y1 == pytest.approx(0.1)
    assert any(a.text == "chance (10%)" for a in acc.layout.annotations)
    _, acc = charts.curves(FLAT, classes=4)
    assert chance_shapes(acc)[0].y0 == pytest.approx(0.25)


def test_zoom_fits_the_data_and_says_so():
    _, acc = charts.curves(FLAT, zoom=True)
    low, high = acc.layout.yaxis.range
    assert 0 < low < 0.096 and 0.106 < high < 0.2 and high - low >= 0.02  # noise is never blown up to full height
    assert acc.layout.title.text == "Accuracy (zoomed)"


def test_label_smoothing_is_explained_on_the_loss_chart():
    loss, _ = charts.curves(FLAT, label_smoothing=0.1)
    assert any("label smoothing 0.1" in a.text and "test" in a.text for a in loss.layout.annotations)
    plain, _ = charts.curves(FLAT)
    assert not plain.layout.annotations


def test_per_class_and_compare_charts_start_at_zero_unless_zoomed():
    bar = charts.per_class_bar([0.9, 0.95] * 5, CLASSES)
    assert tuple(bar.layout.yaxis.range) == (0, 1) and chance_shapes(bar)
    zoomed = charts.per_class_bar([0.9, 0.95] * 5, CLASSES, zoom=True)
    assert zoomed.layout.yaxis.range[0] > 0.8 and "zoomed" in zoomed.layout.title.text
    assert not chance_shapes(zoomed)  # 10% is off this axis
    history = {"a": pd.DataFrame(FLAT)}
    compare = charts.compare_curves(history, "test_accuracy", "Test accuracy", percent=True)
    assert tuple(compare.layout.yaxis.range) == (0, 1) and chance_shapes(compare)[0].y0 == pytest.approx(0.1)
    assert not chance_shapes(charts.compare_curves(history, "test_accuracy", "T", percent=True, chance=None))
    assert not charts.compare_curves(history, "train_loss", "Training loss").layout.shapes
    assert tuple(charts.compare_per_class({"a": [0.9] * 10}, CLASSES).layout.yaxis.range) == (0, 1)


def test_confusion_heatmap_has_a_clickable_marker_per_cell_and_outlines_the_pick():
    matrix = np.arange(100).reshape(10, 10)
    fig = charts.confusion_heatmap(matrix, CLASSES, selected=(2, 7))
    cells = fig.data[confusion.CELL_LAYER]
    assert cells.type == "scatter" and len(cells.x) == 100
    k = 2 * 10 + 7
    assert (cells.y[k], cells.x[k]) == ("2", "7") and list(cells.customdata[k]) == [2, 7, 27]
    [outline] = fig.layout.shapes
    assert (outline.x0, outline.y0) == (6.5, 1.5)
    assert fig.layout.xaxis.fixedrange and fig.layout.yaxis.fixedrange  # a drag must not pan the matrix away


def test_representations_drag_draws_a_lasso():
    points = np.random.default_rng(0).normal(size=(20, 2))
    fig = insight_charts.scatter_2d(points, np.arange(20) % 10, CLASSES, np.arange(20), None)
    assert fig.layout.dragmode == "lasso"


# -- picking a confusion cell ----------------------------------------------------------------------

def test_worst_cell_is_the_most_common_mistake():
    matrix = np.diag([50] * 10)
    matrix[4, 9], matrix[7, 1] = 6, 3
    assert confusion.worst_cell(matrix) == (4, 9)
    assert matrix[4, 4] == 50  # the caller's matrix is untouched
    assert confusion.worst_cell(np.diag([1, 5, 2])) == (1, 1)  # no mistakes: the fullest diagonal cell


def event(*cells, curve: int = confusion.CELL_LAYER) -> dict:
    """A selection state as Streamlit's frontend sends it for clicked markers of confusion_heatmap."""
    return {"selection": {"points": [{"curve_number": curve, "point_number": t * 10 + p, "point_index": t * 10 + p,
                                      "x": str(p), "y": str(t), "customdata": [t, p, 1]} for t, p in cells],
                          "point_indices": [t * 10 + p for t, p in cells], "box": [], "lasso": []}}


def test_a_click_event_maps_to_its_cell_and_sets_both_selectboxes():
    assert confusion.clicked_cell(event((3, 5))) == (3, 5)
    assert confusion.clicked_cell(event()) is None and confusion.clicked_cell(None) is None
    assert confusion.clicked_cell(event((3, 5), curve=0)) is None  # not the cell layer
    state = {"chart": event((8, 2)), "t": 0, "p": 1}
    assert confusion.apply_click(state, "chart", ("t", "p")) == (8, 2)
    assert (state["t"], state["p"]) == (8, 2)
    state["chart"] = event()  # a click that cleared the selection keeps the last pick
    confusion.apply_click(state, "chart", ("t", "p"))
    assert (state["t"], state["p"]) == (8, 2)


def chart(at: AppTest, key: str):
    """The proto of the plotly chart drawn with `key` (AppTest has no Plotly element of its own)."""
    found = [e.proto for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [e.proto.id for e in at.get("plotly_chart")]
    return found[0]


def click(at: AppTest, key: str, true: int, pred: int) -> AppTest:
    """Rerun as if the user clicked cell (true, pred) of chart `key`: the widget state the frontend would send."""
    proto = chart(at, key)
    assert list(proto.selection_mode) == [PlotlyChartProto.SelectionMode.POINTS]
    states = at._tree.get_widget_states()  # AppTest cannot click a chart: send its selection like the browser
    state = WidgetState(id=proto.id, string_value=json.dumps(event((true, pred))))
    states.widgets.append(state)
    at._run(states)
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("app_caches")
def test_clicking_a_results_confusion_cell_selects_it(env):
    data_dir, runs_dir = env
    run_id = stored_run(runs_dir, data_dir, optimizer="sgd", lr=1e-3)  # barely trained: it makes mistakes
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/results.py").run()
    assert not at.exception, at.exception
    true, pred = at.selectbox(key=f"cell_true_{run_id}"), at.selectbox(key=f"cell_pred_{run_id}")
    assert any("most common mistake is preselected" in c.value for c in at.caption)
    worst = (true.value, pred.value)
    target = (6, 6) if worst != (6, 6) else (5, 5)
    click(at, "confusion", *target)
    assert (at.selectbox(key=f"cell_true_{run_id}").value, at.selectbox(key=f"cell_pred_{run_id}").value) == target
    assert not any("preselected" in c.value for c in at.caption)
    assert any("you picked this cell; the most common mistake is" in c.value for c in at.caption)
    assert any(f"images of **{target[0]}** predicted as **{target[1]}**" in c.value for c in at.caption)
    spec = json.loads(chart(at, "confusion").spec)
    assert spec["layout"]["shapes"][0]["x0"] == target[1] - 0.5  # the clicked cell is outlined
    at.selectbox(key=f"cell_true_{run_id}").set_value(2).run()  # the keyboard path still works after a click
    assert at.selectbox(key=f"cell_true_{run_id}").value == 2 and not at.exception


# -- Inspect -----------------------------------------------------------------------------------------

@pytest.fixture
def run(env):
    """A tiny ReLU run that saved per-epoch weights and confusion matrices (epochs 0, 1, 2)."""
    data_dir, runs_dir = env
    config = TrainConfig(model=MLPSpec(hidden=(32,)), epochs=2, batch_size=50, optimizer="adam", lr=1e-2,
                         device="cpu")
    return run_experiment(config, preset="fast", store=RunStore(runs_dir), data_dir=data_dir).run_id


def inspect(run_id: str, tab: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"run": run_id, "tab": tab, **query})
    at.run()
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("app_caches")
def test_clicking_a_cell_of_the_confusion_over_time(run):
    at = inspect(run, "Confusion over time")
    click(at, "confusion_time", 3, 8)
    assert (at.selectbox(key=f"time_true_{run}").value, at.selectbox(key=f"time_pred_{run}").value) == (3, 8)
    at.select_slider(key=f"confusion_epoch_{run}").set_value(1).run()  # the pick follows the epochs
    assert at.selectbox(key=f"time_true_{run}").value == 3
    assert any("of **3** predicted as **8** after epoch 1" in c.value for c in at.caption)
    assert at.query_params["epoch"] == "1"  # the slider is kept in the URL


@pytest.mark.usefixtures("app_caches")
def test_a_linked_epoch_opens_there_and_a_bad_one_is_a_notice(run):
    at = inspect(run, "Weights", epoch="1")
    assert at.select_slider(key=f"weights_epoch_{run}").value == 1
    at = inspect(run, "Weights", epoch="99")
    assert at.select_slider(key=f"weights_epoch_{run}").value == 2 and not at.error
    assert any("Ignored `?epoch=99`" in c.value for c in at.caption)
    at = inspect(run, "Confusion over time", epoch="two")
    assert any("Ignored `?epoch=two`" in c.value for c in at.caption)
    assert at.query_params["epoch"] == "2"


@pytest.mark.usefixtures("app_caches")
def test_a_linked_saliency_image_and_a_bad_one(run):
    at = inspect(run, "Saliency", image="7")
    assert at.number_input(key=f"saliency_index_{run}").value == 7
    at.number_input(key=f"saliency_index_{run}").set_value(9).run()
    assert at.query_params["image"] == "9"
    at = inspect(run, "Saliency", image="-3")
    assert at.number_input(key=f"saliency_index_{run}").value == 0 and not at.error
    assert any("Ignored `?image=-3`" in c.value for c in at.caption)


@pytest.mark.usefixtures("app_caches")
def test_representations_select_by_lasso_with_the_mode_bar_shown(run):
    at = inspect(run, "Representations")
    proto = chart(at, "projection")
    assert json.loads(proto.config)["displayModeBar"] is True
    assert json.loads(proto.spec)["layout"]["dragmode"] == "lasso"
    assert set(proto.selection_mode) == {PlotlyChartProto.SelectionMode.POINTS, PlotlyChartProto.SelectionMode.BOX,
                                         PlotlyChartProto.SelectionMode.LASSO}


@pytest.mark.usefixtures("app_caches")
def test_an_unknown_tab_in_the_link_is_a_notice(run):
    at = inspect(run, "Nonsense")
    assert not at.error and any("Ignored `?tab=Nonsense`" in c.value for c in at.caption)


def test_a_steered_learning_rate_is_marked_on_results_and_compare_curves():
    import pandas as pd

    change = {"step": 31, "epoch": 2, "lr": 0.001, "scheduled": 0.01, "at": 1.5}
    rows = pd.DataFrame([{"epoch": 1, "train_loss": 1.0, "test_loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.5,
                          "lr_changes": []},
                         {"epoch": 2, "train_loss": 0.5, "test_loss": 0.6, "train_accuracy": 0.8, "test_accuracy": 0.7,
                          "lr_changes": [change]}])
    loss, accuracy = charts.curves(rows)
    compared = charts.compare_curves({"run a": rows}, "test_accuracy", "Test accuracy", percent=True)
    for fig in (loss, accuracy, compared):
        assert [shape.x0 for shape in fig.layout.shapes if shape.type == "line" and shape.x0 == 1.5] == [1.5]
        assert any(a.text == "lr → 0.001" for a in fig.layout.annotations)
    assert charts.lr_changes(rows.drop(columns=["lr_changes"])) == []
