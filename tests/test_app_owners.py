"""Owners on a shared server, with two AppTest sessions: others may watch a job but not stop it, and
delete only their own runs; a reload (same ?me=) stays the owner; MNISTLAB_ADMIN=1 may do anything."""

from __future__ import annotations

import pytest
from test_app import WAIT, app, queue, texts, tiny_settings

from mnistlab.experiment import run_experiment
from mnistlab.jobs import JobPermissionError
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from ui.live import NOT_YOURS

pytestmark = pytest.mark.usefixtures("app_caches")


def owner_of(at) -> str:
    me = at.query_params["me"]
    return me[0] if isinstance(me, list) else me


def long_job(at) -> str:
    tiny_settings(at, epochs=500)
    at.select_slider(key="cfg_batch_size").set_value(2).run()  # many steps: it runs while the test looks
    at.button(key="start").click().run()
    return at.session_state["job_id"]


def test_others_watch_a_job_through_its_link_but_only_the_owner_stops_it(env):
    alice = app("train")
    job_id = long_job(alice)
    me = owner_of(alice)
    try:
        bob = app("train", query={"job": job_id})  # a classmate opens Alice's link: ?job= does not make it his
        assert not bob.exception
        assert "another session" in texts(bob, "markdown") and NOT_YOURS in texts(bob, "caption")
        with pytest.raises(KeyError):
            bob.button(key="stop")
        with pytest.raises(JobPermissionError):
            queue().stop(job_id, owner=owner_of(bob))
        assert queue().snapshot(job_id).status == "running"
        table = next(d.value for d in bob.dataframe if "Mine" in d.value.columns)
        assert not table["Mine"].any()
        # Alice reloads her tab: the URL keeps ?job= and ?me=, so the job is still hers and Stop works
        again = app("train", query={"job": job_id, "me": me})
        assert "another session" not in texts(again, "markdown") and NOT_YOURS not in texts(again, "caption")
        again.button(key="stop").click().run()
        assert not again.exception and not again.error
    finally:
        queue().stop(job_id)
    assert queue().wait(job_id, WAIT).status == "stopped"


def test_the_servers_admin_may_stop_anyones_job(env, monkeypatch):
    alice = app("train")
    job_id = long_job(alice)
    monkeypatch.setenv("MNISTLAB_ADMIN", "1")
    try:
        teacher = app("train", query={"job": job_id})
        assert NOT_YOURS not in texts(teacher, "caption")
        teacher.button(key="stop").click().run()
        assert not teacher.exception and not teacher.error
        assert queue().wait(job_id, WAIT).status == "stopped"
    finally:
        queue().stop(job_id)


def stored(env, owner: str) -> str:
    data_dir, runs_dir = env
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, optimizer="adam", lr=1e-2, device="cpu")
    return run_experiment(config, preset="fast", store=RunStore(runs_dir), data_dir=data_dir, owner=owner).run_id


def test_compare_lists_only_your_runs_for_deletion(env, monkeypatch):
    alice, bob = app("compare"), app("compare")
    alices, bobs, clis = stored(env, owner_of(alice)), stored(env, owner_of(bob)), stored(env, "cli")
    bob.run()
    options = bob.multiselect(key="delete_runs").options
    assert len(options) == 2 and not any(alices[-6:] in o for o in options)  # his own and the CLI's
    assert "not listed" in texts(bob, "caption")
    assert set(bob.dataframe[0].value["From"]) == {"you", "dashboard", "CLI"}
    bob.multiselect(key="delete_runs").set_value([bobs]).run()
    bob.button(key="delete").click().run()
    bob.button(key="delete_confirm").click().run()
    assert not bob.exception and not bob.error
    store = RunStore(env[1])
    assert not store.exists(bobs) and store.exists(alices) and store.exists(clis)
    monkeypatch.setenv("MNISTLAB_ADMIN", "1")  # the operator's server: every run may go
    bob.run()
    assert len(bob.multiselect(key="delete_runs").options) == 2 and "not listed" not in texts(bob, "caption")
    bob.multiselect(key="delete_runs").set_value([alices]).run()
    bob.button(key="delete").click().run()
    bob.button(key="delete_confirm").click().run()
    assert not bob.exception and not store.exists(alices)
