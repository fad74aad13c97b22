"""Classifying a user's image with a stored run: the same inputs as training, and clear refusals."""

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnistlab.cli.main import main
from mnistlab.data.datasets import FASHION_MNIST
from mnistlab.data.load import load_split
from mnistlab.errors import RunStoreError
from mnistlab.evaluate import evaluate
from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.predict import Prediction, predict_image, predict_run
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIG = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, optimizer="adam", lr=1e-2, device="cpu")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_data_dir) -> tuple[RunStore, str]:
    """A run store holding one finished MNIST run (a tiny model, one epoch on the synthetic data)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    return store, run_experiment(CONFIG, preset="fast", store=store, data_dir=tiny_data_dir).run_id


@pytest.fixture(scope="module")
def seven(tmp_path_factory) -> Path:
    """A black-on-white '7' saved as a PNG, like a photo of a drawing on paper."""
    im = Image.new("RGB", (300, 400), (255, 255, 255))
    ImageDraw.Draw(im).line([(60, 50), (240, 50), (130, 330)], fill=(0, 0, 0), width=24, joint="curve")
    path = tmp_path_factory.mktemp("images") / "seven.png"
    im.save(path)
    return path


def cli(*args):
    return subprocess.run([sys.executable, "-m", "mnistlab", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy(), timeout=300)


def test_predict_image_matches_evaluate_with_standardisation_batchnorm_and_dropout(tiny_data_dir):
    torch.manual_seed(0)
    model = build_model(MLPSpec(hidden=(32,), norm="batch", dropout=0.5, output="sigmoid", input_scale="standardize"))
    model.set_standardization(0.13, 0.31)
    model.layers[1].running_mean.uniform_(-1, 1)  # eval mode must use these, not the batch's statistics
    split = load_split("mnist", "test", tiny_data_dir)
    reference = evaluate(model, split)
    for i in range(5):
        prediction = predict_image(model, split.images[i].numpy(), split.classes)
        np.testing.assert_allclose(prediction.probabilities, reference.probabilities[i], atol=1e-6)
        assert prediction.label == reference.predictions[i] and prediction.class_name == str(prediction.label)
        assert abs(sum(prediction.probabilities) - 1) < 1e-6
    assert model.training  # handed back in the mode it came in


def test_top_lists_the_most_probable_classes_first():
    probabilities = (0.05, 0.6, 0.05, 0.3) + (0.0,) * 6
    prediction = Prediction(1, "1", probabilities, tuple("0123456789"), np.zeros((28, 28), np.uint8))
    assert prediction.top(2) == [("1", 0.6), ("3", 0.3)]


def test_predict_run_prepares_the_image_and_names_the_classes(trained, seven):
    store, run_id = trained
    prediction = predict_run(store, run_id, seven)
    assert prediction.classes == tuple(str(i) for i in range(10))
    assert prediction.prepared.inverted and prediction.image is prediction.prepared.image
    assert prediction.image.shape == (28, 28) and prediction.image.max() == 255
    assert prediction.label == int(np.argmax(prediction.probabilities))


def test_a_fashion_run_answers_with_fashion_class_names(tmp_path, tiny_data_dir, seven):
    store = RunStore(tmp_path / "runs")
    run_id = run_experiment(CONFIG.with_(dataset="fashion-mnist"), store=store, data_dir=tiny_data_dir).run_id
    prediction = predict_run(store, run_id, seven.read_bytes(), "seven.png")
    assert prediction.classes == FASHION_MNIST.classes and prediction.class_name in FASHION_MNIST.classes


def test_a_run_without_a_model_yet_says_so(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create(CONFIG.to_dict())  # this process owns it: still "running"
    with pytest.raises(RunStoreError, match=f"run {run_id} has no saved model yet \\(status running\\)"):
        predict_run(store, run_id, b"not read")


def test_cli_json_contract(trained, seven):
    store, run_id = trained
    proc = cli("predict", "--run", run_id, seven, "--runs-dir", store.root, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"run_id", "image", "label", "class_name", "probabilities", "inverted"}
    assert out["run_id"] == run_id and out["image"] == str(seven) and out["inverted"] is True
    assert list(out["probabilities"]) == [str(i) for i in range(10)]
    assert abs(sum(out["probabilities"].values()) - 1) < 1e-6
    assert out["class_name"] == max(out["probabilities"], key=out["probabilities"].get) == str(out["label"])


def test_cli_table(trained, seven, capsys):
    store, run_id = trained
    assert main(["predict", "--run", run_id, str(seven), "--runs-dir", str(store.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{seven}: ") and f"by run {run_id}" in lines[0]
    assert len(lines) == 6 and "█" in lines[1]
    shares = [float(line.split()[1].rstrip("%")) for line in lines[1:]]
    assert shares == sorted(shares, reverse=True)


@pytest.mark.parametrize("run_id, image, message", [
    ("../x", "seven", "'../x' is not a valid run id"),
    ("20260101-000000-mnist-none-000000", "seven", "run 20260101-000000-mnist-none-000000 not found"),
    (None, "missing.png", "missing.png not found"),
    (None, "text.png", "text.png is not an image file"),
])
def test_cli_bad_input_exits_2_with_one_line(trained, seven, tmp_path, capsys, run_id, image, message):
    store, good_run = trained
    (tmp_path / "text.png").write_text("hello")
    path = seven if image == "seven" else tmp_path / image
    code = main(["predict", "--run", run_id or good_run, str(path), "--runs-dir", str(store.root)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ") and message in err, err


class Payload:
    """Pickled, this creates a folder when (and only if) something unpickles it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_cli_refuses_a_model_file_replaced_by_a_pickle_without_unpickling_it(trained, seven, tmp_path):
    store, run_id = trained
    forged = f"{run_id[:-6]}f0f0f0"
    shutil.copytree(store.path(run_id), store.path(forged))
    marker = tmp_path / "unpickled"
    for payload in (pickle.dumps({"weights": Payload(marker)}), _torch_save({"weights": Payload(marker)})):
        (store.path(forged) / "model.safetensors").write_bytes(payload)
        proc = cli("predict", "--run", forged, seven, "--runs-dir", store.root)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert "model.safetensors: not a readable safetensors file" in line
        assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload does work when unpickled
    assert marker.is_dir()


def _torch_save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()
