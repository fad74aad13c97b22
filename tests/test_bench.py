"""The benchmark's pieces on tiny data: torchvision layout, the canonical loop, the report contract."""

import json

import numpy as np
import pytest
import torch

from mnistlab.bench import BenchOptions, format_report, run_baseline, run_bench, torchvision_root
from mnistlab.bench.run import SnapshotSubscriber, seconds_to
from mnistlab.cli.main import main
from mnistlab.data.load import load_split
from mnistlab.errors import ConfigError, DataError
from mnistlab.train.events import EpochEnded, StepProgress

REPORT_KEYS = ("device", "device_name", "torch_version", "baseline_epoch_s", "mnistlab_epoch_s", "speedup",
               "baseline_test_accuracy", "mnistlab_test_accuracy", "fast_seconds_to_98", "fast_test_accuracy",
               "progress_overhead", "host_peak_mb", "device_peak_mb", "epochs", "cpu_threads", "timestamp")
CPU = torch.device("cpu")


def test_torchvision_layout_reads_the_same_data(tiny_data_dir, tmp_path):
    from torchvision import datasets

    root = torchvision_root(tiny_data_dir, tmp_path)  # train files are .gz, test files raw: both handled
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    for train, split in ((True, "train"), (False, "test")):
        tv = datasets.MNIST(str(root), train=train, download=False)
        ours = load_split("mnist", split, tiny_data_dir)
        assert torch.equal(tv.data, ours.images) and torch.equal(tv.targets, ours.labels)
    assert torchvision_root(tiny_data_dir, tmp_path) == root  # a second call reuses the layout


def test_torchvision_layout_missing_data_says_how_to_fetch(tmp_path):
    with pytest.raises(DataError, match="data fetch"):
        torchvision_root(tmp_path / "nowhere", tmp_path / "tv")


def test_baseline_loop_learns_in_one_short_epoch(tiny_data_dir, tmp_path):
    root = torchvision_root(tiny_data_dir, tmp_path)
    result = run_baseline(root, CPU, epochs=1, warmup_batches=5, seed=0)
    assert result.warmup_batches == 5 and len(result.epoch_seconds) == 1 and result.epoch_seconds[0] > 0
    assert result.test_accuracy > 0.9, result  # synthetic classes are easy: one epoch is plenty
    assert np.isfinite(result.train_loss)
    # Same seed as mnistlab's TorchStepper → same initial weights: the baseline is the same model.
    again = run_baseline(root, CPU, epochs=1, warmup_batches=0, seed=0)
    assert again.warmup_batches == 0 and again.test_accuracy > 0.9


def test_seconds_to_target_and_snapshot_subscriber():
    def ended(epoch, acc, elapsed):
        return EpochEnded(epoch, 3, 0.1, 0.9, None, None, 0.1, acc, 0.1, 1.0, 100.0, elapsed)

    epochs = [ended(1, 0.97, 1.5), ended(2, 0.981, 3.0), ended(3, 0.99, 4.5)]
    assert seconds_to(epochs, 0.98) == 3.0 and seconds_to(epochs, 0.995) is None
    snap = SnapshotSubscriber()
    snap(StepProgress(1, 3, 10, 30, 0.5, 1000.0, 0.2))
    for e in epochs:
        snap(e)
    assert snap.latest["event"] == "EpochEnded" and [r["epoch"] for r in snap.rows] == [1, 2, 3]


def test_report_has_every_key_on_tiny_data(tiny_data_dir):
    lines = []
    options = BenchOptions(device="cpu", epochs=1, data_dir=tiny_data_dir, warmup_batches=3, fast_epochs=2,
                           overhead_rounds=1)
    report = run_bench(options, log=lines.append)
    data = report.to_dict()
    assert all(key in data for key in REPORT_KEYS), set(REPORT_KEYS) - set(data)
    json.dumps(data)  # JSON-ready
    assert data["device"] == "cpu" and data["device_peak_mb"] is None and data["epochs"] == 1
    assert data["speedup"] == pytest.approx(data["baseline_epoch_s"] / data["mnistlab_epoch_s"])
    assert len(data["mnistlab_epoch_seconds"]) == 2  # warm-up + one measured
    assert len(data["mnistlab_interleaved_epoch_seconds"]) == len(data["baseline_epoch_seconds"]) == 1
    assert data["mnistlab_epoch_s"] == min(data["mnistlab_interleaved_epoch_seconds"])
    assert [len(run) for run in data["progress_epoch_seconds"]] == [1, 1, 1]  # headless, subscriber, no-stats
    assert data["layer_stats_overhead"] == pytest.approx(data["progress_headless_epoch_s"] / data["no_stats_epoch_s"] - 1)
    assert 0 <= data["progress_callback_fraction"] < 1
    assert data["baseline_test_accuracy"] > 0.9 and data["mnistlab_test_accuracy"] > 0.9
    assert data["fast_test_accuracy"] is not None and data["host_peak_mb"] > 0
    assert any("baseline" in line for line in lines)
    assert set(data["augment_overhead"]) == {"affine", "elastic"} and data["augment_step_s"]["none"] > 0
    assert data["augment_overhead"]["elastic"] == pytest.approx(
        data["augment_step_s"]["elastic"] / data["augment_step_s"]["none"] - 1)
    assert "speedup" in format_report(report) and "augmentation cost" in format_report(report)


def test_cli_bench_skip_fast_json_and_missing_data(tiny_data_dir, tmp_path, capsys):
    # Tiny data has 30 batches an epoch: the 500-batch baseline warm-up is capped to one epoch.
    code = main(["bench", "--device", "cpu", "--epochs", "1", "--skip-fast", "--json", "--data-dir", str(tiny_data_dir)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["fast_seconds_to_98"] is None and out["fast_test_accuracy"] is None
    assert main(["bench", "--device", "cpu", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "not found" in capsys.readouterr().err


def test_options_are_validated():
    with pytest.raises(ConfigError, match="at least 1"):
        BenchOptions(epochs=0)

