"""Faults end to end: divergence, out of memory, SIGKILL mid-training, broken run folders."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest
import torch

import mnistlab.experiment as experiment
from mnistlab.cli.main import main
from mnistlab.errors import DeviceError
from mnistlab.experiment import out_of_memory_message, run_experiment
from mnistlab.jobs import JobQueue
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import CREATING_GRACE_S, RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.torch_engine import TorchStepper

ROOT = Path(__file__).resolve().parents[1]
CONFIG = TrainConfig(model=MLPSpec(hidden=(16,)), optimizer="adam", lr=1e-2, batch_size=50, epochs=2, device="cpu")
TIMEOUT = 60  # seconds for anything that trains on the tiny data
OOM = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.11 GiB"


def poll(predicate, timeout: float = TIMEOUT, every: float = 0.05):
    """The predicate's first truthy value, checked every `every` seconds until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


# -- divergence ------------------------------------------------------------------------------------

def test_divergence_keeps_the_good_epochs_and_the_last_good_model(tiny_data_dir, runs_dir, monkeypatch):
    """Epoch 3 turns the loss and the weights to NaN: the run keeps epochs 1-2 and epoch 2's weights."""
    begin, step, snapshot = TorchStepper.begin_epoch, TorchStepper.step, TorchStepper.snapshot
    good_weights: list[dict[str, torch.Tensor]] = []

    def counting_begin(self):
        self.epochs_begun = getattr(self, "epochs_begun", 0) + 1
        begin(self)

    def exploding_step(self, index):
        step(self, index)
        if self.epochs_begun == 3:
            self.loss_sum += float("nan")
            with torch.no_grad():
                for p in self.model.parameters():
                    p.fill_(float("nan"))

    def recording_snapshot(self):
        snapshot(self)
        good_weights.append({k: v.clone() for k, v in self.model.state_dict().items()})

    monkeypatch.setattr(TorchStepper, "begin_epoch", counting_begin)
    monkeypatch.setattr(TorchStepper, "step", exploding_step)
    monkeypatch.setattr(TorchStepper, "snapshot", recording_snapshot)
    store = RunStore(runs_dir)
    outcome = run_experiment(CONFIG.with_(epochs=5), store=store, data_dir=tiny_data_dir)

    info = store.info(outcome.run_id)
    assert info.status == "diverged" and outcome.result.status == "diverged"
    assert info.message == "loss became NaN at epoch 3: lower the learning rate (now 0.01), e.g. to 0.001."
    assert info.epochs_done == 2
    history = store.history(outcome.run_id)
    assert [h["epoch"] for h in history] == [1, 2]  # the curves of the good epochs
    assert all(h["train_loss"] == h["train_loss"] for h in history)  # no NaN in them
    model = store.open(outcome.run_id).model()
    assert len(good_weights) == 2
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, good_weights[-1][name]), name  # epoch 2's weights, not the NaN ones
    evaluation = store.open(outcome.run_id).evaluation()
    assert evaluation.accuracy == info.test_accuracy == pytest.approx(history[-1]["test_accuracy"])


# -- out of memory ---------------------------------------------------------------------------------

@pytest.fixture
def oom_on_seed(monkeypatch):
    """TorchStepper.step raises CUDA's out-of-memory error for configs with seed 13; returns weakrefs to their models."""
    step, models = TorchStepper.step, []

    def step_or_oom(self, index):
        if self.config.seed == 13:
            models.append(weakref.ref(self.model))
            raise torch.OutOfMemoryError(OOM)
        step(self, index)

    monkeypatch.setattr(TorchStepper, "step", step_or_oom)
    return models


@pytest.mark.parametrize("phase", ["step", "evaluate"])
def test_out_of_memory_is_a_plain_device_error_and_frees_the_model(tiny_data_dir, runs_dir, oom_on_seed,
                                                                    monkeypatch, phase):
    """The model is unreachable by the time the CUDA cache is emptied, whether training or evaluation ran out."""
    if phase == "evaluate":
        def evaluate_oom(model, *args, **kwargs):
            oom_on_seed.append(weakref.ref(model))
            raise torch.OutOfMemoryError(OOM)

        monkeypatch.setattr(experiment, "evaluate", evaluate_oom)
    alive_when_emptied = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: alive_when_emptied.extend(r() for r in oom_on_seed))
    store = RunStore(runs_dir)
    config = CONFIG.with_(seed=13 if phase == "step" else 0)
    expected = (f"ran out of memory: this model ({config.model.parameter_count():,} parameters) with batch 50 does "
                "not fit in this machine's memory; use narrower layers or a smaller batch.")
    with pytest.raises(DeviceError) as caught:
        run_experiment(config, store=store, data_dir=tiny_data_dir)
    assert str(caught.value) == expected
    assert caught.value.__context__ is None and caught.value.__cause__ is None  # no CUDA text, no traceback
    assert len(oom_on_seed) == 1 and alive_when_emptied == [None], "the failed run's model was still referenced"
    (info,) = store.list()
    assert info.status == "failed" and info.message == expected


