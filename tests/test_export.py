"""Taking a run away: ONNX against onnxruntime, the plain-PyTorch script (run for real), the weights + config pair."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mnistlab.cli.main import main
from mnistlab.data.augment_spec import Augment
from mnistlab.data.load import load_split
from mnistlab.evaluate import evaluate
from mnistlab.experiment import run_experiment
from mnistlab.export import export_run, run_script, run_to_onnx, script_for
from mnistlab.export.onnx_export import OPSET
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.losses import compute_loss
from mnistlab.train.schedule import lr_at

ROOT = Path(__file__).resolve().parents[1]
DIGITS = tuple(str(i) for i in range(10))
# Batch norm (running statistics), dropout, GELU, standardisation, a sigmoid output: every part of forward().
RICH = TrainConfig(model=MLPSpec(hidden=(32, 16), norm="batch", dropout=0.2, activation="gelu", input_scale="standardize",
                                 output="sigmoid", init="he_normal"),
                   epochs=2, batch_size=32, optimizer="momentum", lr=0.05, weight_decay=1e-4, schedule="onecycle",
                   label_smoothing=0.1, train_subset=400, subset_mode="stratified", val_split=0.2, val_mode="random",
                   seed=3, device="cpu")
PLAIN = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=1, batch_size=50, optimizer="adam", lr=1e-2, device="cpu")
# Every training extra: input dropout, batch norm after the activation, max-norm, a warm-up into a cosine, EMA, mixup.
EXTRAS = TrainConfig(model=MLPSpec(hidden=(32, 16), input_dropout=0.2, dropout=0.1, norm="batch", norm_where="after"),
                     max_norm=2.0, warmup_epochs=0.5, ema=0.9, mixup=0.2, schedule="cosine", epochs=2, batch_size=32,
                     optimizer="momentum", lr=0.05, val_split=0.2, seed=3, device="cpu")

# Adversarial training, each kind: fgsm with mixup and dropout, vat with dropout. (With batch norm, vat's script ran
# 1.7569 against the run's 1.7577 test loss after epoch 1: its direction comes from a tiny probe, which magnifies
# float rounding differences. So no batch norm here, where the two agree to the digit.)
FGSM = TrainConfig(model=MLPSpec(hidden=(32,), dropout=0.2), adversarial="fgsm", adversarial_eps=0.1, mixup=0.3,
                   optimizer="momentum", lr=0.05, epochs=2, batch_size=32, val_split=0.2, seed=4, device="cpu")
VAT = TrainConfig(model=MLPSpec(hidden=(32, 16), dropout=0.1), adversarial="vat", adversarial_eps=2.0, epochs=2,
                  batch_size=32, optimizer="adam", lr=1e-3, val_split=0.2, seed=5, device="cpu")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_data_dir) -> tuple[RunStore, dict[str, str]]:
    """A store with a finished run of each config above, trained on the tiny synthetic MNIST."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    return store, {name: run_experiment(config, store=store, data_dir=tiny_data_dir).run_id
                   for name, config in (("rich", RICH), ("plain", PLAIN), ("extras", EXTRAS),
                                                     ("fgsm", FGSM), ("vat", VAT))}


