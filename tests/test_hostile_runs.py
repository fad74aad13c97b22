"""Hostile run folders and environments (issue 12): damaged run files, links out of the store, bad disks, signals."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mnistlab.cli.main import main
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory, tiny_data_dir):
    """One finished tiny run; each test damages a copy of its folder."""
    from mnistlab.experiment import run_experiment
    from mnistlab.models.spec import MLPSpec
    from mnistlab.runs.store import RunStore

    store = RunStore(tmp_path_factory.mktemp("runs"))
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=2, batch_size=64, device="cpu")
    return store, run_experiment(config, store=store, data_dir=tiny_data_dir).run_id


DAMAGE = {  # file → what is written in its place
    "history.json": '{"a": 1}',
    "layer-stats.jsonl": "null\n5\n[1]\n",
    "evaluation.json": '{"loss": 0.5}',
    "initial-layers.json": "[1, 2]",
}


@pytest.mark.parametrize("name", [*DAMAGE, "history.json as /dev/zero"])
def test_a_damaged_run_file_is_a_sentence_or_skipped_never_a_crash(name, stored_run, tmp_path):
    import shutil

    from mnistlab.errors import RunStoreError
    from mnistlab.runs.store import RunStore

    store, run_id = stored_run
    copy = RunStore(tmp_path / "runs")
    shutil.copytree(store.path(run_id), copy.path(run_id))
    target = copy.path(run_id) / name.split(" ")[0]
    if name.endswith("/dev/zero"):
        target.unlink()
        target.symlink_to("/dev/zero")
    else:
        target.write_text(DAMAGE[name])
    for read in (lambda: copy.open(run_id).history(layer_stats=True), lambda: copy.open(run_id).evaluation()):
        try:
            read()
        except RunStoreError as error:
            assert "\n" not in str(error) and len(str(error)) < 300
    assert [r.run_id for r in copy.list()] == [run_id]  # still listed


# -- the store's environment and the CLI's doors -------------------------------------------------------------

def _cli(args, env_dir, capsys):
    """Run the CLI in-process: (exit status, stderr)."""
    status = main([*args, "--data-dir", str(env_dir)]) if "--data-dir" not in args else main(args)
    return status, capsys.readouterr().err


TINY = ["train", "--hidden", "16", "--epochs", "1", "--batch-size", "64", "--device", "cpu"]


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs mounted for the test (root only; skipped elsewhere), unmounted afterwards."""
    import subprocess

    mount = tmp_path / "mnt"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_a_runs_directory_that_is_a_file_is_one_sentence(tmp_path, tiny_data_dir, capsys):
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    status, err = _cli([*TINY, "--runs-dir", str(runs)], tiny_data_dir, capsys)
    assert status == 2 and "is a file, not a folder" in err and "unexpected" not in err
    assert runs.read_text() == "not a folder"


def test_a_runs_directory_name_too_long_is_one_sentence(tmp_path, tiny_data_dir, capsys):
    status, err = _cli([*TINY, "--runs-dir", str(tmp_path / ("r" * 300))], tiny_data_dir, capsys)
    assert status == 2 and "longer than the file system allows" in err and "unexpected" not in err


def test_a_read_only_runs_directory_is_one_sentence_and_nothing_written(tmpfs, tiny_data_dir, capsys):
    import subprocess

    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    status, err = _cli([*TINY, "--runs-dir", str(tmpfs / "runs")], tiny_data_dir, capsys)
    assert status == 2 and "read-only file system" in err and "unexpected" not in err
    assert _listing(tmpfs) == []


