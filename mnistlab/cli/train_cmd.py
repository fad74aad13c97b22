"""`mnistlab train`: build a TrainConfig from a preset and flags, run it, report."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable

from mnistlab.cli import jsonout
from mnistlab.cli.progress import ProgressPrinter
from mnistlab.configs import check_choice
from mnistlab.errors import ConfigError
from mnistlab.experiment import ExperimentResult, run_experiment
from mnistlab.models.spec import ACTIVATIONS, INITS, NORMS, OUTPUTS
from mnistlab.presets import PRESETS, get_preset
from mnistlab.runs.store import RunStore
from mnistlab.train.config import (
    AUGMENT_NAMES,
    DATASET_NAMES,
    DEVICES,
    ENGINES,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
)


def parse_hidden(text: str) -> tuple[int, ...]:
    """'512,128' → (512, 128); '' or 'none' → () (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--hidden takes comma-separated layer widths like 512,128; got {text!r}.") from None


def parse_subset(text: str) -> int | float:
    """'1000' → 1000 samples; '0.25' → a quarter of the training set."""
    try:
        return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        raise ConfigError(f"--train-subset takes a count (1000) or a fraction (0.25); got {text!r}.") from None


def _number(kind: type) -> Callable[[str], int | float | str]:
    """An argparse type that never fails: the number, or the text as given, which TrainConfig then rejects
    with the same one-line message (and allowed range) the dashboard shows, instead of argparse's usage dump."""
    def convert(text: str) -> int | float | str:
        try:
            return kind(text)
        except ValueError:
            return text

    convert.__name__ = kind.__name__
    return convert


def _one_of(choices) -> str:
    """A metavar listing the choices; the value is checked by TrainConfig, so the message is the config's."""
    return "{" + ",".join(choices) + "}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    real, whole = _number(float), _number(int)
    p.add_argument("--preset", metavar=_one_of(PRESETS), help="start from a preset; other flags override it")
    p.add_argument("--dataset", metavar=_one_of(DATASET_NAMES))
    p.add_argument("--hidden", help="hidden layer widths, e.g. 512,128 ('none' for no hidden layer)")
    p.add_argument("--activation", metavar=_one_of(ACTIVATIONS))
    p.add_argument("--leaky-slope", type=real)
    p.add_argument("--dropout", type=real)
    p.add_argument("--norm", metavar=_one_of(NORMS))
    p.add_argument("--output", metavar=_one_of(OUTPUTS), help="output activation")
    p.add_argument("--init", metavar=_one_of(INITS))
    p.add_argument("--optimizer", metavar=_one_of(OPTIMIZERS))
    p.add_argument("--lr", type=real, help="learning rate")
    p.add_argument("--weight-decay", type=real)
    p.add_argument("--schedule", metavar=_one_of(SCHEDULES))
    p.add_argument("--batch-size", type=whole)
    p.add_argument("--epochs", type=whole)
    p.add_argument("--loss", metavar=_one_of(LOSSES))
    p.add_argument("--label-smoothing", type=real)
    p.add_argument("--augment", metavar=_one_of(AUGMENT_NAMES))
    p.add_argument("--train-subset", help="first N training images, or a fraction like 0.25")
    p.add_argument("--test-subset", type=whole, help="evaluate on the first N test images")
    p.add_argument("--val-split", type=real, help="fraction of training data held out for validation")
    p.add_argument("--engine", metavar=_one_of(ENGINES))
    p.add_argument("--device", metavar=_one_of(DEVICES))
    p.add_argument("--seed", type=whole)
    p.add_argument("--config", help="a TrainConfig JSON file to start from (instead of a preset)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")


FLAG_FIELDS = {  # CLI flag attribute → TrainConfig / MLPSpec field
    "dataset": "dataset", "activation": "activation", "leaky_slope": "leaky_slope", "dropout": "dropout",
    "norm": "norm", "output": "output", "init": "init", "optimizer": "optimizer", "lr": "lr",
    "weight_decay": "weight_decay", "schedule": "schedule", "batch_size": "batch_size", "epochs": "epochs",
    "loss": "loss", "label_smoothing": "label_smoothing", "test_subset": "test_subset",
    "val_split": "val_split", "engine": "engine", "device": "device", "seed": "seed",
}


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, str | None]:
    """The preset (or --config file, or defaults) with every given flag applied."""
    if args.config:
        config = TrainConfig.from_file(args.config)
    else:
        config = get_preset(args.preset).config if args.preset else TrainConfig()
    changes = {field: getattr(args, flag) for flag, field in FLAG_FIELDS.items() if getattr(args, flag) is not None}
    if args.hidden is not None:
        changes["hidden"] = parse_hidden(args.hidden)
    if args.augment is not None:
        check_choice("augment", args.augment, tuple(AUGMENT_NAMES))
        changes["augment"] = AUGMENT_NAMES[args.augment]
    if args.train_subset is not None:
        changes["train_subset"] = parse_subset(args.train_subset)
    return config.with_(**changes), args.preset


def result_json(outcome: ExperimentResult) -> dict:
    """The CLI's JSON contract for a finished `train`."""
    ev, res = outcome.evaluation, outcome.result
    return {
        "run_id": outcome.run_id, "preset": outcome.preset, "dataset": outcome.config.dataset,
        "engine": outcome.config.engine, "device": res.device, "status": res.status, "message": res.message,
        "epochs": len(res.history), "epoch_seconds": res.epoch_seconds, "train_seconds": res.train_seconds,
        "test_accuracy": ev.accuracy if ev else None, "test_loss": ev.loss if ev else None,
        "per_class_accuracy": ev.per_class_accuracy if ev else None, "history": res.history,
        "config": outcome.config.to_dict(),
    }


def run(args: argparse.Namespace) -> int:
    config, preset = config_from_args(args)
    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum, frame):  # first Ctrl-C stops gracefully and keeps the run; a second one aborts
        if cancel.is_set():
            raise KeyboardInterrupt
        print("\nstopping after this step (Ctrl-C again to abort)…", file=sys.stderr)
        cancel.set()

    signal.signal(signal.SIGINT, stop)
    # SIGTERM (a service manager, `docker stop`, `kill`) ends the run as Ctrl-C does: final model and evaluation saved.
    previous_term = signal.signal(signal.SIGTERM, stop)
    try:
        outcome = run_experiment(config, preset=preset, store=RunStore(args.runs_dir), data_dir=args.data_dir,
                                 subscribers=[ProgressPrinter()], cancel=cancel, owner="cli")
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    if args.json:
        print(jsonout.dumps(result_json(outcome)))
    else:
        print(f"saved run {outcome.run_id}")
    # A run that diverged or never beat guessing is kept but is not a success: say why, exit 2.
    status, message = outcome.result.status, outcome.result.message
    if status in ("diverged", "stalled"):
        print(f"{'error' if status == 'diverged' else 'warning'}: {message}", file=sys.stderr)
        return 2
    return 0
