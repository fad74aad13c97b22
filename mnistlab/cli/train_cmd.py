"""`mnistlab train`: build a TrainConfig from a preset and flags, run it, report."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from mnistlab.cli import jsonout
from mnistlab.cli.progress import ProgressPrinter
from mnistlab.cli.setting_flags import add_setting_flags, apply_changes, flag_changes, one_of
from mnistlab.configs import check_choice
from mnistlab.errors import ConfigError
from mnistlab.experiment import ExperimentResult, continued_config, run_experiment
from mnistlab.presets import PRESETS, get_preset
from mnistlab.runs.store import RunStore
from mnistlab.settings import leaf_settings
from mnistlab.train.config import AUGMENT_NAMES, TrainConfig


def add_arguments(p: argparse.ArgumentParser, config_cls: type = TrainConfig) -> None:
    """--preset / --config / --augment, then one flag per declared setting (`mnistlab.settings`)."""
    p.add_argument("--preset", metavar=one_of(PRESETS), help="start from a preset; other flags override it")
    p.add_argument("--config", help="a TrainConfig JSON file to start from (instead of a preset)")
    p.add_argument("--augment", metavar=one_of(AUGMENT_NAMES),
                   help="an augmentation recipe; the --aug-* flags then change single parts of it")
    add_setting_flags(p, config_cls)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")


def add_resume_argument(p: argparse.ArgumentParser) -> None:
    """--resume RUN_ID: `train` only (a sweep has no parent run)."""
    p.add_argument("--resume", metavar="RUN_ID",
                   help="continue this run from its last saved epoch for --epochs N more epochs (a new run that "
                        "records its parent); only --lr may change too")


def resumed_config(args: argparse.Namespace, store: RunStore) -> tuple[TrainConfig, str | None]:
    """The parent's config with --epochs more epochs (and --lr); any other setting is refused."""
    given = [f"--{leaf.flag}" for leaf in leaf_settings(TrainConfig) if leaf.flag is not None
             and leaf.path not in (("epochs",), ("lr",)) and getattr(args, leaf.dest, None) is not None]
    given += [f"--{name}" for name in ("preset", "config", "augment") if getattr(args, name) is not None]
    if given:
        raise ConfigError(f"--resume keeps the run's architecture, data and settings, so {', '.join(given)} "
                          "cannot be given with it; change only --epochs and --lr, or train a new run.")
    if args.epochs is None:
        raise ConfigError("--resume needs --epochs N, the number of epochs to train on top of the saved ones.")
    config = continued_config(store, args.resume, args.epochs, args.lr)
    return config, store.open(args.resume).preset


def config_from_args(args: argparse.Namespace, config_cls: type = TrainConfig) -> tuple[TrainConfig, str | None]:
    """The preset (or --config file, or defaults) with the recipe and every given flag applied."""
    if args.config:
        config = config_cls.from_file(args.config)
    elif args.preset:
        config = config_cls.from_dict(get_preset(args.preset).config.to_dict())
    else:
        config = config_cls()
    if args.augment is not None:
        check_choice("augment", args.augment, tuple(AUGMENT_NAMES))
        config = config.with_(augment=AUGMENT_NAMES[args.augment])
    return apply_changes(config, flag_changes(args, config_cls)), args.preset


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
    store = RunStore(args.runs_dir)
    resume = getattr(args, "resume", None)
    config, preset = resumed_config(args, store) if resume else config_from_args(args)
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
        outcome = run_experiment(config, preset=preset, store=store, data_dir=args.data_dir,
                                 subscribers=[ProgressPrinter()], cancel=cancel, owner="cli", resume_from=resume)
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
