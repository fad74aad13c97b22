"""`mnistlab predict`: classify an image file, or a whole unlabelled CSV into a Kaggle submission."""

from __future__ import annotations

import argparse
import sys

from mnistlab.cli import jsonout
from mnistlab.errors import ConfigError
from mnistlab.predict import Prediction, predict_run
from mnistlab.runs.store import RunStore
from mnistlab.submission import write_submission

TABLE_ROWS = 5  # most probable classes listed in the text output
BAR_WIDTH = 30  # characters for a probability of 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, metavar="RUN_ID", help="the run whose model classifies the image")
    p.add_argument("image", nargs="?", help="an image file (PNG, JPEG...): a dark drawing on light paper or light on "
                                            "dark")
    p.add_argument("--csv", help="an unlabelled CSV of images (Kaggle's test.csv: optional header, 784 pixel values "
                                 "per row) to predict into --out")
    p.add_argument("--out", help="where --csv writes its predictions as Kaggle's ImageId,Label submission file")
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


def run_csv(args: argparse.Namespace) -> int:
    """--csv FILE --out FILE: the whole file predicted, a count on stderr as it goes, a summary at the end."""
    if not args.out:
        raise ConfigError("--csv needs --out FILE: where to write the ImageId,Label predictions.")
    live = sys.stderr.isatty()

    def progress(rows: int) -> None:
        if live:
            sys.stderr.write(f"\r\033[K{args.csv}: {rows:,} images predicted")
            sys.stderr.flush()

    done = write_submission(RunStore(args.runs_dir), args.run, args.csv, args.out, progress)
    if live:
        sys.stderr.write("\n")
    if args.json:
        print(jsonout.dumps({"run_id": args.run, "csv": args.csv, "out": str(done.path), "rows": done.rows,
                             "header": done.header, "counts": done.counts}))
    else:
        top = ", ".join(f"{name}: {n:,}" for name, n in sorted(done.counts.items(), key=lambda kv: -kv[1])[:5])
        print(f"wrote {done.rows:,} predictions to {done.path} (ImageId,Label) by run {args.run}; most predicted: "
              f"{top}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.csv:
        if args.image:
            raise ConfigError("give an IMAGE or --csv FILE --out FILE, not both.")
        return run_csv(args)
    if not args.image:
        raise ConfigError("give an IMAGE file to classify, or --csv FILE --out FILE for a whole CSV of images.")
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
