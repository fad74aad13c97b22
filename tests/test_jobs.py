"""The job queue with real worker threads on tiny synthetic data."""

from __future__ import annotations

import threading
import time

import pytest

import mnistlab.jobs as jobs_module
from mnistlab.errors import RunStoreError
from mnistlab.jobs import JobQueue, JobSnapshot, resolve_device
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

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
    assert live.status == "running" and live.run_id and live.samples_per_s > 0 and live.eta_s > 0
    assert live.trace and 0 < live.progress < 1
    asked = time.monotonic()
    queue.stop(job_id)
    snap = queue.wait(job_id, timeout=TIMEOUT)
    assert time.monotonic() - asked < 1.0, "stop must take effect within a second"
    assert snap.status == "stopped"
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
