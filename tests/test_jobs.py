"""The job queue with real worker threads on tiny synthetic data."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

import mnistlab.jobs as jobs_module
from mnistlab.errors import RunStoreError
from mnistlab.eta import Eta
from mnistlab.job_snapshot import apply_event
from mnistlab.jobs import JobQueue, JobSnapshot, resolve_device
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.prepare import prepare_data

TIMEOUT = 60  # seconds; each tiny run takes well under one


def tiny(**changes) -> TrainConfig:
    base = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=2, batch_size=50, optimizer="adam", lr=1e-2,
                       device="cpu")
    return base.with_(**changes)


_QUEUES: list[JobQueue] = []


def new_queue(per_device: int = 1) -> JobQueue:
    _QUEUES.append(JobQueue(per_device=per_device))
    return _QUEUES[-1]


@pytest.fixture(autouse=True)
def stop_leftovers():
    """A failed test must not leave a worker training while the interpreter exits."""
    yield
    for queue in _QUEUES:
        for snap in queue.jobs():
            if snap.active:
                queue.stop(snap.job_id)
                queue.wait(snap.job_id, TIMEOUT)
    _QUEUES.clear()


def wait_until(predicate, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def gated(monkeypatch):
    """Hold every worker at the door until the test opens the gate (real training afterwards)."""
    gate = threading.Event()
    real = jobs_module.run_experiment

    def run_after_gate(*args, **kwargs):
        assert gate.wait(TIMEOUT)
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs_module, "run_experiment", run_after_gate)
    yield gate
    gate.set()


def test_three_jobs_wait_in_line_and_finish_in_order(tiny_data_dir, runs_dir, gated):
    queue = new_queue(per_device=1)
    configs = [tiny(seed=i, hidden=(8 * (i + 1),)) for i in range(3)]
    ids = [queue.submit(c, preset=None, owner="alice", data_dir=tiny_data_dir, runs_dir=runs_dir) for c in configs]
    snaps = [queue.snapshot(i) for i in ids]
    assert [s.position for s in snaps] == [0, 1, 2]
    assert [s.status for s in snaps] == ["running", "queued", "queued"]
    gated.set()
    done = [queue.wait(i, timeout=TIMEOUT) for i in ids]
    assert [s.status for s in done] == ["finished"] * 3
    assert all(s.position is None for s in done)
    assert done[0].ended <= done[1].started and done[1].ended <= done[2].started  # one at a time, FIFO
    store = RunStore(runs_dir)
    for snap, config in zip(done, configs, strict=False):
        assert len(snap.history) == 2 and snap.epoch == 2 and snap.progress == 1.0
        assert 0 <= snap.test_accuracy <= 1 and snap.run_id
        assert store.config(snap.run_id)["config"] == config.to_dict()
        assert store.info(snap.run_id).status == "finished"
    assert len({s.run_id for s in done}) == 3
    assert [s.job_id for s in queue.jobs(owner="alice")] == ids and queue.jobs(owner="bob") == []


def test_two_per_device_run_together(tiny_data_dir, runs_dir, gated):
    queue = new_queue(per_device=2)
    ids = [queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir) for _ in range(3)]
    assert [queue.snapshot(i).position for i in ids] == [0, 0, 1]
    gated.set()
    assert [queue.wait(i, TIMEOUT).status for i in ids] == ["finished"] * 3


def test_stop_running_job_keeps_a_stopped_run(tiny_data_dir, runs_dir):
    queue = new_queue()
    long = tiny(epochs=500, batch_size=10)  # ~30,000 steps: far longer than the test waits
    job_id = queue.submit(long, preset="fast", owner="bob", data_dir=tiny_data_dir, runs_dir=runs_dir)
    wait_until(lambda: queue.snapshot(job_id).trace)  # the first progress event has arrived
    live = queue.snapshot(job_id)
    assert live.status == "running" and live.run_id and live.samples_per_s > 0
    assert live.eta_s is None  # still estimating: far less than WARMUP_S of training so far
    assert live.trace and 0 < live.progress < 1
    queue.stop(job_id)
    asked_in = queue.snapshot(job_id).epoch
    snap = queue.wait(job_id, timeout=TIMEOUT)
    assert snap.status == "stopped"
    assert snap.epoch <= asked_in + 1 < snap.epochs  # it ended in the epoch it was asked in (or the next one)
    info = RunStore(runs_dir).info(snap.run_id)
    assert info.status == "stopped" and info.preset == "fast" and info.owner == "bob"
    assert (RunStore(runs_dir).path(snap.run_id) / "model.safetensors").is_file()  # what it learned is kept


def test_stop_queued_job_cancels_it(tiny_data_dir, runs_dir, gated):
    queue = new_queue()
    first = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)
    second = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)
    third = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)
    cancelled = queue.stop(second)
    assert cancelled.status == "cancelled" and cancelled.position is None and cancelled.run_id is None
    assert queue.snapshot(third).position == 1  # moved up the line
    gated.set()
    assert queue.wait(first, TIMEOUT).status == "finished"
    assert queue.wait(third, TIMEOUT).status == "finished"
    assert len(RunStore(runs_dir).list()) == 2


def test_exception_in_worker_becomes_failed_with_one_line(tiny_data_dir, runs_dir, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line of detail")

    monkeypatch.setattr(jobs_module, "run_experiment", boom)
    queue = new_queue()
    job_id = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)
    snap = queue.wait(job_id, TIMEOUT)
    assert snap.status == "failed" and snap.message == "RuntimeError: boom"
    monkeypatch.undo()
    after = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)  # the device was freed
    assert queue.wait(after, TIMEOUT).status == "finished"


def test_missing_data_fails_with_the_user_message(tmp_path, runs_dir):
    queue = new_queue()
    job_id = queue.submit(tiny(), data_dir=tmp_path / "empty", runs_dir=runs_dir)
    snap = queue.wait(job_id, TIMEOUT)
    assert snap.status == "failed" and "not found" in snap.message and "fetch" in snap.message
    assert "Traceback" not in snap.message and "\n" not in snap.message


def test_failure_inside_training_marks_the_stored_run_failed(tiny_data_dir, runs_dir, monkeypatch):
    import mnistlab.experiment as experiment

    def broken_evaluate(*args, **kwargs):
        raise ValueError("evaluation exploded")

    monkeypatch.setattr(experiment, "evaluate", broken_evaluate)
    queue = new_queue()
    snap = queue.wait(queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir), TIMEOUT)
    assert snap.status == "failed" and snap.message == "ValueError: evaluation exploded"
    assert snap.run_id and RunStore(runs_dir).info(snap.run_id).status == "failed"


def test_diverging_job_ends_with_the_plain_message(tiny_data_dir, runs_dir):
    queue = new_queue()
    wild = tiny(hidden=(256, 256), activation="leaky_relu", optimizer="momentum", momentum=0.99, lr=10.0)
    snap = queue.wait(queue.submit(wild, data_dir=tiny_data_dir, runs_dir=runs_dir), TIMEOUT)
    assert snap.status == "diverged"
    assert snap.message.startswith("loss became NaN at epoch 1: lower the learning rate")
    assert RunStore(runs_dir).info(snap.run_id).status == "diverged"


def test_snapshots_are_frozen_and_unknown_ids_are_user_errors():
    queue = new_queue()
    with pytest.raises(RunStoreError, match="no training job"):
        queue.snapshot("job-nope")
    assert queue.get("job-nope") is None and queue.get(None) is None
    snap = JobSnapshot("j", "", None, tiny(), "cpu", "queued")
    with pytest.raises(AttributeError):
        snap.status = "running"  # type: ignore[misc]
    with pytest.raises(ValueError):
        JobQueue(per_device=0)


def test_device_lines():
    assert resolve_device(tiny(device="cpu")) == "cpu"
    assert resolve_device(tiny(device="cuda")) == "cuda"
    assert resolve_device(TrainConfig(engine="numpy", loss="mse", device="cpu")) == "cpu"


# -- memory, ETA, running accuracy, owners, stalled runs -------------------------------------------------

def fake_experiment(events, status: str = "finished", message: str = "", seen: list | None = None):
    """A stand-in for run_experiment: emits `events` to the job's subscriber and ends with `status`."""
    from types import SimpleNamespace

    def run(config, *, data=None, subscribers=(), **kwargs):
        if seen is not None:
            seen.append(data)
        for event in events:
            for subscriber in subscribers:
                subscriber(event)
        return SimpleNamespace(run_id="run-x", evaluation=None, result=SimpleNamespace(status=status, message=message))

    return run