def test_out_of_memory_message_names_the_gpu(monkeypatch):
    monkeypatch.setattr(experiment, "device_name", lambda device: "NVIDIA H100 80GB HBM3")
    config = CONFIG.with_(hidden=(4096, 4096), batch_size=512)
    assert out_of_memory_message(config, torch.device("cuda")) == (
        f"ran out of GPU memory: this model ({config.model.parameter_count():,} parameters) with batch 512 does not "
        "fit on NVIDIA H100 80GB HBM3; use narrower layers or a smaller batch.")


def test_out_of_memory_job_fails_plainly_and_the_next_job_runs(tiny_data_dir, runs_dir, oom_on_seed):
    queue = JobQueue(per_device=1)
    failing = queue.submit(CONFIG.with_(seed=13), owner="alice", data_dir=tiny_data_dir, runs_dir=runs_dir)
    after = queue.submit(CONFIG.with_(seed=14), owner="bob", data_dir=tiny_data_dir, runs_dir=runs_dir)
    failed = queue.wait(failing, TIMEOUT)
    assert failed.status == "failed"
    assert failed.message.startswith("ran out of memory: this model") and failed.message.endswith("smaller batch.")
    assert "\n" not in failed.message and "CUDA" not in failed.message and "Traceback" not in failed.message
    assert queue.wait(after, TIMEOUT).status == "finished"
    store = RunStore(runs_dir)
    assert failed.run_id and store.info(failed.run_id).status == "failed"
    assert store.info(failed.run_id).message == failed.message


