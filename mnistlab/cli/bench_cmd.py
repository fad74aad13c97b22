"""`mnistlab bench`: time the tutorials' loop against mnistlab's trainer, the Inspect numerics, or a population."""

from __future__ import annotations

import argparse
import sys

from mnistlab.cli import jsonout
from mnistlab.train.config import DEVICES


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--points takes comma-separated image counts, got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", choices=["trainer", "insight", "population"], default="trainer",
                   help="trainer: the DataLoader loop vs mnistlab's trainer (default); insight: t-SNE, PCA and "
                        "probes vs scikit-learn and openTSNE; population: --population trials batched vs one by one")
    p.add_argument("--population", type=int, metavar="K",
                   help="time K trials of 784-100-10 (Adam, batch 64, one epoch) trained as one population vs one "
                        "after another by the normal trainer (implies --only population; default K 16)")
    p.add_argument("--threads", type=int, help="population: CPU threads for both sides (default: one per core)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--epochs", type=int, default=2, help="measured epochs per side, after one warm-up (default 2)")
    p.add_argument("--skip-fast", action="store_true", help="skip the fast preset's time to 98%%")
    p.add_argument("--repeats", type=int, default=3,
                   help="insight: timed calls per candidate and workload; population: timed rounds (default 3)")
    p.add_argument("--points", type=_sizes, default=(2000, 5000),
                   help="insight: images per workload, comma-separated (default 2000,5000)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")
    p.add_argument("--data-dir", help="dataset folder (default $MNISTLAB_DATA_DIR or ./data)")


def run(args: argparse.Namespace) -> int:
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.population is not None or args.only == "population":
        from mnistlab.bench.population import PopulationOptions, format_population_report, run_population_bench

        options = PopulationOptions(members=16 if args.population is None else args.population, device=args.device,
                                    data_dir=args.data_dir, repeats=args.repeats, threads=args.threads)
        report = run_population_bench(options, log=log)
        text = format_population_report(report)
    elif args.only == "insight":
        from mnistlab.bench.insight_numerics import InsightOptions, format_insight_report, run_insight_bench

        report = run_insight_bench(InsightOptions(data_dir=args.data_dir, points=args.points, repeats=args.repeats),
                                   log=log)
        text = format_insight_report(report)
    else:
        from mnistlab.bench.run import BenchOptions, format_report, run_bench  # torchvision only when benchmarking

        options = BenchOptions(device=args.device, epochs=args.epochs, data_dir=args.data_dir, skip_fast=args.skip_fast)
        report = run_bench(options, log=log)
        text = format_report(report)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(jsonout.dumps(report.to_dict()) if args.json else text)
    return 0