def epoch_events(epochs: int, steps: int = 12):
    """What a 500-epoch tiny run emits: progress a few times an epoch, and heavy per-epoch statistics."""
    from mnistlab.train.events import EpochEnded, RunStarted, StepProgress

    layers = tuple({"name": f"layer {k}", "histogram": list(range(64)), "grad_histogram": list(range(64))}
                   for k in range(3))
    confusion = tuple(tuple(range(10)) for _ in range(10))
    yield RunStarted("run-x", {}, "cpu", "CPU", 1000, steps, 600, 0, 200)
    for e in range(1, epochs + 1):
        for s in (4, 8):
            yield StepProgress(e, epochs, s, steps, 0.5, 1000.0, e * 0.1, accuracy=0.8)
        yield EpochEnded(e, epochs, 0.5, 0.8, None, None, 0.4, 0.85, 0.01, 0.1, 1000.0, e * 0.1,
                         layers=layers, test_confusion=confusion)


def test_snapshot_memory_stays_bounded_over_500_epochs(monkeypatch):
    import gc
    import pickle
    import weakref

    class Splits:  # stands in for PreparedData: weak-referenceable, so we can see it is let go
        pass

    seen: list = []
    monkeypatch.setattr(jobs_module, "run_experiment", fake_experiment(list(epoch_events(500)), seen=seen))
    queue = new_queue()
    made = []
    job_id = queue.submit(tiny(epochs=500), data=lambda: made.append(Splits()) or made[-1])
    snap = queue.wait(job_id, TIMEOUT)
    assert snap.status == "finished" and len(snap.history) == 500
    assert all("layers" not in row and "test_confusion" not in row for row in snap.history)
    assert len(snap.trace) <= jobs_module.MAX_TRACE and len(snap.accuracy_trace) <= jobs_module.MAX_TRACE
    assert len(pickle.dumps(snap)) < 250_000, "500 epochs of numbers, not of histograms (~5 MB)"
    alive = weakref.ref(made[0])
    assert seen[0] is made[0]  # prepared when the job started, not when it was queued
    made.clear()
    seen.clear()
    gc.collect()
    assert alive() is None, "a finished job must not keep its splits"


