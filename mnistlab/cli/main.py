"""`python -m mnistlab`: the command line, able to do everything the dashboard does."""

from __future__ import annotations

import argparse
import os
import sys

from mnistlab.errors import MnistlabError


def _common(p: argparse.ArgumentParser, data: bool = True, runs: bool = True) -> None:
    if data:
        p.add_argument("--data-dir", help="dataset folder (default $MNISTLAB_DATA_DIR or ./data)")
    if runs:
        p.add_argument("--runs-dir", help="run store folder (default $MNISTLAB_RUNS_DIR or ./runs)")


def build_parser() -> argparse.ArgumentParser:
    from mnistlab.cli import bench_cmd, commands, data_cmd, export_cmd, insight_cmd, predict_cmd, sweep_cmd, train_cmd

    parser = argparse.ArgumentParser(prog="python -m mnistlab",
                                     description="Train and inspect MLPs on MNIST and Fashion-MNIST.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("presets", help="list the tutorial presets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.presets)

    data = sub.add_parser("data", help="fetch, verify or inspect data files")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("fetch", help="download and verify a dataset (with offline fallbacks)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "all"], default="all")
    _common(p, runs=False)
    p.set_defaults(func=commands.data_fetch)
    p = data_sub.add_parser("verify", help="check the SHA-256 of a dataset's files")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "all"], default="all")
    p.add_argument("--json", action="store_true")
    _common(p, runs=False)
    p.set_defaults(func=commands.data_verify)
    p = data_sub.add_parser("inspect", help="validate an IDX (raw or .gz) or CSV file and summarise it")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.data_inspect)
    data_cmd.add_subcommands(data_sub, _common)

    p = sub.add_parser("train", help="train a model (a preset, flags, or both)")
    train_cmd.add_arguments(p)
    train_cmd.add_resume_argument(p)
    _common(p)
    p.set_defaults(func=train_cmd.run)

    p = sub.add_parser("runs", help="list stored runs")
    p.add_argument("--json", action="store_true")
    _common(p, data=False)
    p.set_defaults(func=commands.runs)
    export_cmd.add_runs_import(p, _common)

    p = sub.add_parser("evaluate", help="test-set metrics of a stored run")
    p.add_argument("run_id")
    p.add_argument("--dataset", metavar="NAME", help="evaluate its model on this dataset's test set instead (one "
                                                     "with the same classes, e.g. an imported copy)")
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=commands.evaluate)

    p = sub.add_parser("predict", help="classify an image file with a stored run's model")
    predict_cmd.add_arguments(p)
    p.set_defaults(func=predict_cmd.run)

    p = sub.add_parser("inspect", help="export the data behind each Inspect figure as JSON")
    insight_cmd.add_arguments(p)
    _common(p)
    p.set_defaults(func=insight_cmd.run)

    p = sub.add_parser("bench", help="time the tutorials' DataLoader loop against mnistlab's trainer")
    bench_cmd.add_arguments(p)
    p.set_defaults(func=bench_cmd.run)

    export_cmd.add_export(sub, _common)
    sweep_cmd.add_subcommands(sub, _common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 1 unexpected error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MnistlabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aborted.", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("MNISTLAB_DEBUG"):
            raise
        print(f"unexpected error: {type(e).__name__}: {e} (set MNISTLAB_DEBUG=1 for the traceback, "
              "and please report it)", file=sys.stderr)
        return 1