def test_a_disk_that_fills_mid_run_fails_the_run_in_one_sentence(tmpfs, tiny_data_dir, capsys):
    # 784-128-10 weights are 0.4 MB: the initial snapshot, epoch 1's snapshot and its training state (weights and
    # generators, to continue from) fit in 2 MB; epoch 2's do not.
    args = ["train", "--hidden", "128", "--epochs", "5", "--batch-size", "64", "--device", "cpu",
            "--runs-dir", str(tmpfs / "runs")]
    status, err = _cli(args, tiny_data_dir, capsys)
    assert status == 2 and "the disk is full" in err and "unexpected" not in err, err
    assert not [p for p in _listing(tmpfs) if p.endswith(".tmp")]  # no temporary file left behind
    from mnistlab.runs.store import RunStore

    listed = RunStore(tmpfs / "runs").list()
    assert len(listed) == 1 and listed[0].status in ("failed", "interrupted") and listed[0].epochs_done >= 1


def test_sigterm_stops_a_cli_run_as_ctrl_c_does(tmp_path, tiny_data_dir):
    import signal
    import subprocess
    import time as clock

    runs = tmp_path / "runs"
    env = {**os.environ, "MNISTLAB_DATA_DIR": str(tiny_data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "mnistlab", "train", "--hidden", "16", "--epochs", "10000",
                                "--batch-size", "8", "--device", "cpu", "--runs-dir", str(runs)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    history = None
    deadline = clock.monotonic() + 120
    while clock.monotonic() < deadline and not history:
        found = list(runs.glob("*/history.json"))
        history = found and json.loads(found[0].read_text() or "[]")
        clock.sleep(0.2)
    assert history, "no epoch finished"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    run = next(runs.iterdir())
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"
    assert (run / "model.safetensors").is_file() and (run / "evaluation.json").is_file()


def test_a_fifo_config_does_not_hang_the_cli_and_writes_no_run(tmp_path, tiny_data_dir, capsys):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    status, err = _cli([*TINY, "--config", str(fifo), "--runs-dir", str(tmp_path / "runs")], tiny_data_dir, capsys)
    assert status == 2 and "named pipe" in err and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("config", ['{"model": "x"}', '{"augment": 5}', '{"model": null}'])
def test_a_config_of_the_wrong_shape_writes_no_run(config, tmp_path, tiny_data_dir, capsys):
    path = tmp_path / "c.json"
    path.write_text(config)
    status, err = _cli([*TINY, "--config", str(path), "--runs-dir", str(tmp_path / "runs")], tiny_data_dir, capsys)
    assert status == 2 and "must be a JSON object" in err and not (tmp_path / "runs").exists()


def test_a_run_id_with_a_trailing_newline_is_quoted_on_one_line(tmp_path, capsys):
    status = main(["evaluate", "20260101-000000-mnist-fast-abcdef\n", "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "\\n" in err and "line break" in err


def test_an_absurd_train_subset_is_refused(capsys, tmp_path, tiny_data_dir):
    status, err = _cli([*TINY, "--train-subset", str(10**23), "--runs-dir", str(tmp_path / "runs")],
                       tiny_data_dir, capsys)
    assert status == 2 and "train subset must be in [1, 10000000]" in err


def test_run_folders_and_files_that_link_out_of_the_store_are_not_followed(stored_run, tmp_path):
    import shutil

    from mnistlab.errors import RunStoreError
    from mnistlab.runs.store import RunStore

    store, run_id = stored_run
    outside = tmp_path / "outside"
    shutil.copytree(store.path(run_id), outside / run_id)
    linked = RunStore(tmp_path / "runs")
    linked.root.mkdir()
    (linked.root / run_id).symlink_to(outside / run_id)
    listed, unreadable = linked.scan()
    assert listed == [] and "outside the runs directory" in unreadable[0].reason
    inside = RunStore(tmp_path / "runs2")
    shutil.copytree(store.path(run_id), inside.path(run_id))
    model = inside.path(run_id) / "model.safetensors"
    model.unlink()
    model.symlink_to(outside / run_id / "model.safetensors")
    with pytest.raises(RunStoreError, match="outside the runs directory"):
        inside.open(run_id).model()


RUN_DAMAGE = {  # file of a run → what is written in its place
    "run.json": ["[1, 2]", '{"status": 5}', '{"status": "finished", "test_accuracy": "high"}', "/dev/zero"],
    "config.json": ["[1]", '{"preset": null}', '{"config": []}', '{"config": {"model": "x"}}'],
    "history.json": ['{"a": 1}', "[null, 5]", "/dev/zero"],
    "layer-stats.jsonl": ["null\n5\n"],
    "evaluation.json": ['{"loss": 0.5}', '{"loss": "x", "accuracy": 1, "per_class_accuracy": 3, '
                                         '"confusion": [], "classes": []}'],
}
CASES = [(name, i) for name, kinds in RUN_DAMAGE.items() for i in range(len(kinds))]


@pytest.fixture
def damaged(request, stored_run, tmp_path):
    """A copy of the stored run with one file damaged, beside an intact copy of it."""
    import shutil

    from mnistlab.runs.store import RunStore

    name, i = request.param
    store, run_id = stored_run
    copy = RunStore(tmp_path / "runs")
    shutil.copytree(store.path(run_id), copy.path(run_id))
    good = run_id[:-6] + "000000"
    shutil.copytree(store.path(run_id), copy.path(good))
    target = copy.path(run_id) / name
    content = RUN_DAMAGE[name][i]
    target.unlink(missing_ok=True)
    if content == "/dev/zero":
        target.symlink_to("/dev/zero")
    else:
        target.write_text(content)
    return copy, run_id, good


@pytest.mark.parametrize("damaged", CASES, indirect=True, ids=[f"{n}-{i}" for n, i in CASES])
def test_a_damaged_run_never_makes_a_command_crash_or_hides_the_others(damaged, tiny_data_dir, capsys, tmp_path):
    from PIL import Image

    store, bad, good = damaged
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28), 0).save(image)
    Image.frombytes("L", (4, 4), bytes([255] * 16)).save(tmp_path / "dot.png")
    commands = [["runs", "--json"], ["evaluate", bad, "--json"],
                ["inspect", bad, "--figure", "gradflow", "--json", "--data-dir", str(tiny_data_dir)],
                ["inspect", bad, "--figure", "diagnose", "--json", "--data-dir", str(tiny_data_dir)],
                ["predict", "--run", bad, str(tmp_path / "dot.png"), "--json"]]
    for argv in commands:
        status = main([*argv, "--runs-dir", str(store.root)])
        out, err = capsys.readouterr()
        assert status in (0, 2), (argv, err)
        assert "unexpected" not in err and "Traceback" not in err, (argv, err)
        assert err.count("\n") <= 3, (argv, err)
    assert main(["runs", "--json", "--runs-dir", str(store.root)]) == 0
    listed = [r["run_id"] for r in json.loads(capsys.readouterr().out)]
    assert good in listed  # the intact run is always listed
    assert main(["evaluate", good, "--json", "--runs-dir", str(store.root)]) == 0
    capsys.readouterr()


def test_predict_json_with_nan_weights_is_strict_json_that_says_why(stored_run, tmp_path, capsys):
    import shutil

    import torch
    from PIL import Image

    from mnistlab.runs.files import save_model
    from mnistlab.runs.store import RunStore

    store, run_id = stored_run
    copy = RunStore(tmp_path / "runs")
    shutil.copytree(store.path(run_id), copy.path(run_id))
    model = copy.open(run_id).model()
    with torch.no_grad():
        model.linears()[-1].weight.fill_(float("nan"))
    save_model(copy.path(run_id) / "model.safetensors", model)
    image = tmp_path / "digit.png"
    Image.frombytes("L", (8, 8), bytes([0, 255] * 32)).save(image)
    assert main(["predict", "--run", run_id, str(image), "--json", "--runs-dir", str(copy.root)]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in --json"))
    assert all(p is None for p in data["probabilities"].values()) and data["non_finite"]["count"] == 10
