"""Bringing a run back: a downloaded run (weights + config) imported into another store, bad files refused."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save

from mnistlab.cli.main import main
from mnistlab.data.load import load_split
from mnistlab.errors import MnistlabError
from mnistlab.experiment import run_experiment
from mnistlab.export import export_run
from mnistlab.models.spec import MLPSpec
from mnistlab.predict import predict_run
from mnistlab.runs.importing import import_uploads, pair_names
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

CONFIG = TrainConfig(model=MLPSpec(hidden=(16,), norm="batch", input_scale="standardize"), epochs=2, batch_size=50,
                     optimizer="adam", lr=1e-2, device="cpu")


@pytest.fixture(scope="module")
def original(tmp_path_factory, tiny_data_dir) -> tuple[RunStore, str, Path, Path]:
    """A trained run and the two files its Results page downloads (exported with the CLI's core call)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    run_id = run_experiment(CONFIG, preset="fast", store=store, data_dir=tiny_data_dir).run_id
    weights, config = export_run(store, run_id, "safetensors", tmp_path_factory.mktemp("download"))
    return store, run_id, weights, config


def test_an_imported_run_opens_predicts_and_scores_like_the_original(original, tiny_data_dir, tmp_path, capsys):
    store, run_id, weights, config = original
    other = RunStore(tmp_path / "class-store")
    assert main(["runs", "import", str(weights), str(config), "--runs-dir", str(other.root),
                 "--data-dir", str(tiny_data_dir)]) == 0
    (info,) = other.list()
    assert capsys.readouterr().out.startswith(f"{info.run_id}: imported from run {run_id}; test accuracy ")
    assert info.status == "finished" and info.message.startswith(f"imported from run {run_id}")
    assert info.preset == "fast" and info.epochs_done == CONFIG.epochs and info.dataset == "mnist"
    mine, theirs = other.open(info.run_id), store.open(run_id)
    assert mine.config == theirs.config and mine.classes == theirs.classes
    assert mine.tags["imported_from"] == {"file": weights.name, "run_id": run_id}
    ev, original_ev = mine.evaluation(), theirs.evaluation()
    assert np.array_equal(ev.predictions, original_ev.predictions) and ev.accuracy == info.test_accuracy
    assert np.allclose(ev.probabilities, original_ev.probabilities, atol=1e-6)
    image = load_split("mnist", "test", tiny_data_dir).images[0].numpy()
    png = tmp_path / "image.png"
    Image.fromarray(image).save(png)
    assert predict_run(other, info.run_id, png).probabilities == pytest.approx(
        predict_run(store, run_id, png).probabilities, abs=1e-6)


def test_without_its_dataset_the_run_is_imported_unevaluated_and_says_how_to_fix_it(original, tmp_path):
    _, _, weights, config = original
    other = RunStore(tmp_path / "runs")
    (done,) = import_uploads(other, [(weights.name, weights.read_bytes()), (config.name, config.read_bytes())],
                             data_dir=tmp_path / "no-data")
    assert done.evaluation is None and "not evaluated" in done.message and "data fetch --dataset mnist" in done.message
    run = other.open(done.run_id)
    assert run.status == "finished" and run.evaluation() is None and run.has_model


def test_a_bare_train_config_is_accepted_too(original, tiny_data_dir, tmp_path):
    _, _, weights, _ = original
    bare = CONFIG.with_(outputs=10).to_json().encode()
    (done,) = import_uploads(RunStore(tmp_path / "runs"), [(weights.name, weights.read_bytes()), ("c.json", bare)],
                             data_dir=tiny_data_dir)
    assert done.evaluation is not None and done.message.startswith(f"imported from '{weights.name}'")


def test_pairs_are_matched_by_name_and_lone_files_are_named():
    assert pair_names(["a.safetensors", "b-config.json", "b.safetensors", "a.json"]) == [
        ("a.safetensors", "a.json"), ("b.safetensors", "b-config.json")]
    with pytest.raises(MnistlabError, match="'c.safetensors' has no config beside it"):
        pair_names(["a.safetensors", "a.json", "c.safetensors"])
    with pytest.raises(MnistlabError, match="'x.json' has no weights"):
        pair_names(["a.safetensors", "a.json", "x.json"])


class Payload:
    """Pickled, this creates a folder when (and only if) something unpickles it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _torch_save(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _tensors(weights: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return load(weights.read_bytes())


def _edit_config(config: Path, **changes) -> bytes:
    document = json.loads(config.read_text())
    document["config"]["model"].update(changes)
    return json.dumps(document).encode()


# Each case: (weights bytes, config bytes) made from the good pair (and a marker path), words of the one sentence.
BAD = {
    "pickle as .safetensors": (lambda w, c, m: (pickle.dumps({"w": Payload(m)}), c.read_bytes()), "is a pickle"),
    "torch.save as .safetensors": (lambda w, c, m: (_torch_save({"w": Payload(m)}), c.read_bytes()), "is a pickle"),
    "config for other layer sizes": (lambda w, c, m: (w.read_bytes(), _edit_config(c, hidden=[32])),
                                     "was saved for the network '784-16-10 relu, batchnorm' but its config describes "
                                     "'784-32-10 relu, batchnorm'"),
    "config for other shapes, no metadata": (lambda w, c, m: (save(_tensors(w)), _edit_config(c, hidden=[32])),
                                             "layers.0.weight is (16, 784) float32, the config needs (32, 784) float32"),
    "float64 weights": (lambda w, c, m: (save({k: v.double() if v.is_floating_point() else v
                                               for k, v in _tensors(w).items()}), c.read_bytes()), "float64"),
    "NaN weights": (lambda w, c, m: (save({k: v * float("nan") if v.is_floating_point() else v
                                           for k, v in _tensors(w).items()}), c.read_bytes()), "NaN or infinite"),
    "truncated safetensors": (lambda w, c, m: (w.read_bytes()[: len(w.read_bytes()) // 2], c.read_bytes()),
                              "not a readable safetensors file"),
    "oversized weights": (lambda w, c, m: (w.read_bytes() + bytes(3 << 20), c.read_bytes()), "the limit is"),
    "config not JSON": (lambda w, c, m: (w.read_bytes(), b"epochs = 3"), "not valid JSON"),
    "config with unknown keys": (lambda w, c, m: (w.read_bytes(), b'{"config": {}, "evil": 1}'), "unknown key(s)"),
    "config with a bad setting": (lambda w, c, m: (w.read_bytes(), _edit_config(c, dropout=1.5)), "dropout"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_gets_one_sentence_exit_2_and_creates_nothing(case, original, tmp_path, capsys):
    _, _, weights, config = original
    make, words = BAD[case]
    marker = tmp_path / "unpickled"
    data, text = make(weights, config, marker)
    bad_weights, bad_config = tmp_path / "run.safetensors", tmp_path / "run-config.json"
    bad_weights.write_bytes(data)
    bad_config.write_bytes(text)
    other = RunStore(tmp_path / "runs")
    code = main(["runs", "import", str(bad_weights), str(bad_config), "--runs-dir", str(other.root)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and words in err, err
    assert "Traceback" not in err and len(err) < 500
    assert other.scan() == ([], []) and not marker.exists()
    with pytest.raises(MnistlabError) as error:  # the dashboard's upload says the same
        import_uploads(other, [(bad_weights.name, data), (bad_config.name, text)])
    assert words in str(error.value) and other.scan() == ([], [])


@pytest.mark.parametrize("name,words", [("model.pt", "PyTorch pickle file"), ("notes.txt", "neither a run's weights")])
def test_other_kinds_of_file_are_refused_by_name_without_being_read(name, words, original, tmp_path, capsys):
    _, _, _, config = original
    marker = tmp_path / "unpickled"
    (tmp_path / name).write_bytes(pickle.dumps(Payload(marker)))
    assert main(["runs", "import", str(tmp_path / name), str(config), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert words in capsys.readouterr().err and not marker.exists() and not (tmp_path / "runs").exists()


def test_the_payload_would_run_if_unpickled(tmp_path):
    """The refusals above mean something: this payload does run when unpickled."""
    marker = tmp_path / "unpickled"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.is_dir()
