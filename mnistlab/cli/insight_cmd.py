"""`mnistlab inspect RUN_ID --figure …`: the data behind each Inspect figure, as text or JSON."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from mnistlab import insight
from mnistlab.cli import jsonout
from mnistlab.errors import ConfigError, RunStoreError
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.store import RunStore

FIGURES = ("gradflow", "weights", "histograms", "projection", "probes", "confusion", "saliency", "diagnose")
MODEL_FIGURES = ("weights", "histograms", "projection", "probes", "saliency")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--figure", choices=FIGURES, required=True, help="which figure's data to export")
    p.add_argument("--epoch", type=int, help="use the model (or confusion matrix) of this epoch; default the last")
    p.add_argument("--index", type=int, default=0, help="test image for --figure saliency (default 0)")
    p.add_argument("--layer", type=int, help="representation for --figure projection: 0 = pixels; default the last "
                                             "hidden layer")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca", help="projection method (default pca)")
    p.add_argument("--points", type=int, default=2000, help="test images to project (default 2000)")
    p.add_argument("--json", action="store_true", help="print the figure's data as one JSON object on stdout")


class _Run:
    """A stored run's config, history and (lazily) its model and data."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run_id = args.run_id
        self.handle = RunStore(getattr(args, "runs_dir", None)).open(self.run_id)
        self.info = self.handle.info
        self.config = self.handle.config
        self.history: list[dict] = self.handle.history(layer_stats=True)  # after the epoch-0 row where recorded
        self.notes: list[str] = []

    def model(self) -> MLP:
        """The model after --epoch (its snapshot), else the final one."""
        epoch = self.args.epoch
        last = max((h["epoch"] for h in self.history if "train_loss" in h), default=None)
        if epoch is not None:
            try:
                return self.handle.model(epoch=epoch)
            except RunStoreError:
                if epoch != last:  # the final model is the last epoch's: no snapshot needed for that one
                    raise
        if not self.handle.has_model:
            raise RunStoreError(f"run {self.run_id} has no saved model (status {self.info.status}); wait for it to "
                                "finish, or pass --epoch N for one of its saved epochs.")
        return self.handle.model()

    def data(self):
        from mnistlab.train.prepare import prepare_data

        return prepare_data(self.config, getattr(self.args, "data_dir", None))


def _gradflow(run: _Run) -> dict:
    flow = insight.gradient_flow(run.history)
    return {**insight.jsonable(flow), "diagnosis": insight.diagnose_gradients(run.history, run.config.model.activation)}


def _projection(run: _Run, model: MLP) -> dict:
    depth = len(model.spec.hidden)
    layer = depth if run.args.layer is None else run.args.layer
    if run.args.points < 5:
        raise ConfigError(f"--points must be at least 5; got {run.args.points}.")
    test = run.data().test
    test = test.subset(run.args.points, "stratified", 0) if run.args.points < len(test) else test
    feats = insight.hidden_activations(model, test.images, layer)
    points = insight.tsne_2d(feats) if run.args.method == "tsne" else insight.pca_2d(feats)
    return {"layer": layer, "name": insight.representation_names(model)[layer], "method": run.args.method,
            "points": points, "labels": test.labels.numpy(), "classes": list(test.classes)}


def _saliency(run: _Run, model: MLP) -> dict:
    test = run.data().test
    if not 0 <= run.args.index < len(test):
        raise ConfigError(f"--index must be between 0 and {len(test) - 1}; got {run.args.index}.")
    image, label = test.images[run.args.index], int(test.labels[run.args.index])
    attack = insight.fgsm_flip(model, image, label, loss=run.config.loss)
    return {"index": run.args.index, "label": label, "prediction": int(np.argmax(attack.probabilities)),
            "image": image.numpy(), "saliency": insight.saliency_map(model, image), "fgsm": attack}


def figure_data(run: _Run) -> dict:
    """The JSON-ready data of the figure named by the arguments."""
    figure = run.args.figure
    if figure == "gradflow":
        data = _gradflow(run)
    elif figure == "confusion":
        matrix = insight.confusion_at(run.history, run.args.epoch)
        epochs = insight.confusion_epochs(run.history)
        data = {"epoch": run.args.epoch or epochs[-1], "epochs": epochs, "matrix": matrix}
    elif figure == "diagnose":
        data = {"hints": insight.diagnose(run.config, run.history, status=run.info.status)}
    else:
        model = run.model()
        if figure == "weights":
            data = insight.first_layer_images(model)
        elif figure == "histograms":
            data = {"layers": insight.weight_histograms(model)}
        elif figure == "probes":
            prepared = run.data()
            data = {"probes": insight.probe_layers(model, prepared.train, prepared.test)}
        elif figure == "projection":
            data = _projection(run, model)
        else:
            data = _saliency(run, model)
    return {"run_id": run.run_id, "figure": figure, **insight.jsonable(data), "notes": run.notes}


def _summary(data: dict) -> list[str]:
    """A few human lines per figure."""
    figure = data["figure"]
    if figure == "gradflow":
        last = data["grad_norm"][-1]
        return [f"epoch {data['epochs'][-1]} gradient norms: "
                + ", ".join(f"{n} {v:.3g}" if v is not None else f"{n} —" for n, v in zip(data["layers"], last)),
                data["diagnosis"] or "no gradient problem found."]
    if figure == "weights":
        return [f"{data['layer']}: {len(data['images'])} weight images of 28×28, colour limit ±{data['limit']:.3g}"]
    if figure == "histograms":
        return [f"{h['layer']} ({h['fan_in']}→{h['fan_out']}): mean {h['mean']:.3g}, std {h['std']:.3g}"
                for h in data["layers"]]
    if figure == "probes":
        return [f"{p['name']:<9} width {p['width']:>5}: linear probe test accuracy {100 * p['test_accuracy']:.2f}% "
                f"(train {100 * p['train_accuracy']:.2f}%)" for p in data["probes"]]
    if figure == "projection":
        return [f"{len(data['points'])} test images projected from {data['name']} with {data['method']}"]
    if figure == "confusion":
        m = np.asarray(data["matrix"])
        return [f"epoch {data['epoch']}: test accuracy {m.trace() / max(m.sum(), 1):.2%}"] + [" ".join(
            f"{v:5d}" for v in row) for row in m]
    if figure == "saliency":
        fgsm = data["fgsm"]
        flip = (f"FGSM flips it to {fgsm['new_label']} at ε = {fgsm['epsilon']:.4f}" if fgsm["epsilon"] is not None
                else "FGSM does not flip it up to ε = 0.5")
        return [f"test image {data['index']}: label {data['label']}, predicted {data['prediction']}; {flip}"]
    return [f"{h['title']}: {h['explanation']} Fix: {json.dumps(h['fix'])}" for h in data["hints"]] or [
        "no problems found."]


def run(args: argparse.Namespace) -> int:
    data = figure_data(_Run(args))
    for note in data["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(jsonout.dumps(data))
    else:
        print("\n".join(_summary(data)))
    return 0
