"""Results and Compare driven with AppTest over stored runs (as the CLI makes them) and their outcomes."""

from __future__ import annotations

import time

import pytest
from test_app import app, stored_run, texts

from mnistlab.export import bundle_names, config_json, weights_bytes
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
    assert [b.label for b in at.get("download_button")] == ["Weights (safetensors)", "Config (JSON)", "Metrics (CSV)",
                                                            "Model (ONNX)", "Script (PyTorch)"]
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


def _downloaded(runs_dir, run_id) -> list[tuple[str, bytes, str]]:
    """The two files Results downloads for a run, as the Compare page's uploader receives them."""
    run = RunStore(runs_dir).open(run_id)
    weights, config = bundle_names(run_id)
    return [(weights, weights_bytes(run), "application/octet-stream"),
            (config, config_json(run).encode(), "application/json")]


def test_a_run_downloaded_from_results_imports_on_compare_and_opens_everywhere(env, tmp_path):
    data_dir, runs_dir = env  # the student's store, empty
    teacher = tmp_path / "teacher-runs"
    handed_out = _downloaded(teacher, stored_run(teacher, data_dir))
    at = app("compare")
    assert "No runs yet" in texts(at, "info")
    at.file_uploader(key="run_import_files").set_value(handed_out).run()
    at.button(key="run_import_go").click().run()
    assert not at.exception and not at.error, texts(at, "error")
    (imported,) = RunStore(runs_dir).list()
    assert f"Imported **{imported.run_id}**: imported from run" in texts(at, "success")
    assert set(at.dataframe[0].value["From"]) == {"you"}
    for page in ("results", "inspect", "draw"):
        at = app(page, {"run": imported.run_id})
        assert not at.error, texts(at, "error")
    at = app("results", {"run": imported.run_id})
    assert any(m.label == "Test accuracy" for m in at.metric)
    assert "Imported from run" in texts(at, "info")


def test_a_bad_upload_on_compare_shows_the_cores_sentence_and_imports_nothing(env):
    data_dir, runs_dir = env
    good = stored_run(runs_dir, data_dir)
    (_, _, _), (config, data, mime) = _downloaded(runs_dir, good)
    at = app("compare")
    forged = [("model.safetensors", b"\x80\x04not really a pickle", "application/octet-stream"), (config, data, mime)]
    at.file_uploader(key="run_import_files").set_value(forged).run()
    at.button(key="run_import_go").click().run()
    assert not at.exception
    assert "'model.safetensors' is a pickle (torch.save) file, which mnistlab never opens" in texts(at, "error")
    assert [r.run_id for r in RunStore(runs_dir).list()] == [good]


def test_continue_training_queues_a_run_that_carries_on_and_compare_draws_one_line(env):
    data_dir, runs_dir = env
    parent = stored_run(runs_dir, data_dir)
    store = RunStore(runs_dir)
    at = app("results")
    at.number_input(key="resume_epochs").set_value(2).run()
    at.button(key="resume_start").click().run()
    assert not at.exception and not at.error, texts(at, "error")
    assert "to epoch 3" in texts(at, "success")
    deadline = time.monotonic() + 60
    while not (children := [r for r in store.list() if r.run_id != parent and r.status == "finished"]):
        assert time.monotonic() < deadline, "the continued run did not finish"
        time.sleep(0.1)
    child = store.open(children[0].run_id)
    assert child.parent == parent and [row["epoch"] for row in child.history()] == [1, 2, 3]
    assert child.history()[0] == store.open(parent).history()[0]
    at.switch_page("pages/compare.py").run()
    at.multiselect(key="compare_runs").set_value([parent, child.run_id]).run()
    assert not at.exception
    spec = next(c.proto.spec for c in at.get("plotly_chart") if "Test accuracy" in c.proto.spec)
    # One line, the child's: the parent's id appears only in "continues …", never as a line of its own.
    assert spec.count(f"continues {parent[-6:]}") >= 1 and spec.count(parent[-6:]) == spec.count(f"continues {parent[-6:]}")
