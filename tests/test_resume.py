"""Continuing a run: 2 + 2 epochs equal 4 in one go, bit for bit; a SIGKILLed run carries on; bad resumes refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from mnistlab.cli.main import main
from mnistlab.experiment import continued_config, run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import Augment, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
BASE = TrainConfig(model=MLPSpec(hidden=(16,), dropout=0.1), lr=0.05, batch_size=50, epochs=4, device="cpu")
# Wall-clock fields, and "epochs" (the total planned when the row was written: 2 for the parent's rows).
TIMES = {"epoch_seconds", "samples_per_s", "elapsed_s", "epochs"}


def _metrics(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMES} for row in history]


@pytest.mark.parametrize("augment", [Augment(), Augment(rotation=10)], ids=["plain", "augmented"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_two_plus_two_epochs_equal_four_bit_for_bit(tiny_data_dir, runs_dir, optimizer, augment):
    store = RunStore(runs_dir)
    config = BASE.with_(optimizer=optimizer, augment=augment, lr=0.01 if optimizer == "adam" else 0.05)
    whole = run_experiment(config, store=store, data_dir=tiny_data_dir)
    first = run_experiment(config.with_(epochs=2), store=store, data_dir=tiny_data_dir)
    resumed_config = continued_config(store, first.run_id, 2)
    assert resumed_config == config
    second = run_experiment(resumed_config, store=store, data_dir=tiny_data_dir, resume_from=first.run_id)

    for name, tensor in whole.result.model.state_dict().items():
        assert torch.equal(tensor, second.result.model.state_dict()[name]), name
    child = store.open(second.run_id)
    assert child.tags == {"parent": first.run_id, "resumed_from_epoch": 2}
    assert [row["epoch"] for row in child.history()] == [1, 2, 3, 4]
    # Per-layer statistics and confusions carry on too, the parent's initial weights' row included.
    assert _metrics(child.history(layer_stats=True)) == _metrics(store.open(whole.run_id).history(layer_stats=True))
    assert second.evaluation.accuracy == whole.evaluation.accuracy
    assert child.saved_states == [3, 4]  # only the last two states are kept


FEATURES = {  # the weights' moving average alone (on the hand-written SGD step), then every training extra at once
    "ema": dict(ema=0.9, dropout=0.0),
    "ema+mixup+max-norm+warm-up+input dropout": dict(ema=0.95, mixup=0.3, max_norm=1.0, warmup_epochs=3,
                                                     input_dropout=0.2, optimizer="momentum", norm="batch",
                                                     norm_where="after"),
    "ema+fgsm": dict(ema=0.9, adversarial="fgsm", adversarial_eps=0.1),
    "ema+vat (its random probe from the saved generator)": dict(ema=0.9, adversarial="vat", adversarial_eps=2.0),
}


@pytest.mark.parametrize("changes", FEATURES.values(), ids=FEATURES.keys())
def test_two_plus_two_epochs_equal_four_bit_for_bit_with_ema_and_the_other_extras(tiny_data_dir, runs_dir, changes):
    store = RunStore(runs_dir)
    config = BASE.with_(**changes)
    whole = run_experiment(config, store=store, data_dir=tiny_data_dir)
    first = run_experiment(config.with_(epochs=2), store=store, data_dir=tiny_data_dir)
    assert any(k.startswith("ema.") for k in store.open(first.run_id).training_state(2).tensors)
    second = run_experiment(continued_config(store, first.run_id, 2), store=store, data_dir=tiny_data_dir,
                            resume_from=first.run_id)
    for name, tensor in whole.result.model.state_dict().items():  # the average: what the run saves
        assert torch.equal(tensor, second.result.model.state_dict()[name]), name
    assert _metrics(store.open(second.run_id).history(layer_stats=True)) == _metrics(
        store.open(whole.run_id).history(layer_stats=True))
    assert second.evaluation.accuracy == whole.evaluation.accuracy


def test_numpy_engine_continues_bit_for_bit(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), engine="numpy", lr=0.1, batch_size=50, epochs=4, device="cpu")
    whole = run_experiment(config, store=store, data_dir=tiny_data_dir)
    first = run_experiment(config.with_(epochs=2), store=store, data_dir=tiny_data_dir)
    second = run_experiment(continued_config(store, first.run_id, 2), store=store, data_dir=tiny_data_dir,
                            resume_from=first.run_id)
    for name, tensor in whole.result.model.state_dict().items():
        assert torch.equal(tensor, second.result.model.state_dict()[name]), name
    assert _metrics(store.open(second.run_id).history(layer_stats=True)) == _metrics(
        store.open(whole.run_id).history(layer_stats=True))


def test_cli_continues_a_sigkilled_run_from_its_last_saved_epoch(tiny_data_dir, runs_dir, tmp_path, monkeypatch,
                                                                capsys):
    store = RunStore(runs_dir)
    env = {**os.environ, "MNISTLAB_DATA_DIR": str(tiny_data_dir), "MNISTLAB_RUNS_DIR": str(runs_dir)}
    with open(tmp_path / "cli.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mnistlab", "train", "--hidden", "16", "--epochs", "10000",
                                 "--batch-size", "10", "--device", "cpu", "--optimizer", "adam"],
                                cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not (runs := [r for r in store.list() if r.epochs_done >= 2]):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "cli.log").read_text()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(60)
    parent = store.open(runs[0].run_id)
    assert parent.status == "interrupted"
    last = parent.saved_states[-1]
    assert last >= 2

    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    assert main(["train", "--resume", parent.run_id, "--epochs", "1", "--lr", "0.0005"]) == 0
    child_id = capsys.readouterr().out.split()[-1]
    child = store.open(child_id)
    assert child.status == "finished" and child.tags == {"parent": parent.run_id, "resumed_from_epoch": last}
    assert child.config.epochs == last + 1 and child.config.lr == 0.0005
    assert [row["epoch"] for row in child.history()] == list(range(1, last + 2))
    assert child.history()[:last] == parent.history()[:last]


def test_bad_resumes_are_one_sentence_and_exit_2(tiny_data_dir, runs_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    store = RunStore(runs_dir)
    done = run_experiment(BASE.with_(epochs=1), store=store, data_dir=tiny_data_dir)
    stateless = run_experiment(BASE.with_(epochs=1), store=store, data_dir=tiny_data_dir)
    for path in (store.path(stateless.run_id) / "epochs").glob("state-*"):
        path.unlink()  # as a run from before states were saved
    cases = {
        ("--resume", "no-such-run", "--epochs", "1"): "no-such-run",
        ("--resume", stateless.run_id, "--epochs", "1"): "no saved training state",
        ("--resume", done.run_id, "--epochs", "1", "--hidden", "32"): "--hidden",
        ("--resume", done.run_id, "--epochs", "1", "--preset", "fast"): "--preset",
        ("--resume", done.run_id): "--epochs",
    }
    for argv, needle in cases.items():
        assert main(["train", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, (argv, err)
    assert len(store.list()) == 2  # nothing was created by a refused resume


def test_a_damaged_state_is_one_sentence(tiny_data_dir, runs_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    store = RunStore(runs_dir)
    done = run_experiment(BASE.with_(epochs=1), store=store, data_dir=tiny_data_dir)
    save_file({"model.nothing": torch.zeros(3)}, str(store.path(done.run_id) / "epochs" / "state-001.safetensors"))
    assert main(["train", "--resume", done.run_id, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "training state does not fit" in err, err
