"""`export RUN_ID --format …` and `runs import PATH…`: take a run away, and bring a downloaded one back."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mnistlab.cli import jsonout

FORMAT_HELP = ("onnx: the model for onnxruntime or Netron ((N, 784) pixels in [0, 1] → logits, probabilities); "
               "script: a plain-PyTorch file that trains the same network again; safetensors: the weights and "
               "the config JSON beside them, which `runs import` takes back")


def add_export(sub, common: Callable[..., None]) -> None:
    """Register `export` (`common` adds --runs-dir)."""
    p = sub.add_parser("export", help="write a run as ONNX, as a plain-PyTorch training script, or as its weights")
    p.add_argument("run_id")
    p.add_argument("--format", required=True, choices=["onnx", "safetensors", "script"], help=FORMAT_HELP)
    p.add_argument("--out", metavar="PATH", help="the file to write, or a folder for RUN_ID.onnx / .safetensors / "
                                                 ".py (default: that name in the current folder)")
    common(p, data=False)
    p.set_defaults(func=export)


def add_runs_import(runs: argparse.ArgumentParser, common: Callable[..., None]) -> None:
    """Register `runs import` under `runs` (which still lists runs without an action)."""
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    p = actions.add_parser("import", help="add downloaded runs (weights .safetensors + config .json) to the store")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a run's RUN.safetensors and RUN-config.json as the "
                   "Results page downloads them (several runs: pairs matched by name)")
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=import_runs)


def export(args: argparse.Namespace) -> int:
    from mnistlab.export import export_run
    from mnistlab.runs.store import RunStore

    for path in export_run(RunStore(args.runs_dir), args.run_id, args.format, args.out):
        print(f"wrote {path}")
    return 0


def import_runs(args: argparse.Namespace) -> int:
    from mnistlab.runs.importing import import_paths
    from mnistlab.runs.store import RunStore

    imported = import_paths(RunStore(args.runs_dir), args.paths, args.data_dir, owner="cli")
    if args.json:
        print(jsonout.dumps([{"run_id": r.run_id, "source": r.source, "message": r.message,
                              "test_accuracy": r.evaluation.accuracy if r.evaluation else None} for r in imported]))
        return 0
    for r in imported:
        print(f"{r.run_id}: {r.message}")
    return 0
