"""The live view with AppTest: many sessions at once, second tabs, the ETA warm-up, running accuracy, stalls.

AppTest never fires `run_every` timers, so tests wait on the job queue and then rerun each app.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from test_app import WAIT, app, queue, texts, tiny_settings

from mnistlab.runs.store import RunStore
from ui.live import NOT_YOURS

pytestmark = pytest.mark.usefixtures("app_caches")
SESSIONS = 10


@pytest.fixture
def gate(monkeypatch):
    """Workers wait at the gate until the test opens it (then they train for real)."""
    import mnistlab.jobs as jobs

    opened, real = threading.Event(), jobs.run_experiment
    monkeypatch.setattr(jobs, "run_experiment", lambda *a, **k: (opened.wait(WAIT), real(*a, **k))[1])
    yield opened
    opened.set()


def charts_named(at, title: str) -> list[dict]:
    """The plotly figures on the page whose title starts with `title`, as JSON."""
    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    return [f for f in figures if str(f["layout"].get("title", {}).get("text", "")).startswith(title)]


def test_ten_sessions_each_reach_finished_with_their_own_accuracy(env, gate):
    sessions = []
    for k in range(SESSIONS):
        at = app("train")
        tiny_settings(at)
        at.number_input(key="cfg_seed").set_value(100 + k).run()
        at.button(key="start").click().run()
        assert not at.exception, at.exception
        sessions.append(at)
    job_ids = [at.session_state["job_id"] for at in sessions]
    assert len(set(job_ids)) == SESSIONS
    for k, at in enumerate(sessions[1:], start=1):  # every page that started on a queued job says so
        assert f"Waiting in line: **#{k}**" in texts(at, "info")
    gate.set()
    store = RunStore(env[1])
    accuracies = set()
    for k, (at, job_id) in enumerate(zip(sessions, job_ids, strict=True)):
        snap = queue().wait(job_id, WAIT)
        assert snap.status == "finished", snap.message
        at.run()
        assert not at.exception and not at.error, texts(at, "error")
        assert "Waiting in line" not in texts(at, "info")
        assert f"Finished: test accuracy **{snap.test_accuracy:.2%}**" in texts(at, "success")
        assert store.config(snap.run_id)["config"]["seed"] == 100 + k  # its own run, not a neighbour's
        assert "another session" not in texts(at, "markdown")
        accuracies.add(snap.test_accuracy)
    assert len({store.info(queue().snapshot(j).run_id).run_id for j in job_ids}) == SESSIONS


def test_a_second_tab_of_the_same_owner_follows_its_running_job(env, gate):
    first = app("train")
    tiny_settings(first)
    first.button(key="start").click().run()
    job_id, me = first.session_state["job_id"], first.session_state["owner"]
    assert first.query_params["me"] in (me, [me])  # the owner id is in the URL: a reload keeps it
    second = app("train", query={"me": me})  # a new tab opened from the same address, without ?job=
    assert not second.exception
    assert "Nothing is training" not in texts(second, "info")
    assert second.session_state["job_id"] == job_id and second.button(key="stop")  # it is theirs: Stop is there
    gate.set()
    assert queue().wait(job_id, WAIT).status == "finished"


def test_another_session_can_pick_a_job_to_watch(env, gate):
    owner = app("train")
    tiny_settings(owner)
    owner.button(key="start").click().run()
    job_id = owner.session_state["job_id"]
    other = app("train")
    assert "Nothing is training" in texts(other, "info")
    assert other.selectbox(key="watch").value is None  # nothing pretends to be watched
    other.selectbox(key="watch").set_value(job_id).run()  # the newest job: choosing it must start watching
    assert not other.exception
    assert "Nothing is training" not in texts(other, "info") and "another session" in texts(other, "markdown")
    assert NOT_YOURS in texts(other, "caption")
    with pytest.raises(KeyError):
        other.button(key="stop")  # others may watch, not stop
    gate.set()
    snap = queue().wait(job_id, WAIT)
    other.run()
    assert f"Finished: test accuracy **{snap.test_accuracy:.2%}**" in texts(other, "success")


def test_eta_says_estimating_and_the_accuracy_chart_runs_before_the_first_epoch_ends(env):
    at = app("train")
    tiny_settings(at, epochs=500)
    at.select_slider(key="cfg_batch_size").set_value(2).run()  # many steps: still running for a while
    at.button(key="start").click().run()
    job_id = at.session_state["job_id"]
    try:
        deadline = threading.Event()
        while not queue().snapshot(job_id).accuracy_trace and not deadline.wait(0.05):
            pass
        at.run()
        assert not at.exception
        eta = next(m.value for m in at.metric if m.label == "ETA")
        assert eta == "estimating…", eta  # less than the warm-up has been measured: no wild guess
        (accuracy,) = charts_named(at, "Accuracy")
        assert any(t.get("name") == "train (running)" and len(t["x"]) for t in accuracy["data"])
    finally:
        queue().stop(job_id)
        assert queue().wait(job_id, WAIT).status == "stopped"


def test_a_run_that_did_not_learn_ends_with_a_warning(env, monkeypatch):
    import mnistlab.jobs as jobs

    real = jobs.run_experiment
    message = "did not learn: the training loss barely fell (2.3 → 2.29); try another learning rate"

    def stalled(*args, **kwargs):
        result = real(*args, **kwargs)
        result.result.status, result.result.message = "stalled", message
        return result

    monkeypatch.setattr(jobs, "run_experiment", stalled)
    at = app("train")
    tiny_settings(at)
    at.button(key="start").click().run()
    snap = queue().wait(at.session_state["job_id"], WAIT)
    assert snap.status == "stalled"
    at.run()
    assert not at.exception
    assert message[1:] in texts(at, "warning") and "Did not learn" in texts(at, "warning")
    assert "Finished" not in texts(at, "success")


def test_the_owner_steers_a_live_job_and_sees_the_mark_on_its_curves(env):
    at = app("train")
    at.number_input(key="cfg_width_0").set_value(16).run()
    at.number_input(key="cfg_epochs").set_value(1000).run()
    at.select_slider(key="cfg_batch_size").set_value(50).run()
    at.button(key="start").click().run()
    job = at.session_state["job_id"]
    deadline = time.monotonic() + WAIT
    while (queue().snapshot(job).status != "running" or queue().snapshot(job).epoch < 2) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert not at.exception, at.exception
    at.button(key="pause").click().run()
    assert queue().snapshot(job).paused and at.button(key="resume")  # the button turns into Resume
    assert "paused" in at.dataframe[0].value["In line"].tolist()  # and the server's jobs table says so
    assert queue().snapshot(job).message in ("pausing…", "paused")  # the live bar: pausing… until it holds
    at.select_slider(key="steer_lr").set_value(0.001).run()
    at.button(key="resume").click().run()
    assert not queue().snapshot(job).paused
    changed = queue().snapshot(job).epoch
    while queue().snapshot(job).epoch <= changed + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    (loss,) = charts_named(at, "Loss")
    assert any(s.get("type") == "line" for s in loss["layout"].get("shapes", []))  # the change's mark
    assert any("lr → 0.001" in a.get("text", "") for a in loss["layout"].get("annotations", []))
    at.button(key="stop").click().run()
    done = queue().wait(job, WAIT)
    changes = [c for row in RunStore(env[1]).open(done.run_id).history() for c in row.get("lr_changes", [])]
    assert [c["lr"] for c in changes] == [0.001]


def test_the_server_skips_streamlits_full_collection_after_every_frame():
    """Streamlit's default gc.collect(2) after each script run, at a live frame a second per watching browser,
    held a job back several times over on 2 cores (scripts/watching_cost.py measures it; README)."""
    import tomllib
    from pathlib import Path

    from streamlit import config as streamlit_config

    settings = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert settings["runner"]["postScriptGC"] is False
    assert streamlit_config.get_option("runner.postScriptGC") is not None  # the option this Streamlit reads
