"""Small CLI commands: presets, data fetch/verify/inspect, runs, evaluate."""

from __future__ import annotations

import argparse
import signal
import sys

from mnistlab.cli import jsonout
from mnistlab.cli.progress import FetchProgress
from mnistlab.data.datasets import DATASETS, resolve_data_dir
from mnistlab.errors import DataError, RunStoreError
from mnistlab.presets import PRESETS
from mnistlab.runs.store import RunStore


def _datasets(name: str) -> list[str]:
    return list(DATASETS) if name == "all" else [name]


def presets(args: argparse.Namespace) -> int:
    if args.json:
        print(jsonout.dumps([p.to_dict() for p in PRESETS.values()]))
        return 0
    for p in PRESETS.values():
        print(f"{p.name:<22} {p.config.dataset:<13} {p.config.model.describe():<34} {p.figure()}")
    return 0


def data_fetch(args: argparse.Namespace) -> int:
    from mnistlab.data.fetch import fetch_dataset

    bar = FetchProgress()

    def terminate(signum, frame):  # SIGTERM unwinds like Ctrl-C, so temp folders and .part files go
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        for name in _datasets(args.dataset):
            fetch_dataset(name, args.data_dir, progress=bar, log=bar.log)
            print(f"{name}: ready in {resolve_data_dir(args.data_dir) / name}")
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
    return 0


def data_verify(args: argparse.Namespace) -> int:
    from mnistlab.data.fetch import verify_dataset

    report = {name: verify_dataset(name, args.data_dir) for name in _datasets(args.dataset)}
    ok = all(state == "ok" for files in report.values() for state in files.values())
    if args.json:
        print(jsonout.dumps({"ok": ok, "datasets": report}))
    else:
        for name, files in report.items():
            for stem, state in files.items():
                print(f"{name}/{stem}: {state}")
    if not ok:
        raise DataError("some files are missing or damaged; run `python -m mnistlab data fetch` to repair them.")
    return 0


def data_inspect(args: argparse.Namespace) -> int:
    from mnistlab.data.inspect import inspect_file

    info = inspect_file(args.path)
    if args.json:
        print(jsonout.dumps(info))
        return 0
    print(f"{info['path']}: {info['format']}, {info['count']:,} items, shape {tuple(info['shape'])}"
          + (" (gzip)" if info.get("compressed") else ""))
    if info.get("label_histogram"):
        print("labels: " + ", ".join(f"{i}: {n:,}" for i, n in enumerate(info["label_histogram"])))
    return 0


def runs(args: argparse.Namespace) -> int:
    store = RunStore(args.runs_dir)
    listed, unreadable = store.scan()
    for broken in unreadable:
        print(f"warning: {broken.reason}", file=sys.stderr)
    if args.json:
        print(jsonout.dumps([r.__dict__ for r in listed]))
        return 0
    if not listed:
        if not unreadable:
            print(f"no runs yet in {store.root}; start one with `python -m mnistlab train --preset fast`.")
        return 0
    for r in listed:
        acc = f"{100 * r.test_accuracy:.2f}%" if r.test_accuracy is not None else "—"
        secs = f"{r.train_seconds:.1f}s" if r.train_seconds is not None else "—"
        print(f"{r.run_id:<52} {r.status:<11} {acc:>7} {secs:>8}  {r.description}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    run = RunStore(args.runs_dir).open(args.run_id)
    info = run.info
    dataset = args.dataset or info.dataset
    if args.dataset:  # its model on another dataset's test set: only one with the classes it learned
        from mnistlab.evaluate import evaluate as evaluate_model

        test = run.split("test", args.data_dir, dataset=args.dataset)
        evaluation = evaluate_model(run.model(device="cpu"), test, run.config.loss)
    else:
        evaluation = run.evaluation()
    if evaluation is None:
        raise RunStoreError(f"run {args.run_id} has no saved model evaluation (status {info.status}).")
    summary = {"run_id": args.run_id, "status": info.status, "dataset": dataset, **evaluation.summary(),
               "mistakes": evaluation.mistakes(20).tolist()}
    if args.json:
        print(jsonout.dumps(summary))
        return 0
    print(f"run {args.run_id} ({info.status}): test accuracy {100 * evaluation.accuracy:.2f}%, "
          f"loss {evaluation.loss:.4f} on {summary['count']:,} {dataset} images")
    for name, acc in zip(evaluation.classes, evaluation.per_class_accuracy):
        print(f"  {name:<12} {100 * acc:6.2f}%")
    return 0
