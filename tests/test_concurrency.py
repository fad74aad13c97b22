"""Many writers, many readers, many users: one run store and one job queue shared without losing anything."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnistlab.models.spec import MLPSpec
from mnistlab.runs.files import write_json
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60  # seconds
RUNS_PER_WRITER = 30
EPOCHS = 4  # update() calls per run, each after a history.json write, plus the final one


def write_runs(root: str, writer: str, ready) -> None:
    """A writer process: create RUNS_PER_WRITER runs and update each one as a training run would."""
    store = RunStore(root)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), seed=int(writer[-1]), epochs=EPOCHS).to_dict()
    ready.wait(WAIT)  # start together
    for i in range(RUNS_PER_WRITER):
        run_id = store.create(config, preset="fast", owner=writer)
        for epoch in range(1, EPOCHS + 1):
            write_json(store.path(run_id) / "history.json", [{"epoch": e, "writer": writer} for e in range(1, epoch + 1)])
            store.update(run_id, epochs_done=epoch, test_accuracy=epoch / 10)
        store.update(run_id, status="finished", message=f"{writer} run {i}")


def test_two_writer_processes_and_a_reader_share_one_store(runs_dir):
    store = RunStore(runs_dir)
    ctx = multiprocessing.get_context("spawn")  # real separate interpreters, as two CLIs or servers would be
    ready = ctx.Barrier(3)
    writers = [ctx.Process(target=write_runs, args=(str(runs_dir), f"w{k}", ready)) for k in (1, 2)]
    for w in writers:
        w.start()
    seen: dict[str, int] = {"scans": 0, "max_running": 0}
    problems: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                runs, broken = store.scan()
                problems.extend(b.reason for b in broken)
                for run in runs:
                    json.loads((store.path(run.run_id) / "run.json").read_text())  # never half a file
                    epochs = [h["epoch"] for h in store.history(run.run_id)]
                    assert epochs == list(range(1, len(epochs) + 1)), epochs
                seen["scans"] += 1
                seen["max_running"] = max(seen["max_running"], sum(r.status == "running" for r in runs))
                stop.wait(0.005)  # leave the (shared) CPU to the writers between scans
            except Exception as error:  # noqa: BLE001 - recorded and asserted on below
                problems.append(f"{type(error).__name__}: {error}")

    thread = threading.Thread(target=reader)
    ready.wait(WAIT)
    thread.start()
    for w in writers:
        w.join(WAIT)
    stop.set()
    thread.join(WAIT)
    assert [w.exitcode for w in writers] == [0, 0]
    assert problems == []
    assert seen["scans"] > 1 and seen["max_running"] >= 1, seen  # the reader really read while they wrote

    runs, broken = store.scan()
    assert broken == [] and len(runs) == 2 * RUNS_PER_WRITER
    for writer in ("w1", "w2"):
        mine = [r for r in runs if r.owner == writer]
        assert len(mine) == RUNS_PER_WRITER
        assert sorted(r.message for r in mine) == sorted(f"{writer} run {i}" for i in range(RUNS_PER_WRITER))
        for run in mine:
            assert run.status == "finished" and run.epochs_done == EPOCHS and run.test_accuracy == EPOCHS / 10
            assert store.config(run.run_id)["config"]["seed"] == int(writer[-1])
            assert store.history(run.run_id) == [{"epoch": e, "writer": writer} for e in range(1, EPOCHS + 1)]
    leftovers = [p.name for p in runs_dir.rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # no temp file was left behind by a finished write


def test_only_the_owner_process_writes_a_run(runs_dir):
    store = RunStore(runs_dir)
    run_id = store.create(TrainConfig().to_dict())
    store.update(run_id, pid=1)  # the run now belongs to another process (pid 1)
    with pytest.raises(AssertionError, match="only its owner writes run.json"):
        store.update(run_id, status="failed")


# -- many users on one dashboard ---------------------------------------------------------------------

def open_train() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


@pytest.mark.usefixtures("app_caches")
def test_three_sessions_start_together_queue_and_each_sees_its_own_job(env, monkeypatch):
    import mnistlab.jobs as jobs
    from ui import cache

    monkeypatch.delenv("MNISTLAB_JOBS_PER_DEVICE", raising=False)  # the default bound: one job per device
    gate, real = threading.Event(), jobs.run_experiment
    monkeypatch.setattr(jobs, "run_experiment", lambda *a, **k: (gate.wait(WAIT), real(*a, **k))[1])
    settings = [{"seed": 11, "epochs": 1}, {"seed": 22, "epochs": 2}, {"seed": 33, "epochs": 3}]
    sessions = [open_train() for _ in settings]
    for at, s in zip(sessions, settings, strict=True):
        at.number_input(key="cfg_width_0").set_value(16).run()
        at.select_slider(key="cfg_batch_size").set_value(50).run()
        at.number_input(key="cfg_epochs").set_value(s["epochs"]).run()
        at.number_input(key="cfg_seed").set_value(s["seed"]).run()
    try:
        # One click after another: AppTest patches process-wide state (the runtime, config options) for
        # each run, so two AppTest runs cannot overlap in threads. The workers wait at the gate, so all
        # three jobs are in the queue before any trains: for the queue, the clicks are simultaneous
        # (the threaded test below submits truly at once).
        for at in sessions:
            at.button(key="start").click().run()
        assert all(not at.exception for at in sessions)
        queue = cache.job_queue()
        job_ids = [at.session_state["job_id"] for at in sessions]
        assert len(set(job_ids)) == 3
        assert [queue.snapshot(j).position for j in job_ids] == [0, 1, 2]  # one runs, two wait in line
        assert "Waiting in line" not in texts(sessions[0], "info")
        assert "Waiting in line: **#1**" in texts(sessions[1], "info")
        assert "Waiting in line: **#2**" in texts(sessions[2], "info")
    finally:
        gate.set()

    for at, job_id, s in zip(sessions, job_ids, settings, strict=True):
        snap = queue.wait(job_id, WAIT)
        assert snap.status == "finished", snap.message
        at.run()
        assert not at.exception and not at.error, texts(at, "error")
        assert "Finished: test accuracy" in texts(at, "success")
        epoch = next(m.value for m in at.metric if m.label == "Epoch")
        assert epoch == f"{s['epochs']}/{s['epochs']}"  # this session's job, not another's
        assert job_id in at.query_params["job"] and "another session" not in texts(at, "markdown")
        table = next(d.value for d in at.dataframe if "Mine" in d.value.columns)  # "Jobs on this server"
        assert set(table.loc[table["Mine"], "Job"]) == {job_id} and len(table) == 3
        owner = at.session_state["owner"]
        assert snap.owner == owner
        info = RunStore(env[1]).info(snap.run_id)
        config = RunStore(env[1]).config(snap.run_id)["config"]
        assert info.owner == owner and info.status == "finished" and info.epochs_done == s["epochs"]
        assert config["seed"] == s["seed"] and config["epochs"] == s["epochs"]
    assert len({at.session_state["owner"] for at in sessions}) == 3
    assert len(RunStore(env[1]).list()) == 3


def test_three_sessions_submitting_in_the_same_instant_each_get_their_own_run(tiny_data_dir, runs_dir):
    """What three Start clicks do on a real server, in three threads at once: submit, then follow only their own job."""
    from mnistlab.jobs import JobQueue

    queue = JobQueue(per_device=1)
    together = threading.Barrier(3)
    followed: dict[str, list] = {}

    def session(k: int) -> None:
        owner = f"web-{k}"
        config = TrainConfig(model=MLPSpec(hidden=(16,)), batch_size=50, optimizer="adam", lr=1e-2, device="cpu",
                             seed=k, epochs=k)
        together.wait(WAIT)
        job_id = queue.submit(config, owner=owner, data_dir=tiny_data_dir, runs_dir=runs_dir)
        followed[owner] = [queue.jobs(owner=owner), queue.wait(job_id, WAIT)]

    threads = [threading.Thread(target=session, args=(k,)) for k in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    store = RunStore(runs_dir)
    spans = []
    for k in (1, 2, 3):
        mine, snap = followed[f"web-{k}"]
        assert [s.owner for s in mine] == [f"web-{k}"]  # a session's list holds its own job only
        assert snap.status == "finished" and snap.epoch == k and snap.owner == f"web-{k}"
        info, config = store.info(snap.run_id), store.config(snap.run_id)["config"]
        assert info.owner == f"web-{k}" and info.epochs_done == k and config["seed"] == k and config["epochs"] == k
        spans.append((snap.started, snap.ended))
    spans.sort()
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]  # one job on the CPU at a time
