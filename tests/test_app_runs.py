"""Results and Compare driven with AppTest over stored runs (as the CLI makes them) and their outcomes."""

from __future__ import annotations

import pytest
from test_app import app, stored_run, texts

from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

pytestmark = pytest.mark.usefixtures("app_caches")


def test_results_and_compare_show_cli_runs_and_other_outcomes(env):
    data_dir, runs_dir = env
    good = stored_run(runs_dir, data_dir)
    diverged = stored_run(runs_dir, data_dir, hidden=(256, 256), activation="leaky_relu", optimizer="momentum",
                          momentum=0.99, lr=10.0)
    store = RunStore(runs_dir)
    store.update(good, created="2000-01-01T00:00:00+00:00")  # `created` has 1 s resolution: make the order sure
    assert store.info(diverged).status == "diverged"
    at = app("results")
    assert at.selectbox(key="run").value == diverged  # the latest by default
    assert "loss became NaN" in texts(at, "warning")
    at.selectbox(key="run").set_value(good).run()
    assert not at.exception
    assert any(m.label == "Test accuracy" for m in at.metric)
    assert [b.label for b in at.get("download_button")] == ["Weights (safetensors)", "Config (JSON)", "Metrics (CSV)"]
    at.selectbox(key=f"cell_true_{good}").set_value(3).run()
    at.number_input(key="pred_page").set_value(2).run()
    assert not at.exception
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["Status"]) == {"finished", "diverged"} and set(table["From"]) == {"CLI"}
    at.multiselect(key="compare_runs").set_value([good]).run()
    assert not at.exception


def test_delete_asks_for_confirmation(env):
    data_dir, runs_dir = env
    run_id = stored_run(runs_dir, data_dir)
    at = app("compare")
    at.multiselect(key="delete_runs").set_value([run_id]).run()
    at.button(key="delete").click().run()
    assert "cannot be undone" in texts(at, "warning")
    assert RunStore(runs_dir).exists(run_id)
    at.button(key="delete_cancel").click().run()
    assert RunStore(runs_dir).exists(run_id)
    at.multiselect(key="delete_runs").set_value([run_id]).run()
    at.button(key="delete").click().run()
    at.button(key="delete_confirm").click().run()
    assert not at.exception and not RunStore(runs_dir).exists(run_id)
    assert "No runs yet" in texts(at, "info")


def test_a_failed_run_is_explained(env, monkeypatch):
    data_dir, runs_dir = env
    store = RunStore(runs_dir)
    run_id = store.create(TrainConfig().to_dict(), preset=None, owner="cli")
    store.update(run_id, status="failed", message="DataError: the labels file is truncated.")
    at = app("results")
    assert "This run failed: DataError: the labels file is truncated." in texts(at, "error")
    assert "no test evaluation" in texts(at, "info")


def test_unexpected_errors_never_show_a_traceback(env, monkeypatch):
    from mnistlab.runs.store import RunStore as Store

    def broken(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "scan", broken)  # list() reads through scan()
    at = app("compare")
    assert not at.exception
    assert "Something went wrong: RuntimeError: disk on fire" in texts(at, "error")
