"""Many `sweep run` worker processes on one sweep, in SQLite and in PostgreSQL: none lost, none twice, none stuck.

Each worker has its own runs directory (as on separate machines); `sweep show` reads from yet another.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from optuna.trial import TrialState

from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.sweeps import create_sweep, delete_sweep, list_sweeps, open_sweep
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
HEARTBEAT_S = 1  # the workers' heartbeat here; a dead worker's trial is stale after three of them
BASE = TrainConfig(model=MLPSpec(hidden=(16,)), optimizer="sgd", lr=0.5, batch_size=50, epochs=1, device="cpu")


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    """A storage URL per backend, and a sweep name no other test uses (the PostgreSQL database is shared)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared' / 'sweeps.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield url, name
    try:
        delete_sweep(name, url)
    except Exception:  # noqa: BLE001 - a test that failed before creating it
        pass


def worker(name, url, runs_dir, data_dir, trials, *extra):
    env = {**os.environ, "MNISTLAB_SWEEP_HEARTBEAT": str(HEARTBEAT_S)}
    return subprocess.Popen([sys.executable, "-m", "mnistlab", "sweep", "run", name, "--trials", str(trials),
                             "--storage", url, "--runs-dir", str(runs_dir), "--data-dir", str(data_dir), "--json",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def tagged(runs_dir):
    """(trial, seed) → run id of every run a worker stored."""
    store = RunStore(runs_dir)
    return {(run.tags["trial"], run.tags["seed"]): info.run_id
            for info in store.list() for run in [store.open(info.run_id)]}


def test_several_workers_share_a_sweep_and_show_works_without_their_run_stores(storage, tiny_data_dir, tmp_path):
    url, name = storage
    create_sweep(name, BASE, ["lr=log:0.05:0.5", "width=choice:8,16"], seeds=2, storage=url)
    dirs = [tmp_path / f"worker{i}" for i in range(3)]
    reports = [finished(p) for p in [worker(name, url, d, tiny_data_dir, 2) for d in dirs]]

    numbers = sorted(t["number"] for r in reports for t in r["trials"])
    assert numbers == list(range(6))  # the total asked, each trial once
    runs = [tagged(d) for d in dirs]
    keys = [key for found in runs for key in found]
    assert sorted(keys) == sorted((n, s) for n in range(6) for s in range(2))  # every (trial, seed) trained once
    for report, found in zip(reports, runs):
        assert {t["number"] for t in report["trials"]} == {trial for trial, _ in found}

    viewer = subprocess.run([sys.executable, "-m", "mnistlab", "sweep", "show", name, "--storage", url,
                             "--runs-dir", str(tmp_path / "elsewhere"), "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert viewer.returncode == 0, viewer.stderr
    shown = json.loads(viewer.stdout)
    assert [t["number"] for t in shown["trials"]] == list(range(6))
    by_run = {run_id: key for found in runs for key, run_id in found.items()}
    for trial in shown["trials"]:
        assert trial["state"] == "complete" and trial["host"] and set(trial["params"]) == {"lr", "width"}
        assert [by_run[r] for r in trial["run_ids"]] == [(trial["number"], 0), (trial["number"], 1)]
        assert trial["run_id"] == trial["run_ids"][0] and len(trial["values"]) == 2
    assert shown["best"]["value"] == max(t["value"] for t in shown["trials"])
    assert set(shown["importances"]) == {"lr", "width"}
    assert not (tmp_path / "elsewhere").exists()  # showing needs no run store


def test_a_killed_workers_trial_is_failed_and_retried_and_the_others_are_unaffected(storage, tiny_data_dir, tmp_path):
    url, name = storage
    create_sweep(name, BASE.with_(epochs=40), ["lr=choice:0.5,0.4,0.3"], sampler="random", pruner="none",
                 storage=url)
    doomed_dir, survivor_dir, late_dir = tmp_path / "doomed", tmp_path / "survivor", tmp_path / "late"
    doomed = worker(name, url, doomed_dir, tiny_data_dir, 1)
    survivor = worker(name, url, survivor_dir, tiny_data_dir, 2)
    killed_trial = _kill_mid_trial(doomed, doomed_dir)
    killed_at = time.monotonic()
    survived = finished(survivor)
    assert [t["state"] for t in survived["trials"]] == ["complete", "complete"]
    time.sleep(max(0.0, killed_at + 3 * HEARTBEAT_S + 1 - time.monotonic()))  # its heartbeat is stale by now
    late = finished(worker(name, url, late_dir, tiny_data_dir, 1))
    assert [t["state"] for t in late["trials"]] == ["complete"]

    trials = open_sweep(name, url).study.get_trials()
    killed = trials[killed_trial]
    assert killed.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_trial]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE and retries[0].params == killed.params
    assert sorted(t.state.name for t in trials) == ["COMPLETE"] * 3 + ["FAIL"]  # nothing left running or waiting
    [run] = RunStore(doomed_dir).list()
    assert run.status == "interrupted"  # the killed worker's run store says so too


def _kill_mid_trial(process, runs_dir, timeout=120) -> int:
    """SIGKILL `process` once its trial's run has finished an epoch; the trial's number."""
    store = RunStore(runs_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in store.list() if runs_dir.is_dir() else []:
            run = store.open(info.run_id)
            if run.history():
                process.send_signal(signal.SIGKILL)
                process.communicate(timeout=60)
                assert process.returncode == -signal.SIGKILL, "the worker ended before it could be killed"
                return run.tags["trial"]
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.05)
    raise AssertionError("the worker never started a trial")


def test_a_plain_postgresql_url_uses_the_driver_mnistlab_installs(postgres_url):
    plain = re.sub(r"^postgresql\+\w+://", "postgresql://", postgres_url)  # SQLAlchemy alone would want psycopg 3
    name = f"test-{uuid.uuid4().hex[:10]}"
    create_sweep(name, BASE, ["lr=log:0.05:0.5"], storage=plain)
    try:
        assert name in [s.name for s in list_sweeps(plain)]
    finally:
        delete_sweep(name, plain)
    assert name not in [s.name for s in list_sweeps(plain)]


def test_ctrl_c_stops_a_worker_keeping_its_finished_trials_and_queueing_the_interrupted_one(tiny_data_dir, tmp_path):
    runs_dir, name = tmp_path / "runs", "interrupted"
    create_sweep(name, BASE.with_(epochs=40), ["lr=choice:0.5,0.4"], sampler="random", pruner="none", runs_dir=runs_dir)
    process = worker(name, f"sqlite:///{runs_dir / 'sweeps.db'}", runs_dir, tiny_data_dir, 5)
    store = RunStore(runs_dir)
    while len(store.list()) < 2 or not store.open(store.list()[0].run_id).history():  # in its second trial
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    report = finished(process)
    assert report["reason"] == "cancel" and [t["state"] for t in report["trials"]] == ["complete", "fail"]
    trials = open_sweep(name, runs_dir=runs_dir).study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]
    assert trials[2].params == trials[1].params
    assert sorted(r.status for r in store.list()) == ["finished", "stopped"]