def test_out_of_memory_in_the_cli_is_one_line_with_exit_2(tiny_data_dir, runs_dir, oom_on_seed, capsys):
    code = main(["train", "--hidden", "16", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--seed", "13",
                 "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir)])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: ran out of memory: this model"), err
    assert "Traceback" not in err and "CUDA out of memory" not in err
    assert [r.status for r in RunStore(runs_dir).list()] == ["failed"]


# -- SIGKILL mid-training --------------------------------------------------------------------------

def test_sigkill_mid_training_leaves_an_interrupted_run_and_the_others_intact(tiny_data_dir, runs_dir, tmp_path):
    store = RunStore(runs_dir)
    done = run_experiment(CONFIG, preset="fast", store=store, data_dir=tiny_data_dir)
    env = {**os.environ, "MNISTLAB_DATA_DIR": str(tiny_data_dir), "MNISTLAB_RUNS_DIR": str(runs_dir)}
    with open(tmp_path / "cli.log", "wb") as log:  # a file, not a pipe: a full pipe would stall the trainer
        proc = subprocess.Popen([sys.executable, "-m", "mnistlab", "train", "--hidden", "16", "--epochs", "10000",
                                 "--batch-size", "10", "--device", "cpu"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        def killed_run():
            assert proc.poll() is None, (tmp_path / "cli.log").read_text()
            return next((r for r in store.list() if r.run_id != done.run_id and r.epochs_done >= 1), None)

        run_id = poll(killed_run).run_id
        os.kill(proc.pid, signal.SIGKILL)
        # Not reaped yet (a zombie with a /proc entry), it must already read as interrupted.
        info = poll(lambda: (i := store.info(run_id)).status == "interrupted" and i, timeout=10)
    finally:
        proc.kill()
        proc.wait(TIMEOUT)

    assert info.epochs_done >= 1 and info.test_accuracy is not None and info.owner == "cli"
    assert info.message.startswith(f"its process stopped (killed or crashed) after {info.epochs_done} finished epoch")
    history = store.history(run_id)
    assert [h["epoch"] for h in history[:info.epochs_done]] == list(range(1, info.epochs_done + 1))
    runs, broken = store.scan()
    assert {r.run_id: r.status for r in runs} == {done.run_id: "finished", run_id: "interrupted"} and broken == []
    for folder in (store.path(done.run_id), store.path(run_id)):  # every JSON file whole, whatever was cut off
        for path in folder.glob("*.json"):
            json.loads(path.read_text())
    # The run finished before the kill is untouched: its model and evaluation load.
    reloaded = store.open(done.run_id).model()
    for name, tensor in done.result.model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name
    assert store.open(done.run_id).evaluation().accuracy == done.evaluation.accuracy
    assert store.open(run_id).evaluation() is None  # the killed run saved no model, and says so
    store.delete(run_id)  # an interrupted run is not "running": it can be deleted
    assert [r.run_id for r in store.list()] == [done.run_id]


# -- broken run folders ----------------------------------------------------------------------------

def test_broken_folders_are_reported_never_listed_as_runs(tiny_data_dir, runs_dir, caplog):
    store = RunStore(runs_dir)
    good = run_experiment(CONFIG.with_(epochs=1), store=store, data_dir=tiny_data_dir).run_id
    (store.path(good) / f".run.json.{'a' * 12}.tmp").write_text('{"status": "fail')  # a writer killed mid-write
    (runs_dir / ".model.safetensors.0123.tmp").write_bytes(b"\0" * 10)
    (runs_dir / f".deleted-{good}-abcdef").mkdir()  # a delete cut short
    (runs_dir / "README.txt").write_text("not a run")

    def fake_run(name: str, run_json: str | None, config: bool = True) -> None:
        folder = runs_dir / name
        folder.mkdir()
        if config:
            (folder / "config.json").write_text((store.path(good) / "config.json").read_text())
        if run_json is not None:
            (folder / "run.json").write_text(run_json)

    fake_run("20260101-000000-mnist-corrupt-000001", '{"status": "finished", "test_acc')
    fake_run("20260101-000000-mnist-list-000002", "[1, 2]")
    fake_run("20260101-000000-mnist-noconfig-000003", '{"status": "finished"}', config=False)
    fake_run("20260101-000000-mnist-creating-000004", None)  # mkdir done, run.json not written yet
    fake_run("20260101-000000-mnist-abandoned-000005", None)
    old = time.time() - CREATING_GRACE_S - 5
    os.utime(runs_dir / "20260101-000000-mnist-abandoned-000005", (old, old))

    with caplog.at_level(logging.WARNING, logger="mnistlab.runs"):
        assert [r.run_id for r in store.list()] == [good]
        store.list()  # listing again (the dashboard does, every rerun) does not repeat the warnings
    runs, broken = store.scan()
    assert [r.run_id for r in runs] == [good]
    reasons = {b.run_id.split("-")[3]: b.reason for b in broken}
    assert set(reasons) == {"corrupt", "list", "noconfig", "abandoned"}  # "creating" is young: not broken yet
    assert "run.json is not valid JSON" in reasons["corrupt"] and reasons["corrupt"].endswith("delete the run's folder.")
    assert "does not hold a JSON object" in reasons["list"]
    assert "config.json is missing" in reasons["noconfig"]
    assert "has no run.json" in reasons["abandoned"] and "delete its folder" in reasons["abandoned"]
    assert all("\n" not in r and r.count(". ") == 0 for r in reasons.values())  # one sentence each
    assert sorted(r.getMessage() for r in caplog.records) == sorted(reasons.values())
    # Deleting is the fix the message names, and it works on an unreadable run.
    store.delete("20260101-000000-mnist-corrupt-000001")
    assert "corrupt" not in {b.run_id.split("-")[3] for b in store.scan()[1]}


@pytest.mark.usefixtures("app_caches")
def test_unreadable_run_is_named_by_the_cli_and_on_compare(tiny_data_dir, runs_dir, monkeypatch, capsys):
    """A damaged run folder is reported with its fix by `runs` and on Compare, next to the good runs."""
    from streamlit.testing.v1 import AppTest

    store = RunStore(runs_dir)
    good = run_experiment(TrainConfig(model=MLPSpec(hidden=(8,)), epochs=1, batch_size=50, device="cpu"),
                          store=store, data_dir=tiny_data_dir).run_id
    broken = store.path(good).with_name("20260101-000000-broken-run")
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    (broken / "config.json").write_text("{}")
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    out, err = capsys.readouterr()
    assert good in out and "broken-run" not in out
    assert "warning: run 20260101-000000-broken-run cannot be read" in err
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=30)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert any("20260101-000000-broken-run cannot be read" in w.value for w in at.warning)
