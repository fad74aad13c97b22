"""`data import | list | remove | export`: your own datasets beside the built-ins."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from mnistlab.cli import jsonout


def add_subcommands(data_sub, common: Callable[..., None]) -> None:
    """Register the four actions under `data` (`common` adds --data-dir)."""
    p = data_sub.add_parser("import", help="import your own dataset: a CSV, IDX pair, .npz, or a folder or .zip "
                                           "of class folders")
    p.add_argument("name", help="the new dataset's name (lower-case letters, digits, '.', '_', '-')")
    p.add_argument("--train", required=True, metavar="PATH", help="training data: CSV (label first), IDX images "
                   "(raw or .gz), .npz (x_train, y_train[, x_test, y_test]), or a folder or .zip of class folders")
    p.add_argument("--train-labels", metavar="FILE", help="IDX labels of --train (default: found beside it)")
    # Either-or flags are checked by import_dataset, so its one-sentence message is what the CLI prints too.
    p.add_argument("--test", metavar="PATH", help="test data, in any of the --train formats")
    p.add_argument("--test-fraction", type=float, metavar="F",
                      help="hold out this stratified fraction of --train as the test set (default 1/6, seed 0)")
    p.add_argument("--test-labels", metavar="FILE", help="IDX labels of --test (default: found beside it)")
    p.add_argument("--classes", metavar="A,B,C", help="class names: one per integer label, or the order of "
                       "string labels and folders")
    p.add_argument("--classes-file", metavar="FILE", help="the same, one class name per line")
    p.add_argument("--replace", action="store_true", help="overwrite an imported dataset of the same name")
    p.add_argument("--json", action="store_true")
    common(p, runs=False)
    p.set_defaults(func=import_)

    p = data_sub.add_parser("list", help="list the built-in and imported datasets with their classes and sizes")
    p.add_argument("--json", action="store_true")
    common(p, runs=False)
    p.set_defaults(func=list_)

    p = data_sub.add_parser("remove", help="delete an imported dataset")
    p.add_argument("name")
    common(p, runs=False)
    p.set_defaults(func=remove)

    p = data_sub.add_parser("export", help="write a dataset as the tutorials' CSV files (label first, no header)")
    p.add_argument("name")
    p.add_argument("--csv", required=True, metavar="DIR", help="folder for NAME_train.csv, NAME_test.csv and "
                   "NAME_classes.txt")
    common(p, runs=False)
    p.set_defaults(func=export)


def _terminate(signum, frame):  # SIGTERM unwinds like Ctrl-C, so the work folder is removed
    raise KeyboardInterrupt


def import_(args: argparse.Namespace) -> int:
    from mnistlab.ingest import import_dataset

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        report = import_dataset(args.name, args.train, test=args.test, test_fraction=args.test_fraction,
                                classes=args.classes, classes_file=args.classes_file, data_dir=args.data_dir,
                                train_labels=args.train_labels, test_labels=args.test_labels, replace=args.replace)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(jsonout.dumps(report.to_dict()))
        return 0
    m = report.manifest
    print(f"{'replaced' if report.replaced else 'imported'} {m.name!r} in {report.path}: {len(m.classes)} classes "
          f"({_preview(m.classes)}), {m.sizes['train']:,} train / {m.sizes['test']:,} test images")
    for sentence in m.conversions:
        print(f"  - {sentence}")
    return 0


def _preview(classes, limit: int = 10) -> str:
    shown = ", ".join(classes[:limit])
    return shown + (f", … {len(classes) - limit} more" if len(classes) > limit else "")


def list_(args: argparse.Namespace) -> int:
    from mnistlab.ingest import list_datasets

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    listed = list_datasets(args.data_dir, log=log)
    if args.json:
        print(jsonout.dumps({"datasets": [d.to_dict() for d in listed]}))
        return 0
    for d in listed:
        kind = "imported" if d.imported else "built-in"
        if d.error:
            print(f"{d.name:<16} {kind}  unreadable: {d.error}")
        elif not d.present:
            print(f"{d.name:<16} {kind}  not downloaded: run `python -m mnistlab data fetch --dataset {d.name}`")
        else:
            print(f"{d.name:<16} {kind}  {len(d.classes):>2} classes  {d.sizes['train']:>9,} train "
                  f"{d.sizes['test']:>8,} test  {d.path}")
    return 0


def remove(args: argparse.Namespace) -> int:
    from mnistlab.ingest import remove_dataset

    print(f"removed {remove_dataset(args.name, args.data_dir)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from mnistlab.ingest import export_csv

    written = export_csv(args.name, args.csv, args.data_dir)
    print(f"wrote {written['train']} and {written['test']} (no header; the label, then 784 pixels 0–255); class "
          f"names: {written['classes']} (line k names label k)")
    return 0