def test_queued_job_holds_no_prepared_data(tiny_data_dir, runs_dir, gated):
    queue = new_queue()
    calls: list[int] = []
    first = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir)
    second = queue.submit(tiny(), data_dir=tiny_data_dir, runs_dir=runs_dir,
                          data=lambda: calls.append(1) or prepare_data(tiny(), tiny_data_dir))
    assert queue.snapshot(second).status == "queued" and calls == []
    gated.set()
    assert queue.wait(first, TIMEOUT).status == "finished"
    assert queue.wait(second, TIMEOUT).status == "finished" and calls == [1]


def test_eta_waits_for_a_warm_up_then_follows_the_recent_step_rate():
    from mnistlab.train.events import EpochEnded, RunStarted, StepProgress

    eta = Eta()
    snap = JobSnapshot("j", "", None, tiny(), "cpu", "running")
    steps, epochs = 1000, 10  # 10,000 steps: at 100 steps/s after a slow start, 100 s of training
    snap = apply_event(snap, RunStarted("r", {}, "cpu", "CPU", 1, steps, 1, 0, 1), 1.0, eta=eta)

    def progress(done: int, train_s: float, wall_s: float):
        epoch, step = divmod(done, steps)
        event = StepProgress(epoch + 1, epochs, step, steps, 1.0, 1.0, train_s, accuracy=0.5)
        return apply_event(snap, event, wall_s, eta=eta)

    snap = progress(20, 2.0, 3.0)  # 10 steps/s while warming up: wall-clock rate says 33 minutes
    assert snap.eta_s is None  # "estimating…", not 20:12
    for k in range(1, 61):  # then 100 steps/s for 6 s
        snap = progress(20 + 10 * k, 2.0 + 0.1 * k, 3.0 + 0.1 * k)
    assert snap.eta_s is not None
    done = 20 + 10 * 60
    assert snap.eta_s == pytest.approx((steps * epochs - done) / 100, rel=0.05)
    assert snap.accuracy_trace[-1] == (done / steps, 0.5) and snap.accuracy == 0.5
    # an epoch's end measures the time spent outside training (evaluation): 2 s per epoch from now on
    end = EpochEnded(1, epochs, 1.0, 0.5, None, None, 1.0, 0.5, 0.1, 10.0, 100.0, elapsed_s=10.0)
    snap = apply_event(replace(snap, steps=steps), end, wall_s=1.0 + 10.0 + 2.0, eta=eta)
    assert snap.eta_s == pytest.approx(9 * steps / 100 + 9 * 2.0, rel=0.05)


def test_only_the_owner_or_an_admin_stops_a_job(tiny_data_dir, runs_dir, gated):
    queue = new_queue()
    running = queue.submit(tiny(), owner="web-aaaaaa", data_dir=tiny_data_dir, runs_dir=runs_dir)
    queued = queue.submit(tiny(), owner="web-aaaaaa", data_dir=tiny_data_dir, runs_dir=runs_dir)
    with pytest.raises(jobs_module.JobPermissionError, match="belongs to another session"):
        queue.stop(queued, owner="web-bbbbbb")
    with pytest.raises(RunStoreError):  # a user error like the others
        queue.stop(running, owner="web-bbbbbb")
    assert queue.snapshot(queued).status == "queued" and not queue._jobs[running].cancel.is_set()
    assert queue.stop(queued, owner="web-bbbbbb", admin=True).status == "cancelled"
    assert queue.stop(running, owner="web-aaaaaa").message == "stopping…"
    gated.set()
    assert queue.wait(running, TIMEOUT).status == "stopped"


