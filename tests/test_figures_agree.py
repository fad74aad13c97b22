"""`inspect RUN --figure F --json` exports what the Inspect page draws: for every figure, the same numbers.

One tiny run whose prepared data differ from the full splits (a validation split, a test subset) and whose
loss is not cross-entropy, so a door that sampled its own images, fitted probes on the run's subset or
attacked with another loss would disagree. Each test runs the CLI, opens the page in AppTest, and reads
the numbers back out of the page's charts, metrics and text.
"""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from app_helpers import open_app
from conftest import write_dataset
from PIL import Image

from mnistlab.cli.main import main
from mnistlab.experiment import run_experiment
from mnistlab.insight import fgsm_flip, figures
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from ui.confusion import CELL_LIMIT

N_TEST = 2500  # more than a projection's 2,000 points and a probe's 2,000 test images: both must sample
CONFIG = TrainConfig(model=MLPSpec(hidden=(16,), output="sigmoid"), loss="mse", val_split=0.1, test_subset=1000,
                     epochs=2, batch_size=50, optimizer="adam", lr=1e-2, device="cpu")
pytestmark = pytest.mark.usefixtures("app_caches")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(data dir, runs dir, run id, a test image whose FGSM step depends on the loss attacked)."""
    data_dir = write_dataset(tmp_path_factory.mktemp("data"), "mnist", n_train=600, n_test=N_TEST, seed=5)
    store = RunStore(tmp_path_factory.mktemp("runs"))
    run_id = run_experiment(CONFIG, store=store, data_dir=data_dir).run_id
    run, test = store.open(run_id), figures.full_split(store.open(run_id), "test", data_dir)
    model = run.model()
    for index in range(100):
        image, label = test.images[index].numpy(), int(test.labels[index])
        own, ce = fgsm_flip(model, image, label, loss="mse"), fgsm_flip(model, image, label, loss="ce")
        if own.epsilon and ce.epsilon and abs(own.epsilon - ce.epsilon) > 1e-3:
            return data_dir, store.root, run_id, index
    pytest.fail("no test image whose FGSM step differs between the run's loss and cross-entropy")


@pytest.fixture
def page(lab, monkeypatch):
    """Open the Inspect page on the lab's run at `tab` (with more of the link's query)."""
    data_dir, runs_dir, run_id, _ = lab
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    return lambda tab, **query: open_app("inspect", {"run": run_id, "tab": tab, **query})


def cli(lab, capsys, figure: str, *args: str) -> dict:
    data_dir, runs_dir, run_id, _ = lab
    assert main(["inspect", run_id, "--figure", figure, *args, "--json", "--runs-dir", str(runs_dir),
                 "--data-dir", str(data_dir)]) == 0
    return json.loads(capsys.readouterr().out)


def _decode(value):
    """Plotly's typed arrays ({'dtype', 'bdata', 'shape'}) as numpy arrays, recursively."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return array.reshape([int(s) for s in str(value["shape"]).split(",")]) if "shape" in value else array
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def traces(at, key: str) -> list[dict]:
    """The data traces of the Plotly chart drawn with `key`."""
    found = [e.proto for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [e.proto.id for e in at.get("plotly_chart")]
    return _decode(json.loads(found[0].spec))["data"]


def same(page_values, cli_values) -> None:
    """The page's numbers are the CLI's (None in JSON is NaN on the chart)."""
    expected = np.array([np.nan if v is None else v for v in np.ravel(np.array(cli_values, dtype=object))], float)
    np.testing.assert_allclose(np.ravel(np.asarray(page_values, dtype=float)), expected, rtol=1e-6, equal_nan=True)


def cards(at) -> list[str]:
    """Every image card's HTML on the page."""
    return [card for h in at.get("html") for card in h.proto.body.split('<div class="ml-card">')[1:]]


def card_image(card: str) -> np.ndarray:
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', card).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))))


# -- one comparison per figure ---------------------------------------------------------------------

def gradflow(lab, capsys, page):
    data, at = cli(lab, capsys, "gradflow"), page("Gradient flow")
    lines = traces(at, "gradflow")
    assert [t["name"] for t in lines] == data["layers"] == ["layer 1", "output"]
    for j, line in enumerate(lines):
        assert list(line["x"]) == data["epochs"]
        same(line["y"], [row[j] for row in data["grad_norm"]])
        same(traces(at, "update_ratio")[j]["y"], [row[j] for row in data["update_ratio"]])
    same(traces(at, "gradflow_last")[0]["y"], data["grad_norm"][-1])
    said = [m.value for m in [*at.warning, *at.success]]
    assert said == [data["diagnosis"] or data["reach"]]
    table = at.dataframe[0].value
    assert table["Layer"].tolist() == [u["layer"] for u in data["units"]]
    same(table["Dead"], [u["dead_fraction"] for u in data["units"]])
    same(table["Activation std"], [u["act_std"] for u in data["units"]])


def weights(lab, capsys, page):
    data, at = cli(lab, capsys, "weights", "--epoch", "1"), page("Weights", epoch="1")
    panels = traces(at, "weights_grid")
    assert len(panels) == len(data["images"]) == 16
    for panel, image in zip(panels, data["images"], strict=True):
        same(panel["z"], image)
        assert (panel["zmin"], panel["zmax"]) == pytest.approx((-data["limit"], data["limit"]))


def histograms(lab, capsys, page):
    data, at = cli(lab, capsys, "histograms", "--epoch", "1"), page("Weights", epoch="1")
    for key, hists in (("weight_hist", data["layers"]), ("act_hist", data["activations"])):
        bars = traces(at, key)
        assert hists and len(bars) == len(hists)
        for bar, hist in zip(bars, hists, strict=True):
            edges = np.asarray(hist["edges"])
            same(bar["y"], hist["counts"])
            same(bar["x"], (edges[:-1] + edges[1:]) / 2)


def projection(lab, capsys, page):
    data, at = cli(lab, capsys, "projection", "--epoch", "2"), page("Representations")
    labels, points, indices = (np.asarray(data[k]) for k in ("labels", "points", "indices"))
    assert len(points) == figures.PROJECTION_POINTS < N_TEST and np.bincount(labels).tolist() == [200] * 10
    dots = traces(at, "projection")
    assert [d["name"] for d in dots] == data["classes"]
    for c, dot in enumerate(dots):
        same(dot["x"], points[labels == c, 0])
        same(dot["y"], points[labels == c, 1])
        same(dot["customdata"], indices[labels == c])


def probes(lab, capsys, page):
    _, _, run_id, _ = lab
    at = page("Representations")
    at.toggle(key=f"probe_all_{run_id}").set_value(True).run()
    assert not at.exception, at.exception
    lines = traces(at, "probe_lines")
    epochs = list(lines[0]["x"])
    assert epochs == [0, 1, 2]
    for e in epochs:
        data = cli(lab, capsys, "probes", "--epoch", str(e))
        assert data["train_images"] == 600 and data["test_images"] == figures.PROBE_TEST  # the full train split
        assert [line["name"] for line in lines] == [p["name"] for p in data["probes"]]
        same([line["y"][epochs.index(e)] for line in lines], [p["test_accuracy"] for p in data["probes"]])
    shown = [(m.label, m.value) for m in at.metric]  # the metrics show the last epoch's probes
    assert shown == [(p["name"], f"{p['test_accuracy']:.1%}") for p in data["probes"]]


def confusion(lab, capsys, page):
    for epoch in (1, 2):
        data, at = cli(lab, capsys, "confusion", "--epoch", str(epoch)), page("Confusion over time", epoch=str(epoch))
        matrix = np.asarray(data["matrix"])
        assert data["epoch"] == epoch and matrix.sum() == CONFIG.test_subset
        heat = traces(at, "confusion_time")[0]
        same(heat["text"], matrix)
        true, pred = (at.selectbox(key=f"time_{k}_{lab[2]}").value for k in ("true", "pred"))
        assert len(cards(at)) == min(matrix[true, pred], CELL_LIMIT)  # the cell's images: as many as it counts


def saliency(lab, capsys, page):
    index = lab[3]
    data, at = cli(lab, capsys, "saliency", "--index", str(index)), page("Saliency", image=str(index))
    same(traces(at, "saliency_map")[0]["z"], data["saliency"])
    shown, perturbed = cards(at)
    assert np.array_equal(card_image(shown), np.asarray(data["image"], np.uint8))
    assert f"{data['prediction']} ({data['label']})" in shown
    top = np.argsort(-np.asarray(data["probabilities"]), kind="stable")[:3]
    assert re.findall(r'class="ml-pct">(\d+)%', shown) == [f"{100 * data['probabilities'][c]:.0f}" for c in top]
    fgsm = data["fgsm"]
    assert f"ε = {fgsm['epsilon']:.3f} → {fgsm['new_label']}" in perturbed
    assert np.array_equal(card_image(perturbed), np.asarray(fgsm["perturbed_image"], np.uint8))


def diagnose(lab, capsys, page):
    data, at = cli(lab, capsys, "diagnose"), page("Diagnose")
    assert data["epochs"] == CONFIG.epochs
    titles = [m.value for m in at.markdown if m.value.startswith("**") and m.value != "**Diagnosis**"]
    assert titles == [f"**{h['title']}**" for h in data["hints"]]
    said = {m.value for m in at.markdown}
    assert all(h["explanation"] in said for h in data["hints"])
    assert bool(at.success) == (not data["hints"])


COMPARE = {f.__name__: f for f in (gradflow, weights, histograms, projection, probes, confusion, saliency, diagnose)}


def test_every_figure_the_cli_exports_is_compared_with_the_page():
    assert tuple(COMPARE) == figures.FIGURES


@pytest.mark.parametrize("figure", figures.FIGURES)
def test_the_cli_exports_what_the_page_draws(lab, capsys, page, figure):
    COMPARE[figure](lab, capsys, page)


def test_the_lab_would_catch_a_door_that_used_the_runs_own_data_or_cross_entropy(lab):
    """The fixture's run trains on less than the full splits, with squared error: the divergences show."""
    data_dir, runs_dir, run_id, index = lab
    from mnistlab.train.prepare import prepare_data

    prepared = prepare_data(CONFIG, data_dir)
    assert len(prepared.train) < 600 and len(prepared.test) < N_TEST
    assert CONFIG.loss != "ce" and index is not None
