"""`inspect RUN --figure …` end to end: train a tiny run, export every figure's data as JSON."""

import argparse
import json

import pytest

from mnistlab.cli import insight_cmd
from mnistlab.errors import ConfigError, RunStoreError
from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

CONFIG = TrainConfig(model=MLPSpec(hidden=(16,)), optimizer="adam", lr=3e-3, batch_size=50, epochs=2, device="cpu")


def parser():
    p = argparse.ArgumentParser()
    insight_cmd.add_arguments(p)
    p.add_argument("--data-dir")
    p.add_argument("--runs-dir")
    return p


@pytest.fixture(scope="module")
def stored(tmp_path_factory, tiny_data_dir):
    store = RunStore(tmp_path_factory.mktemp("runs"))
    outcome = run_experiment(CONFIG, store=store, data_dir=tiny_data_dir)
    return store, outcome


def inspect(stored, tiny_data_dir, capsys, *args):
    store, outcome = stored
    argv = [outcome.run_id, *args, "--runs-dir", str(store.root), "--data-dir", str(tiny_data_dir)]
    assert insight_cmd.run(parser().parse_args(argv)) == 0
    return capsys.readouterr()


def test_probes_json_has_pixels_and_the_hidden_layer(stored, tiny_data_dir, capsys):
    out = inspect(stored, tiny_data_dir, capsys, "--figure", "probes", "--json")
    data = json.loads(out.out)
    assert data["figure"] == "probes" and data["run_id"] == stored[1].run_id and data["notes"] == []
    assert [(p["name"], p["width"]) for p in data["probes"]] == [("pixels", 784), ("layer 1", 16)]
    assert all(p["test_accuracy"] > 0.9 for p in data["probes"])  # the synthetic classes are easy


@pytest.mark.parametrize("figure", ["weights", "histograms", "projection", "saliency", "diagnose"])
def test_every_model_figure_exports_json_and_text(stored, tiny_data_dir, capsys, figure):
    data = json.loads(inspect(stored, tiny_data_dir, capsys, "--figure", figure, "--json", "--points", "60").out)
    assert data["figure"] == figure
    if figure == "weights":
        assert len(data["images"]) == 16 and len(data["images"][0]) == 28 and data["limit"] > 0
    elif figure == "histograms":
        assert [h["layer"] for h in data["layers"]] == ["layer 1", "output"]
    elif figure == "projection":
        assert len(data["points"]) == 60 and len(data["labels"]) == 60 and data["name"] == "layer 1"
    elif figure == "saliency":
        assert len(data["saliency"]) == 28 and data["fgsm"]["label"] == data["label"]
    else:
        assert isinstance(data["hints"], list)
    text = inspect(stored, tiny_data_dir, capsys, "--figure", figure, "--points", "60").out
    assert text.strip() and not text.startswith("{")


def test_tsne_projection_of_the_pixels(stored, tiny_data_dir, capsys):
    out = inspect(stored, tiny_data_dir, capsys, "--figure", "projection", "--method", "tsne", "--layer", "0",
                  "--points", "100", "--json")
    data = json.loads(out.out)
    assert data["method"] == "tsne" and data["name"] == "pixels" and len(data["points"]) == 100


@pytest.mark.parametrize("figure", ["gradflow", "confusion"])
def test_history_figures_work_then_say_when_the_run_predates_the_stats(stored, tiny_data_dir, capsys, figure):
    store, outcome = stored
    data = json.loads(inspect(stored, tiny_data_dir, capsys, "--figure", figure, "--json").out)
    assert data["figure"] == figure
    stats = store.path(outcome.run_id) / "layer-stats.jsonl"
    kept = stats.read_bytes()
    stats.unlink()  # as a run trained before the statistics were recorded
    try:
        with pytest.raises(RunStoreError, match="train it again"):
            inspect(stored, tiny_data_dir, capsys, "--figure", figure, "--json")
    finally:
        stats.write_bytes(kept)


def test_an_epoch_uses_its_snapshot_and_the_last_epoch_is_the_final_model(stored, tiny_data_dir, capsys):
    store, outcome = stored
    final = json.loads(inspect(stored, tiny_data_dir, capsys, "--figure", "histograms", "--json").out)
    last = json.loads(inspect(stored, tiny_data_dir, capsys, "--figure", "histograms", "--epoch", "2", "--json").out)
    assert last["layers"] == final["layers"]
    try:
        first = json.loads(inspect(stored, tiny_data_dir, capsys, "--figure", "histograms", "--epoch", "1",
                                   "--json").out)
    except RunStoreError as e:  # a run that saved no per-epoch weights says so
        assert "per-epoch weights" in str(e)
    else:
        assert first["layers"] != final["layers"]


def test_bad_input_raises_mnistlab_errors(stored, tiny_data_dir, capsys):
    with pytest.raises(RunStoreError, match="no run 'no-such-run'"):
        insight_cmd.run(parser().parse_args(["no-such-run", "--figure", "weights"]))
    with pytest.raises(ConfigError, match="test image number must be between 0 and 199"):
        inspect(stored, tiny_data_dir, capsys, "--figure", "saliency", "--index", "100000")
    with pytest.raises(ConfigError, match="between 0"):
        inspect(stored, tiny_data_dir, capsys, "--figure", "projection", "--layer", "5")
