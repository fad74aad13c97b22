"""`mnistlab bench`: time the tutorials' loop against mnistlab's trainer and report."""

from __future__ import annotations

import argparse
import sys

from mnistlab.cli import jsonout
from mnistlab.train.config import DEVICES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--epochs", type=int, default=2, help="measured epochs per side, after one warm-up (default 2)")
    p.add_argument("--skip-fast", action="store_true", help="skip the fast preset's time to 98%%")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")
    p.add_argument("--data-dir", help="dataset folder (default $MNISTLAB_DATA_DIR or ./data)")


def run(args: argparse.Namespace) -> int:
    from mnistlab.bench.run import BenchOptions, format_report, run_bench  # torchvision only when benchmarking

    options = BenchOptions(device=args.device, epochs=args.epochs, data_dir=args.data_dir, skip_fast=args.skip_fast)
    report = run_bench(options, log=lambda line: print(line, file=sys.stderr, flush=True))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(jsonout.dumps(report.to_dict()) if args.json else format_report(report))
    return 0