def test_a_stalled_run_ends_as_stalled_with_its_message(monkeypatch):
    message = "did not learn: the learning rate 1e-06 is far below sgd's usual range: try 0.1"
    monkeypatch.setattr(jobs_module, "run_experiment", fake_experiment(list(epoch_events(2)), "stalled", message))
    queue = new_queue()
    snap = queue.wait(queue.submit(tiny()), TIMEOUT)
    assert snap.status == "stalled" and snap.message == message and not snap.active
    assert "stalled" in jobs_module.DONE and snap.eta_s == 0.0


def test_other_work_waits_in_the_same_line_reports_progress_and_stops(tiny_data_dir, runs_dir):
    """A sweep's worker is one job: it queues behind training on its device, reports trials, obeys Stop."""
    queue = JobQueue(per_device=1)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, device="cpu")
    started, release = threading.Event(), threading.Event()

    def work(cancel, on_event, report):
        for done in range(1, 4):
            report(units_done=done, message=f"trial {done} of 3")
            started.set()
            release.wait(10)
            if cancel.is_set():
                return dict(status="stopped", message=f"stopped after {done} trial(s)")
        return dict(status="finished", message="3 trials")

    first = queue.submit(config, data_dir=tiny_data_dir, runs_dir=runs_dir, work=work, kind="sweep", label="s1",
                         units_total=3)
    second = queue.submit(config, data_dir=tiny_data_dir, runs_dir=runs_dir)
    assert started.wait(10) and queue.snapshot(second).status == "queued"  # one job per device, sweeps included
    snap = queue.snapshot(first)
    assert (snap.kind, snap.label, snap.units_total, snap.units_done) == ("sweep", "s1", 3, 1)
    queue.stop(first)
    release.set()
    done = queue.wait(first, 30)
    assert done.status == "stopped" and done.message == "stopped after 1 trial(s)"
    assert queue.wait(second, 60).status == "finished"  # the line moves on


def _steps(snap) -> int:
    return (snap.epoch - 1) * snap.steps + snap.step if snap.steps else 0


def test_pause_holds_a_job_and_a_new_learning_rate_is_recorded_at_its_step(tiny_data_dir, runs_dir):
    queue = JobQueue(per_device=1)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=400, batch_size=50, optimizer="sgd", lr=0.05,
                         device="cpu")
    job = queue.submit(config, data_dir=tiny_data_dir, runs_dir=runs_dir, owner="web-aa")
    deadline = time.monotonic() + 30
    while _steps(queue.snapshot(job)) < 24 and time.monotonic() < deadline:  # two epochs in
        time.sleep(0.02)
    with pytest.raises(jobs_module.JobPermissionError, match="only its owner"):
        queue.pause(job, owner="web-bb")
    paused = queue.pause(job, owner="web-aa")
    assert paused.paused and paused.message == "pausing…"  # the step in flight still ends
    deadline = time.monotonic() + 30
    while queue.snapshot(job).message != "paused" and time.monotonic() < deadline:  # the loop holds: Paused
        time.sleep(0.02)
    assert queue.snapshot(job).message == "paused"
    held = _steps(queue.snapshot(job))
    time.sleep(1.0)
    assert _steps(queue.snapshot(job)) == held  # a paused job makes no steps
    queue.set_lr(job, 0.002, owner="web-aa")
    queue.resume(job, owner="web-aa")
    deadline = time.monotonic() + 30
    while _steps(queue.snapshot(job)) < held + 36 and time.monotonic() < deadline:  # three more epochs
        time.sleep(0.02)
    queue.stop(job)
    done = queue.wait(job, 30)
    assert done.status == "stopped" and not done.paused
    (change,) = done.lr_changes
    assert change["lr"] == 0.002 and change["scheduled"] == 0.05 and change["step"] > held - 12
    history = RunStore(runs_dir).open(done.run_id).history()
    recorded = [c for row in history for c in row.get("lr_changes", [])]
    assert recorded == [change]
    epoch_of_change = next(row for row in history if row.get("lr_changes"))
    after = [row for row in history if row["epoch"] > epoch_of_change["epoch"]]
    assert after and all(row["lr"] == 0.002 for row in after)  # every later step used the new rate
    with pytest.raises(RunStoreError, match="only a training job that is running"):
        queue.set_lr(job, 0.01)
