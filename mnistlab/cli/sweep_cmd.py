"""`sweep create | run | show | list | best | delete`: hyperparameter sweeps on Optuna (`mnistlab.sweeps`)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable

from mnistlab.cli import jsonout, train_cmd
from mnistlab.cli.progress import ProgressPrinter
from mnistlab.errors import SweepError

SPEC_HELP = ("FIELD=SPEC, repeatable. SPEC: log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B,… "
             "(e.g. lr=log:1e-4:1e-1 dropout=float:0:0.5 batch-size=choice:32,64,128). Depth and width: "
             "hidden=choice:64,256+128 picks whole layer lists; layers=int:1:4 width=choice:64,128 searches "
             "them as two axes (every layer equally wide)")
STORAGE_HELP = ("where the sweep lives: sqlite:///PATH, postgresql://USER:PASSWORD@HOST/DB, mysql://… or "
                "journal:PATH (default: sweeps.db in the runs directory). Workers sharing it share the sweep")


def add_subcommands(sub, common: Callable[..., None]) -> None:
    """Register `sweep` and its actions (`common` adds --data-dir/--runs-dir)."""
    sweep = sub.add_parser("sweep", help="search hyperparameters with Optuna: create, run workers, show, retrain")
    actions = sweep.add_subparsers(dest="sweep_command", required=True, metavar="ACTION")

    p = actions.add_parser("create", help="a new sweep: a base config (preset, config file, flags) and a space")
    p.add_argument("name")
    p.add_argument("--param", action="append", default=[], metavar="FIELD=SPEC", help=SPEC_HELP)
    p.add_argument("--sampler", default="tpe", metavar="{tpe,random,grid}", help="how points are chosen (default tpe)")
    p.add_argument("--pruner", metavar="{none,median,hyperband}",
                   help="stop hopeless trials early from their per-epoch validation accuracy (default median; "
                        "none for a grid)")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="train each point with seeds 0..N-1; its value is their mean (default 1)")
    train_cmd.add_arguments(p)  # --preset/--config/--augment and every setting flag: the base config
    _where(p, common, data=False)
    p.set_defaults(func=create)

    p = actions.add_parser("run", help="a worker: train trials of a sweep (start several, here or elsewhere)")
    p.add_argument("name")
    p.add_argument("--trials", type=int, required=True, metavar="N", help="trials this worker runs")
    p.add_argument("--timeout", type=float, metavar="S", help="start no new trial after S seconds")
    p.add_argument("--parallel", type=int, default=1, metavar="K",
                   help="ask K trials at once and train them together (population training) where it can")
    p.add_argument("--json", action="store_true")
    _where(p, common)
    p.set_defaults(func=run)

    p = actions.add_parser("show", help="a sweep's trials, its best trial and the parameters' importances")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    _where(p, common, data=False)
    p.set_defaults(func=show)

    p = actions.add_parser("list", help="the sweeps in a storage")
    p.add_argument("--json", action="store_true")
    _where(p, common, data=False)
    p.set_defaults(func=list_)

    p = actions.add_parser("best", help="a sweep's best trial; --retrain trains it on all training images")
    p.add_argument("name")
    p.add_argument("--retrain", action="store_true",
                   help="train the best configuration with val_split 0 and report its test accuracy")
    p.add_argument("--json", action="store_true")
    _where(p, common)
    p.set_defaults(func=best)

    p = actions.add_parser("delete", help="delete a sweep and its trials (their runs stay in the run stores)")
    p.add_argument("name")
    _where(p, common, data=False)
    p.set_defaults(func=delete)


def _where(p: argparse.ArgumentParser, common: Callable[..., None], data: bool = True) -> None:
    p.add_argument("--storage", metavar="URL", help=STORAGE_HELP)
    common(p, data=data)


def _quiet_optuna() -> None:
    """Optuna logs every study and trial at INFO; the CLI prints its own lines."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def _params(params: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def create(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import create_sweep

    _quiet_optuna()
    if args.seed is not None:
        raise SweepError("a sweep trains each point with seeds 0..N-1; use --seeds N instead of --seed.")
    if args.val_split == 0:
        raise SweepError("a sweep chooses by validation accuracy; give --val-split a fraction above 0 (e.g. 0.1).")
    base, preset = train_cmd.config_from_args(args)
    sweep = create_sweep(args.name, base, args.param, preset=preset, seeds=args.seeds, sampler=args.sampler,
                         pruner=args.pruner, storage=args.storage, runs_dir=args.runs_dir)
    if args.json:
        print(jsonout.dumps({"name": sweep.name, "storage": sweep.url, "definition": sweep.definition.to_dict()}))
        return 0
    d = sweep.definition
    print(f"created sweep {sweep.name} in {sweep.url}: {' '.join(f'{p.name}={p.spec}' for p in d.space.params)}; "
          f"{d.seeds} seed(s) per point, sampler {d.sampler}, pruner {d.pruner}, validation split {d.base.val_split:g}")
    storage = f" --storage {args.storage}" if args.storage else ""
    print(f"start workers (here or on other machines) with: python -m mnistlab sweep run {sweep.name} --trials 20"
          f"{storage}")
    return 0


