"""The CLI contract: JSON output, exit statuses, one clear line on bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnistlab.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env=None):
    """Run `python -m mnistlab` in a subprocess (the real entry point, exit status included)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mnistlab", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=300)


def test_train_json_contract_then_runs_and_evaluate(tiny_data_dir, runs_dir):
    proc = cli("train", "--hidden", "32", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "50",
               "--epochs", "2", "--device", "cpu", "--data-dir", tiny_data_dir, "--runs-dir", runs_dir, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("run_id", "preset", "dataset", "engine", "device", "epochs", "epoch_seconds", "train_seconds",
                "test_accuracy", "test_loss", "per_class_accuracy", "history"):
        assert key in result, key
    assert result["epochs"] == 2 and len(result["epoch_seconds"]) == 2 and len(result["per_class_accuracy"]) == 10
    assert result["test_accuracy"] > 0.9 and result["device"] == "cpu" and result["engine"] == "torch"
    assert "epoch 2/2" in proc.stderr  # the progress lines go to stderr

    listed = json.loads(cli("runs", "--runs-dir", runs_dir, "--json").stdout)
    assert [r["run_id"] for r in listed] == [result["run_id"]]
    evaluated = json.loads(cli("evaluate", result["run_id"], "--runs-dir", runs_dir, "--json").stdout)
    assert evaluated["accuracy"] == result["test_accuracy"]
    assert len(evaluated["confusion"]) == 10


def test_preset_flags_override_and_numpy_engine_runs(tiny_data_dir, runs_dir, capsys):
    code = main(["train", "--preset", "seed002-numpy", "--epochs", "2", "--train-subset", "300",
                 "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["preset"] == "seed002-numpy" and out["engine"] == "numpy" and out["epochs"] == 2
    assert out["config"]["train_subset"] == 300 and out["config"]["model"]["dropout"] == 0.5


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "-1"], "learning rate must be in (0, 10]"),
    (["train", "--hidden", "512,zero"], "--hidden takes comma-separated layer widths"),
    (["train", "--dropout", "1"], "dropout must be in [0, 1)"),
    (["train", "--device", "cuda", "--epochs", "1"], "no usable CUDA GPU"),
    (["evaluate", "../../etc"], "is not a valid run id"),
    (["evaluate", "20260101-000000-mnist-none-000000"], "not found"),
])
def test_bad_input_exits_2_with_one_line(args, message, tiny_data_dir, runs_dir):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = cli(*args, "--data-dir", tiny_data_dir, "--runs-dir", runs_dir) if args[0] == "train" else \
        cli(*args, "--runs-dir", runs_dir)
    code = proc.returncode
    assert code == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # nothing written


def test_missing_dataset_says_how_to_fetch(tmp_path):
    proc = cli("train", "--epochs", "1", "--data-dir", tmp_path / "empty", "--runs-dir", tmp_path / "runs")
    assert proc.returncode == 2
    assert "python -m mnistlab data fetch --dataset mnist" in proc.stderr


def test_inspect_a_broken_file_exits_2_with_one_clear_line(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05" + b"\x00\x00\x00\x1c" * 2 + bytes(100))
    proc = cli("data", "inspect", bad)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert str(bad) in line and "truncated" in line


def test_inspect_json_of_a_good_file(tiny_data_dir):
    proc = cli("data", "inspect", tiny_data_dir / "mnist" / "t10k-labels-idx1-ubyte", "--json")
    info = json.loads(proc.stdout)
    assert info["count"] == 200 and info["label_histogram"] == [20] * 10


def test_presets_json_lists_every_preset_with_its_published_figure():
    presets = json.loads(cli("presets", "--json").stdout)
    names = {p["name"]: p for p in presets}
    assert {"seed000-mlp", "seed002-numpy", "seed003-vanishing", "seed004-fashion", "fast"} <= set(names)
    assert names["seed003-vanishing"]["published"] == 0.2144
    # A record preset has no published figure: it shows the target it is built to pass.
    assert names["best-mlp-augment"]["published"] is None and names["best-mlp-augment"]["target"] == 0.994
    line = next(x for x in cli("presets").stdout.splitlines() if x.startswith("best-mlp-augment "))
    assert line.endswith("target ≥ 99.4%")


def test_usage_errors_exit_2():
    proc = cli("train", "--optimizer", "rmsprop")
    assert proc.returncode == 2
    assert proc.stderr == "error: optimizer must be one of sgd, momentum, adam, adamw; got 'rmsprop'.\n"
    proc = cli("train", "--turbo")  # argparse's own usage errors keep exit status 2
    assert proc.returncode == 2 and "unrecognized arguments: --turbo" in proc.stderr


def test_a_run_that_did_not_learn_exits_2_with_one_warning_line(tiny_data_dir, runs_dir, capsys):
    code = main(["train", "--preset", "fast", "--hidden", "64", "--batch-size", "64", "--epochs", "5", "--lr", "10",
                 "--device", "cpu", "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["status"] == "stalled" and out["message"].startswith("did not learn:")
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert warnings == [f"warning: {out['message']}"] and "learning rate of 10" in warnings[0]
    assert "stalled: test accuracy" in captured.err  # the progress summary names the status too