def onnx_outputs(data: bytes, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logits, probabilities) of an ONNX model on float32 `pixels`, by onnxruntime on the CPU."""
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    logits, probabilities = session.run(None, {"pixels": pixels.astype(np.float32)})
    return logits, probabilities


def torch_logits(model, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(images.float() / 255).numpy()


def test_onnx_gives_the_models_predictions_logits_and_probabilities(runs, tiny_data_dir):
    store, ids = runs
    run = store.open(ids["rich"])
    data = run_to_onnx(run)
    test = load_split("mnist", "test", tiny_data_dir)
    logits, probabilities = onnx_outputs(data, test.images.reshape(len(test), 784).numpy() / 255)
    reference = torch_logits(run.model(), test.images)
    evaluation = evaluate(run.model(), test, RICH.loss)
    assert (logits.argmax(1) == reference.argmax(1)).all() and (logits.argmax(1) == evaluation.predictions).all()
    assert np.abs(logits - reference).max() < 1e-4
    assert np.abs(probabilities - evaluation.probabilities).max() < 1e-5  # the sigmoid output, normalised


def test_onnx_is_opset_17_with_a_dynamic_batch_and_the_classes_in_its_metadata(runs):
    store, ids = runs
    run = store.open(ids["plain"])
    proto = onnx.load_from_string(run_to_onnx(run))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET] and OPSET >= 17
    (graph_input,) = proto.graph.input
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == "pixels" and dims == ["batch", 784]
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == list(DIGITS) and meta["run_id"] == run.run_id
    assert meta["dataset"] == "mnist" and meta["mnistlab_version"] and meta["architecture"] == "784-16-10 relu"
    assert "class names" in proto.doc_string


def test_onnx_takes_any_batch_size_and_28x28_images_reshaped_to_784(runs, tiny_data_dir):
    """The graph's input is (N, 784): ONNX fixes an input's rank, so (N, 28, 28) images are reshaped first."""
    store, ids = runs
    run = store.open(ids["plain"])
    data = run_to_onnx(run)
    images = load_split("mnist", "test", tiny_data_dir).images[:7]  # (7, 28, 28)
    square = images.float() / 255
    with torch.no_grad():
        reference = run.model().eval()(square).numpy()  # the PyTorch model takes (N, 28, 28) itself
    for n in (1, 7):
        logits, _ = onnx_outputs(data, square[:n].reshape(n, 784).numpy())
        assert logits.shape == (n, 10) and np.abs(logits - reference[:n]).max() < 1e-4
    with pytest.raises(Exception, match="rank"):  # as the README says: reshape to (N, 784) first
        onnx_outputs(data, square.numpy())


def load_module(path: Path):
    """A generated script imported as a module (its `main()` does not run)."""
    spec = importlib.util.spec_from_file_location(f"generated_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_script(tmp_path: Path, config: TrainConfig, classes=DIGITS, name: str = "train_it.py") -> Path:
    path = tmp_path / name
    path.write_text(script_for(config, classes, "20260101-000000-mnist-fast-abcdef", name), encoding="utf-8")
    return path


def run_script_file(path: Path, *args) -> list[str]:
    proc = subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""}, cwd=path.parent)  # no mnistlab on its path
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()


@pytest.mark.parametrize("name", ["rich", "extras", "fgsm", "vat"])
def test_the_script_reproduces_the_runs_epochs(runs, tiny_data_dir, tmp_path, name):
    """Same seed, same settings, on the CPU: every epoch's train loss, accuracy and test accuracy as the run's."""
    store, ids = runs
    run = store.open(ids[name])
    path = tmp_path / "rich.py"
    path.write_text(run_script(run, path.name), encoding="utf-8")
    assert "import mnistlab" not in path.read_text() and "from mnistlab" not in path.read_text()
    lines = run_script_file(path, "--data", tiny_data_dir, "--device", "cpu")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == run.config.epochs
    for line, row in zip(epochs, run.history(), strict=True):
        assert f"train loss {row['train_loss']:.4f}, accuracy {row['train_accuracy']:.2%}" in line
        assert f"validation accuracy {row['val_accuracy']:.2%}" in line
        assert f"test loss {row['test_loss']:.4f}, accuracy {row['test_accuracy']:.2%}" in line


def test_a_short_run_of_the_script_trains_well_above_chance(runs, tiny_data_dir, tmp_path):
    store, ids = runs
    (path,) = export_run(store, ids["plain"], "script", tmp_path)
    lines = run_script_file(path, "--data", tiny_data_dir / "mnist", "--epochs", 1, "--subset", 300, "--device", "cpu")
    assert lines[0] == "12,730 parameters, 300 training images, on cpu"
    assert len([line for line in lines if line.startswith("epoch 1/1:")]) == 1
    accuracy = float(re.fullmatch(r"Test accuracy: ([\d.]+)%", lines[-1]).group(1))
    assert accuracy > 50  # chance is 10%


SPECS = [MLPSpec(hidden=(32, 16), norm="batch", dropout=0.2, activation="gelu", input_scale="standardize", init="he_normal"),
         MLPSpec(hidden=(24,), norm="layer", activation="leaky_relu", leaky_slope=0.2, dropout=0.3,
                 dropout_where="first", init="glorot_uniform"),
         MLPSpec(hidden=(8, 8, 8), activation="tanh", dropout=0.1, init="he_uniform", output="softmax"),
         MLPSpec(hidden=(), output="sigmoid", outputs=26)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_the_scripts_network_is_the_runs_with_the_same_initial_weights(spec, tmp_path):
    classes = DIGITS if spec.outputs == 10 else tuple(chr(65 + i) for i in range(26))
    config = TrainConfig(model=spec, dataset="mnist" if spec.outputs == 10 else "letters", seed=5)
    module = load_module(write_script(tmp_path, config, classes))
    torch.manual_seed(config.seed)
    net = module.Net()
    torch.manual_seed(config.seed)
    mine = build_model(spec)
    assert [type(m) for m in net.layers] == [type(m) for m in mine.layers]
    assert sum(p.numel() for p in net.parameters()) == spec.parameter_count()
    theirs, ours = dict(net.named_parameters()), dict(mine.named_parameters())
    assert list(theirs) == list(ours)
    for name, value in ours.items():
        assert torch.equal(theirs[name], value), name  # same module order, same init: the same draws
    x = torch.rand(5, 28, 28)
    with torch.no_grad():
        assert torch.allclose(net.eval()(x), mine.eval()(x), atol=1e-6)


LOSSES = [("ce", "none"), ("ce", "softmax"), ("ce", "sigmoid"), ("mse", "none"), ("mse", "sigmoid"),
          ("mse", "softmax"), ("bce", "none"), ("bce", "sigmoid"), ("bce", "softmax")]


@pytest.mark.parametrize("loss,output", LOSSES)
def test_the_scripts_loss_is_mnistlabs(loss, output, tmp_path):
    config = TrainConfig(model=MLPSpec(hidden=(8,), output=output), loss=loss, label_smoothing=0.1)
    module = load_module(write_script(tmp_path, config))
    logits, labels = torch.randn(12, 10), torch.arange(12) % 10
    for smoothing in (0.0, 0.1):
        assert torch.allclose(module.loss_fn(logits, labels, smoothing),
                              compute_loss(logits, labels, loss, output, smoothing), atol=1e-6)


@pytest.mark.parametrize("schedule, warmup", [("step", 0), ("cosine", 0), ("onecycle", 0), ("none", 1.5),
                                              ("step", 2.5), ("cosine", 0.5)])
def test_the_scripts_schedule_is_mnistlabs(schedule, warmup, tmp_path):
    config = TrainConfig(schedule=schedule, lr=0.3, step_epochs=2, step_gamma=0.5, epochs=6, warmup_epochs=warmup)
    module = load_module(write_script(tmp_path, config))
    for step in [*range(0, 60, 7), 1, 2, 14, 15, 24, 25]:
        assert module.lr_at(step, 60, 10) == lr_at(schedule, 0.3, step, 60, 10, 2, 0.5, warmup)  # to the last bit


def test_the_scripts_network_has_input_dropout_and_the_norm_where_mnistlab_puts_it(tmp_path):
    spec = MLPSpec(hidden=(16, 8), input_dropout=0.2, norm="layer", norm_where="after", dropout=0.1)
    module = load_module(write_script(tmp_path, TrainConfig(model=spec, seed=2)))
    torch.manual_seed(2)
    net = module.Net()
    torch.manual_seed(2)
    mine = build_model(spec)
    assert [type(m) for m in net.layers] == [type(m) for m in mine.layers]
    theirs, ours = dict(net.named_parameters()), dict(mine.named_parameters())
    assert net.layers[0].p == 0.2 and list(theirs) == list(ours) and "layers.1.weight" in ours
    for name, value in ours.items():
        assert torch.equal(theirs[name], value), name


@pytest.mark.parametrize("mode", ["first", "random", "stratified"])
def test_the_scripts_subset_and_validation_split_are_mnistlabs(mode, tiny_data_dir, tmp_path):
    train = load_split("mnist", "train", tiny_data_dir)
    for size in (123, 0.3):
        config = TrainConfig(train_subset=size, subset_mode=mode, val_split=0.2,
                             val_mode="random" if mode == "first" else "last", seed=7)
        module = load_module(write_script(tmp_path, config, name=f"s{mode}{size}.py"))
        images, labels = module.subset(train.images, train.labels, size, 7)
        expected = train.subset(size, mode, 7)
        assert torch.equal(images, expected.images) and torch.equal(labels, expected.labels)
        (_, train_labels), (_, val_labels) = module.split_off(images, labels, 0.2, 7)
        kept, held = expected.split_off(0.2, config.val_mode, 7)
        assert torch.equal(train_labels, kept.labels) and torch.equal(val_labels, held.labels)


def test_an_own_datasets_script_reads_its_csv_export_and_says_what_it_needs(tmp_path):
    classes = ("cat", "dog", "owl")
    config = TrainConfig(model=MLPSpec(hidden=(8,), outputs=3), dataset="pets")
    module = load_module(write_script(tmp_path, config, classes))
    assert "datasets.MNIST" not in Path(module.__file__).read_text()
    with pytest.raises(SystemExit, match=r"data export pets --csv"):
        module.load_data(tmp_path / "empty")
    rows = [[k % 3, *([k * 10 % 256] * 784)] for k in range(6)]
    for split in ("train", "test"):
        (tmp_path / f"pets_{split}.csv").write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    train_images, train_labels, test_images, test_labels = module.load_data(tmp_path)
    assert train_images.shape == (6, 28, 28) and train_images.dtype == torch.uint8
    assert train_labels.tolist() == [0, 1, 2, 0, 1, 2] and int(test_images[5, 3, 3]) == 50


BRANCHES = [  # together these generate every piece of script_parts and script_data
    RICH, PLAIN, TrainConfig(loss="mse", optimizer="adamw", weight_decay=0.01, schedule="cosine", test_subset=100),
    TrainConfig(loss="bce", model=MLPSpec(output="softmax"), schedule="step", train_subset=0.5, subset_mode="random"),
    TrainConfig(engine="numpy", model=MLPSpec(hidden=(32,), activation="sigmoid"), val_split=0.1),
    TrainConfig(augment=Augment(rotation=10, translate=0.1, scale_min=0.9, scale_max=1.1, shear=5, hflip=True,
                                elastic_alpha=20, concat_original=True), loss="ce", model=MLPSpec(output="sigmoid")),
    TrainConfig(augment=Augment(rotation=15), dataset="pets", model=MLPSpec(outputs=3)),
    EXTRAS, TrainConfig(warmup_epochs=1, max_norm=3.0, mixup=0.4, model=MLPSpec(input_dropout=0.1)),
    TrainConfig(warmup_epochs=0.25, ema=0.999, schedule="step", augment=Augment(rotation=5, concat_original=True)),
    FGSM, VAT]


@pytest.mark.parametrize("config", BRANCHES, ids=range(len(BRANCHES)))
def test_every_generated_script_is_clean_python(config, tmp_path):
    classes = ("a", 'quote " and \\ back', "ü") if config.model.outputs == 3 else DIGITS
    path = write_script(tmp_path, config, classes)
    compile(path.read_text(encoding="utf-8"), str(path), "exec")
    assert list(load_module(path).CLASSES) == list(classes)
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--line-length", "120",
                           "--select", "E,F,W,I,B,UP", str(path)], capture_output=True, text=True)
    if "No module named ruff" in proc.stderr:
        pytest.skip("ruff is not installed")
    assert proc.returncode == 0, proc.stdout


def test_a_short_augmented_run_of_the_script_trains(tiny_data_dir, tmp_path):
    path = write_script(tmp_path, BRANCHES[5].with_(epochs=1, batch_size=20, optimizer="adam", lr=1e-2))
    lines = run_script_file(path, "--data", tiny_data_dir, "--subset", 100, "--device", "cpu")
    assert lines[0].endswith("100 training images, on cpu") and lines[-1].startswith("Test accuracy: ")


def test_the_weights_and_config_pair_round_trips(runs, tmp_path, tiny_data_dir):
    store, ids = runs
    run = store.open(ids["rich"])
    weights, config = export_run(store, run.run_id, "safetensors", tmp_path)
    assert (weights.name, config.name) == (f"{run.run_id}.safetensors", f"{run.run_id}-config.json")
    assert weights.read_bytes() == run.file("model.safetensors").read_bytes()  # the weights as the run stores them
    document = json.loads(config.read_text())
    assert document["config"] == run.config_dict["config"] and document["classes"] == list(DIGITS)
    assert document["run_id"] == run.run_id and document["epochs_done"] == RICH.epochs
    other = RunStore(tmp_path / "other")
    assert main(["runs", "import", str(weights), str(config), "--runs-dir", str(other.root),
                 "--data-dir", str(tiny_data_dir)]) == 0
    (back,) = other.list()
    for name, value in run.model().state_dict().items():
        assert torch.equal(other.open(back.run_id).model().state_dict()[name], value), name


def test_cli_export_writes_each_format_and_refuses_bad_paths_in_one_line(runs, tmp_path, capsys):
    store, ids = runs
    run_id, where = ids["plain"], ["--runs-dir", str(store.root)]
    for fmt, suffix in (("onnx", ".onnx"), ("script", ".py"), ("safetensors", ".safetensors")):
        assert main(["export", run_id, "--format", fmt, "--out", str(tmp_path), *where]) == 0
        assert (tmp_path / f"{run_id}{suffix}").is_file()
    assert main(["export", run_id, "--format", "onnx", "--out", str(tmp_path / "mine.onnx"), *where]) == 0
    assert (tmp_path / "mine.onnx").read_bytes()[:2] == (tmp_path / f"{run_id}.onnx").read_bytes()[:2]
    capsys.readouterr()
    for args, words in ((["--out", str(tmp_path / "x.txt")], "must end in .onnx"),
                        (["--out", str(tmp_path / "no" / "x.onnx")], "does not exist"),
                        (["--runs-dir", str(tmp_path / "none")], "not found")):
        target = args if "--runs-dir" in args else [*args, *where]
        assert main(["export", run_id, "--format", "onnx", *target]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and words in err, err
