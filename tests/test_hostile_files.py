"""Hostile files (issue 12): config files, special files, strict JSON output, data links and identity, huge models."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from mnistlab.cli import jsonout
from mnistlab.cli.main import main
from mnistlab.errors import ConfigError, DataError
from mnistlab.imageprep import read_image
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


BAD_CONFIGS = {  # name → (file content, words the one-sentence message must hold)
    "deeply nested": ("[" * 30_000 + "]" * 30_000, "nested more than"),
    "5,000-digit integer": ('{"seed": ' + "9" * 5000 + "}", "5,000 digits"),
    "not UTF-8": (b'{"epochs": 1, "dataset": "\xff"}', "not UTF-8"),
    "model a string": ('{"model": "x"}', "model must be a JSON object"),
    "model a list": ('{"model": [1, 2]}', "model must be a JSON object"),
    "model a number": ('{"model": 7}', "model must be a JSON object"),
    "model null": ('{"model": null}', "model must be a JSON object"),
    "augment a number": ('{"augment": 5}', "augment must be a JSON object"),
    "NaN": ('{"lr": NaN}', "NaN is not a value"),
    "flip not a bool": ('{"augment": {"hflip": "yes"}}', "augment.hflip must be true or false"),
    "too large": ('{"epochs": 1}' + " " * 70_000, "the limit is 64.0 KB"),
    "not JSON": ("epochs = 3", "not valid JSON"),
    "not an object": ("[1, 2, 3]", "must be a JSON object"),
}


def _write(path: Path, content) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_a_bad_config_file_gets_one_sentence_naming_the_file(case, tmp_path):
    content, words = BAD_CONFIGS[case]
    path = _write(tmp_path / "config.json", content)
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_file(path)
    message = str(error.value)
    assert words in message and "config.json" in message
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "missing"])
def test_a_config_that_is_not_a_regular_file_is_refused_without_reading_it(kind, tmp_path):
    path = {"directory": tmp_path, "device": Path("/dev/zero"), "missing": tmp_path / "nope.json",
            "fifo": tmp_path / "pipe"}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block forever
    with pytest.raises(ConfigError, match="directory|named pipe|device|not found"):
        TrainConfig.from_file(path)


def test_a_good_config_file_round_trips(tmp_path):
    config = TrainConfig(epochs=2, lr=0.05)
    assert TrainConfig.from_file(_write(tmp_path / "c.json", config.to_json())) == config


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_an_image_that_is_not_a_regular_file_says_what_it_is(kind, tmp_path):
    path = {"directory": tmp_path, "device": Path("/dev/urandom"), "fifo": tmp_path / "pipe"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    with pytest.raises(DataError) as error:
        read_image(path)
    assert {"directory": "is a directory", "fifo": "named pipe", "device": "is a device"}[kind] in str(error.value)
    assert "not found" not in str(error.value)


def test_json_output_is_strict_and_says_which_numbers_were_not_finite():
    text = jsonout.dumps({"loss": float("nan"), "probabilities": [0.5, float("inf")], "ok": 1})
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))
    assert data["loss"] is None and data["probabilities"] == [0.5, None] and data["ok"] == 1
    assert data["non_finite"]["paths"] == ["loss", "probabilities.1"]
    assert json.loads(jsonout.dumps({"a": 1.5})) == {"a": 1.5}  # nothing added when all is finite


def test_cli_json_outputs_parse_as_strict_json(capsys, tmp_path):
    for argv in (["presets", "--json"], ["runs", "--json", "--runs-dir", str(tmp_path)]):
        assert main(argv) == 0
        json.loads(capsys.readouterr().out.strip().splitlines()[-1],
                   parse_constant=lambda c, argv=argv: pytest.fail(f"{c} in {argv}"))


def test_the_dashboard_listens_on_this_machine_only_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_a_fetch_removes_what_a_killed_fetch_left(tmp_path):
    import subprocess
    import time as clock

    from mnistlab.data.fetch import OWNER_FILE, STALE_PART_S, WORKDIR_PREFIX, clean_leftovers

    base, temp = tmp_path / "data" / "mnist", tmp_path / "tmp"
    base.mkdir(parents=True)
    temp.mkdir()
    stale, fresh = base / ".train-images-idx3-ubyte.gz.abc.part", base / ".t10k-images-idx3-ubyte.gz.def.part"
    for part in (stale, fresh):
        part.write_bytes(b"half a download")
    old = clock.time() - STALE_PART_S - 60
    os.utime(stale, (old, old))
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone, alive = temp / f"{WORKDIR_PREFIX}gone", temp / f"{WORKDIR_PREFIX}alive"
    for folder, pid in ((gone, dead.pid), (alive, os.getpid())):
        folder.mkdir()
        (folder / OWNER_FILE).write_text(str(pid))
        (folder / "npm-train-images-idx3-ubyte").write_bytes(b"x" * 1000)
    removed = clean_leftovers(base, temp)
    assert set(removed) == {stale, gone}
    assert fresh.exists() and alive.exists()  # another fetch may still be writing those


def test_messages_quote_at_most_a_short_prefix_of_a_huge_input():
    with pytest.raises(ConfigError) as error:
        TrainConfig(optimizer="x" * 5000)
    assert len(str(error.value)) < 200 and "…" in str(error.value)


def test_a_model_too_big_to_exist_is_refused_with_the_numbers(tmp_path):
    from safetensors.torch import save_file

    from mnistlab.errors import DeviceError, RunStoreError
    from mnistlab.memory import check_training_fits
    from mnistlab.models.spec import MLPSpec
    from mnistlab.runs.files import load_model

    huge = MLPSpec(hidden=(65_536, 65_536, 65_536))  # 8.6 G parameters, 34 GB of float32
    with pytest.raises(DeviceError, match=r"needs about [\d,.]+ GB; this machine has [\d,.]+ GB free"):
        check_training_fits(huge, 64)
    check_training_fits(MLPSpec(hidden=(1024,)), 128)  # the fast preset fits anywhere
    path = tmp_path / "model.safetensors"  # a stored spec that lies about its size
    import torch

    save_file({"x": torch.zeros(1)}, str(path), metadata={"mnistlab_spec": huge.to_json()})
    with pytest.raises(RunStoreError, match="needs about"):
        load_model(path)


def test_a_data_file_linking_out_of_the_data_directory_is_not_followed(tmp_path, tiny_data_dir):
    import shutil

    from mnistlab.data.load import load_split

    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    shutil.copytree(tiny_data_dir / "mnist", root / "mnist")
    outside.mkdir()
    label = root / "mnist" / "t10k-labels-idx1-ubyte"
    shutil.move(label, outside / label.name)
    label.symlink_to(outside / label.name)
    assert len(load_split("mnist", "train", root)) == 600  # the other split is untouched
    with pytest.raises(DataError, match="outside the data directory"):
        load_split("mnist", "test", root)


def test_another_datasets_file_in_a_dataset_folder_is_named(tmp_path, real_data_dir):
    import shutil

    from mnistlab.data.load import load_split

    root = tmp_path / "data"
    shutil.copytree(real_data_dir / "mnist", root / "mnist")
    assert load_split("mnist", "test", root).meta["unverified"] == []
    shutil.copy(real_data_dir / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz", root / "mnist")
    with pytest.raises(DataError, match="is Fashion-MNIST .*'s t10k-labels-idx1-ubyte, not mnist's"):
        load_split("mnist", "test", root)


def test_files_that_are_no_known_dataset_load_and_say_so(tiny_data_dir):
    from mnistlab.data.load import load_split

    assert load_split("mnist", "test", tiny_data_dir).meta["unverified"] == ["t10k-images-idx3-ubyte",
                                                                              "t10k-labels-idx1-ubyte"]