@contextlib.contextmanager
def _stoppable():
    """A cancel event the first Ctrl-C (or SIGTERM) sets; a second Ctrl-C aborts at once."""
    cancel = threading.Event()

    def stop(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        print("\nstopping after this step; finished trials are kept (Ctrl-C again to abort)…", file=sys.stderr)
        cancel.set()

    previous = signal.signal(signal.SIGINT, stop), signal.signal(signal.SIGTERM, stop)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


REASONS = {"trials": "it ran the trials asked", "timeout": "its --timeout passed",
           "cancel": "it was stopped; the interrupted trial is queued to run again",
           "grid": "every point of the grid has been tried"}


def run(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import run_worker

    _quiet_optuna()

    def line(t) -> None:
        value = f"validation {_pct(t.value)}" if t.value is not None else t.message
        print(f"trial {t.number} {t.state}: {value}  {_params(t.params)}  runs {', '.join(t.run_ids) or '—'}",
              flush=True)

    with _stoppable() as cancel:
        report = run_worker(args.name, storage=args.storage, trials=args.trials, timeout=args.timeout,
                            runs_dir=args.runs_dir, data_dir=args.data_dir, cancel=cancel, parallel=args.parallel,
                            owner="cli", on_trial=None if args.json else line)
    if args.json:
        print(jsonout.dumps(report.to_dict()))
        return 0
    states = [t.state for t in report.trials]
    counts = ", ".join(f"{states.count(s)} {s}" for s in ("complete", "pruned", "fail") if s in states)
    print(f"worker done: {len(report.trials)} trial(s){f' ({counts})' if counts else ''}; it stopped because "
          f"{REASONS[report.reason]}. See them with: python -m mnistlab sweep show {args.name}")
    return 0


def show(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import summarize

    _quiet_optuna()
    summary = summarize(args.name, args.storage, args.runs_dir)
    if args.json:
        print(jsonout.dumps(summary.to_dict()))
        return 0
    d = summary.definition
    counts = ", ".join(f"{n} {s}" for s, n in summary.counts.items()) or "no trials yet"
    print(f"sweep {summary.name} in {summary.storage}: {d['seeds']} seed(s), sampler {d['sampler']}, "
          f"pruner {d['pruner']}; {counts}")
    for t in summary.trials:
        spread = f" ±{100 * t.value_std:.2f}" if t.value_std is not None else ""
        what = (_pct(t.value) + spread + (" pruned" if t.state == "pruned" else "") if t.value is not None
                else t.message or "—")
        print(f"  {t.number:>4} {t.state:<8} {what:<18} {_params(t.params)}  {t.run_id or '—'} {t.host}")
    if summary.best:
        print(f"best: trial {summary.best.number}, validation {_pct(summary.best.value)}: {_params(summary.best.params)}")
    shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in summary.importances.items())
    print(f"importances: {shares or '—'} ({summary.importances_note})")
    if summary.retrained:
        r = summary.retrained
        print(f"retrained: trial {r['trial']} as run {r['run_id']} on {r['host']}: test {_pct(r['test_accuracy'])}")
    return 0


def list_(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import list_sweeps
    from mnistlab.sweeps.summary import storage_name

    _quiet_optuna()
    listed = list_sweeps(args.storage, args.runs_dir)
    if args.json:
        print(jsonout.dumps([s.to_dict() for s in listed]))
        return 0
    if not listed:
        print(f"no sweeps in {storage_name(args.storage, args.runs_dir)}; make one with `python -m mnistlab sweep "
              "create NAME --preset fast --param lr=log:1e-3:1`.")
    for s in listed:
        print(f"{s.name:<24} {s.trials:>5} trials  best {_pct(s.best_value):>7}  {' '.join(s.params)}  "
              f"seeds {s.seeds}, {s.sampler}")
    return 0


def best(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import open_sweep, retrain_best
    from mnistlab.sweeps.summary import best_trial

    _quiet_optuna()
    if not args.retrain:
        found = best_trial(open_sweep(args.name, args.storage, args.runs_dir))
        if found is None:
            raise SweepError(f"sweep {args.name} has no complete trial yet; run some first (sweep run "
                             f"{args.name} --trials N).")
        if args.json:
            print(jsonout.dumps(found.to_dict()))
        else:
            print(f"best: trial {found.number}, validation {_pct(found.value)}: {_params(found.params)}; "
                  f"runs {', '.join(found.run_ids)} on {found.host}")
        return 0
    with _stoppable() as cancel:
        result = retrain_best(args.name, storage=args.storage, runs_dir=args.runs_dir, data_dir=args.data_dir,
                              cancel=cancel, owner="cli", subscribers=[] if args.json else [ProgressPrinter()])
    if args.json:
        print(jsonout.dumps(result.to_dict()))
    else:
        print(f"retrained trial {result.trial} on the whole training set as run {result.run_id} ({result.status}): "
              f"test accuracy {_pct(result.test_accuracy)} (chosen by validation {_pct(result.val_accuracy)})")
    return 2 if result.status == "diverged" else 0


def delete(args: argparse.Namespace) -> int:
    from mnistlab.sweeps import delete_sweep
    from mnistlab.sweeps.summary import storage_name

    _quiet_optuna()
    delete_sweep(args.name, args.storage, args.runs_dir)
    print(f"deleted sweep {args.name} from {storage_name(args.storage, args.runs_dir)}; its runs stay in the run "
          "stores of the machines that trained them.")
    return 0
