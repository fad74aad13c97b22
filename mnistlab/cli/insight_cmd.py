"""`mnistlab inspect RUN_ID --figure …`: the data behind each Inspect figure, as text or JSON.

Each figure comes from its function in `mnistlab.insight.figures`, the one the dashboard's Inspect page draws.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from mnistlab import insight
from mnistlab.cli import jsonout
from mnistlab.insight import figures
from mnistlab.runs.handle import Run
from mnistlab.runs.store import RunStore

FIGURES = figures.FIGURES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--figure", choices=FIGURES, required=True, help="which figure's data to export")
    p.add_argument("--epoch", type=int, help="use the model (or confusion matrix) of this epoch; default the last")
    p.add_argument("--index", type=int, default=0, help="test image for --figure saliency (default 0)")
    p.add_argument("--layer", type=int, help="representation for --figure projection: 0 = pixels; default the last "
                                             "hidden layer")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca", help="projection method (default pca)")
    p.add_argument("--points", type=int, default=figures.PROJECTION_POINTS,
                   help=f"test images to project, as many of each class (default {figures.PROJECTION_POINTS})")
    p.add_argument("--json", action="store_true", help="print the figure's data as one JSON object on stdout")


def figure_of(run: Run, args: argparse.Namespace):
    """The dataclass of the figure named by the arguments."""
    name, data_dir = args.figure, getattr(args, "data_dir", None)
    if name == "gradflow":
        return figures.gradflow(run)
    if name == "confusion":
        return figures.confusion(run, args.epoch)
    if name == "diagnose":
        return figures.diagnosis(run)
    if name == "weights":
        return figures.weights(run, args.epoch)
    if name == "histograms":
        return figures.histograms(run, args.epoch)
    test = figures.full_split(run, "test", data_dir)
    if name == "projection":
        return figures.projection(run, test, args.epoch, args.layer, args.method, args.points)
    if name == "probes":
        return figures.probes(run, figures.full_split(run, "train", data_dir), test, args.epoch)
    assert name == "saliency", f"no figure {name!r}"
    return figures.saliency(run, test, args.index, args.epoch)


def figure_data(run: Run, args: argparse.Namespace) -> dict:
    """The JSON-ready data of the figure named by the arguments."""
    data = insight.jsonable(figure_of(run, args))
    return {"run_id": run.run_id, "figure": args.figure, **data, "notes": []}  # notes: kept for the JSON's readers


def _summary(data: dict) -> list[str]:
    """A few human lines per figure."""
    figure = data["figure"]
    if figure == "gradflow":
        last = data["grad_norm"][-1]
        return [f"epoch {data['epochs'][-1]} gradient norms: "
                + ", ".join(f"{n} {v:.3g}" if v is not None else f"{n} —" for n, v in zip(data["layers"], last)),
                data["diagnosis"] or data["reach"] or "no gradient problem found."]
    if figure == "weights":
        return [f"{data['layer']}: {len(data['images'])} weight images of 28×28, colour limit ±{data['limit']:.3g}"]
    if figure == "histograms":
        return [f"{h['layer']} ({h['fan_in']}→{h['fan_out']}): mean {h['mean']:.3g}, std {h['std']:.3g}"
                for h in data["layers"]]
    if figure == "probes":
        return [f"{p['name']:<9} width {p['width']:>5}: linear probe test accuracy {100 * p['test_accuracy']:.2f}% "
                f"(train {100 * p['train_accuracy']:.2f}%)" for p in data["probes"]] + [
                f"fitted on {data['train_images']:,} training images, scored on {data['test_images']:,} test images"]
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
    if data["epochs"] == 0:
        return ["no finished epoch to diagnose yet."]
    return [f"{h['title']}: {h['explanation']} Fix: {json.dumps(h['fix'])}" for h in data["hints"]] or [
        "no problems found."]


def run(args: argparse.Namespace) -> int:
    handle = RunStore(getattr(args, "runs_dir", None)).open(args.run_id)
    data = figure_data(handle, args)
    if args.json:
        print(jsonout.dumps(data))
    else:
        print("\n".join(_summary(data)))
    return 0
