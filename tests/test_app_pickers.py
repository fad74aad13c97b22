"""Run pickers name status and accuracy, open on the best runs, and the "stalled" status shows everywhere."""

from __future__ import annotations

import json

import pytest
from test_app import app, stored_run, texts

from mnistlab.runs.store import RunStore

pytestmark = pytest.mark.usefixtures("app_caches")
STALL = "did not learn: the training loss barely fell (2.3 → 2.29); try another learning rate"


@pytest.fixture
def runs(env):
    """Four runs, oldest first: two good ones (the older one better), one stalled, one failed (newest)."""
    data_dir, runs_dir = env
    store = RunStore(runs_dir)
    ids = {name: stored_run(runs_dir, data_dir) for name in ("best", "good", "stalled", "failed")}
    for k, (name, accuracy, status) in enumerate([("best", 0.93, "finished"), ("good", 0.81, "finished"),
                                                  ("stalled", 0.1, "stalled"), ("failed", None, "failed")]):
        store.update(ids[name], created=f"2001-01-01T00:00:0{k}+00:00", status=status, test_accuracy=accuracy,
                     message=STALL if status == "stalled" else "RuntimeError: boom" if status == "failed" else "")
    return ids


def test_pickers_name_status_accuracy_and_recipe(runs):
    at = app("results")
    labels = at.selectbox(key="run").options
    assert any("· fast (changed) ·" in label and "· finished · 93.00%" in label for label in labels)
    assert any("· stalled · 10.00%" in label for label in labels) and any("· failed" in label for label in labels)


def test_draw_and_compare_open_on_the_best_finished_runs(runs):
    at = app("draw")
    assert not at.exception
    assert at.selectbox(key="draw_run").value == runs["best"]  # not the newest, which failed or stalled
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error
    assert at.multiselect(key="compare_runs").value == [runs["best"], runs["good"]]


def test_results_never_opens_on_a_failed_run_while_a_good_one_exists(runs):
    at = app("results")
    assert at.selectbox(key="run").value == runs["stalled"]  # the newest with results: it says it did not learn
    assert "This run did not learn" in texts(at, "warning") and STALL in texts(at, "warning")


def test_published_figure_only_for_a_run_of_the_recipe_as_published(runs, env):
    store = RunStore(env[1])
    store.update(runs["best"], preset="seed000-mlp", preset_changes=["epochs 10 → 1"])  # named after it, changed
    at = app("results", query={"run": runs["best"]})
    metric = next(m for m in at.metric if m.label == "Test accuracy")
    assert not metric.delta  # not compared with the 97% its source published for the full recipe
    store.update(runs["best"], preset_changes=[])  # the same run, as if it were the recipe unchanged
    at = app("results", query={"run": runs["best"]})
    metric = next(m for m in at.metric if m.label == "Test accuracy")
    assert "vs published" in metric.delta


def test_a_record_run_is_compared_with_its_target(runs, env):
    RunStore(env[1]).update(runs["best"], preset="best-mlp-augment", preset_changes=[])  # no published figure
    at = app("results", query={"run": runs["best"]})
    metric = next(m for m in at.metric if m.label == "Test accuracy")
    assert metric.delta.endswith("vs target 99.4%")


def test_compare_table_fits_and_charts_the_comparable_test_loss(runs):
    at = app("compare")
    table = at.dataframe[0].value
    assert list(table.columns) == ["Created", "Status", "Test accuracy", "Dataset", "Recipe", "Model", "Training",
                                   "Epochs", "Time", "From", "ID"]
    assert set(table["Status"]) == {"finished", "stalled", "failed"}
    assert set(table["Recipe"]) == {"fast (changed)"}
    spec = json.loads(at.dataframe[0].proto.columns)
    assert sum(c.get("width", 0) for c in spec.values()) <= 940 and all("width" in spec[c] for c in table.columns)  # px: a 1400 px window with the sidebar open
    titles = [json.loads(e.proto.spec)["layout"]["title"]["text"] for e in at.get("plotly_chart")]
    assert "Test loss" in titles and "Training loss" not in titles
    assert "label smoothing" in texts(at, "caption")
