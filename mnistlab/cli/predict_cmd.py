"""`mnistlab predict`: classify an image file with a stored run's model."""

from __future__ import annotations

import argparse

from mnistlab.cli import jsonout
from mnistlab.predict import Prediction, predict_run
from mnistlab.runs.store import RunStore

TABLE_ROWS = 5  # most probable classes listed in the text output
BAR_WIDTH = 30  # characters for a probability of 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, metavar="RUN_ID", help="the run whose model classifies the image")
    p.add_argument("image", help="an image file (PNG, JPEG...): a dark drawing on light paper or light on dark")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--runs-dir", help="run store folder (default $MNISTLAB_RUNS_DIR or ./runs)")


def to_dict(run_id: str, image: str, prediction: Prediction) -> dict:
    """The --json output: the answer, every class's probability and whether the image was inverted."""
    return {
        "run_id": run_id,
        "image": image,
        "label": prediction.label,
        "class_name": prediction.class_name,
        "probabilities": dict(zip(prediction.classes, prediction.probabilities)),
        "inverted": prediction.prepared.inverted if prediction.prepared else False,
    }


def run(args: argparse.Namespace) -> int:
    prediction = predict_run(RunStore(args.runs_dir), args.run, args.image)
    if args.json:
        print(jsonout.dumps(to_dict(args.run, args.image, prediction)))
        return 0
    best = prediction.probabilities[prediction.label]
    print(f"{args.image}: {prediction.class_name} ({100 * best:.1f}%) by run {args.run}")
    width = max(len(name) for name in prediction.classes)
    for name, p in prediction.top(TABLE_ROWS):
        print(f"  {name:<{width}} {100 * p:5.1f}% {'█' * round(BAR_WIDTH * p)}")
    return 0
