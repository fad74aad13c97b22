"""One trial: a sampled point trained once per seed as normal runs, its value told to the study.

Seeds as replicates: one Optuna trial per point, with `seeds` runs inside (seeds 0..N-1, one after
another); the trial's value is the mean of the runs' best validation accuracies, and each run's id,
seed, value and curve are stored in the trial's user attributes (so a viewer sees the spread). Pruning
judges the first seed's per-epoch validation accuracy (step = epoch); a pruned point trains no more seeds.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import get_heartbeat_thread  # what Study.optimize runs beside each trial
from optuna.trial import TrialState

from mnistlab.errors import ConfigError, DeviceError
from mnistlab.experiment import ExperimentResult, run_experiment
from mnistlab.runs.store import RunStore
from mnistlab.sweeps.study import Sweep
from mnistlab.train.cancel import Stop
from mnistlab.train.events import EpochEnded, Event, Subscriber

POINT_ERRORS = (ConfigError, DeviceError)  # the point's own fault (a bad combination, too big): fail it, go on
STOPPED = "stopped by its worker before it finished; it is queued to run again"


@dataclass(frozen=True)
class Worker:
    """What every trial of one worker shares: where runs go, where data is, who asked, how to stop."""

    store: RunStore
    data_dir: str | Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    owner: str = ""
    subscribers: tuple[Subscriber, ...] = ()
    host: str = field(default_factory=socket.gethostname)

    @property
    def name(self) -> str:
        return f"{self.host}:{os.getpid()}"


@dataclass(frozen=True)
class TrialOutcome:
    """How one trial ended, as the worker told the study."""

    number: int
    state: str  # complete | pruned | fail
    value: float | None
    params: dict
    run_ids: tuple[str, ...] = ()
    message: str = ""  # why it failed, or was pruned


def best_val(history: list[dict]) -> float:
    """A run's objective: its best validation accuracy over whole epochs (0 when it reached none)."""
    values = [h["val_accuracy"] for h in history if not h.get("partial") and h.get("val_accuracy") is not None]
    return max(values, default=0.0)


def curve(history: list[dict]) -> list[float | None]:
    """Validation accuracy per whole epoch."""
    return [h.get("val_accuracy") for h in history if not h.get("partial")]


def run_record(seed: int, outcome: ExperimentResult) -> dict:
    """A run as the trial's user attributes keep it (what `sweep show` shows without the run store)."""
    history = outcome.result.history
    return {"seed": seed, "run_id": outcome.run_id, "status": outcome.result.status, "value": best_val(history),
            "curve": curve(history), "epochs": len(curve(history)), "train_seconds": outcome.result.train_seconds,
            "message": outcome.result.message}


def start(trial: optuna.Trial, worker: Worker, config_dict: dict | None) -> None:
    """Mark the trial as this worker's, afresh (a retried trial arrives with its failed attempt's attributes)."""
    for key, value in {"host": worker.host, "worker": worker.name, "owner": worker.owner, "config": config_dict,
                       "runs": [], "message": ""}.items():
        trial.set_user_attr(key, value)


def heartbeat(sweep: Sweep, trial: optuna.Trial):
    """A context that records the trial's heartbeat in the background (a no-op for storages without one)."""
    return get_heartbeat_thread(trial._trial_id, sweep.storage)


def fail(sweep: Sweep, trial: optuna.Trial, message: str, retry: bool = False) -> TrialOutcome:
    """Tell the study the trial failed; `retry` queues its point again (its worker stopped, not the point)."""
    trial.set_user_attr("message", message)
    frozen = sweep.study.tell(trial, state=TrialState.FAIL)
    if retry:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            RetryHeartbeatStaleTrialCallback()(sweep.study, frozen)
    return TrialOutcome(trial.number, "fail", None, dict(trial.params), message=message)


def finish(sweep: Sweep, trial: optuna.Trial, runs: list[dict], pruned: str = "") -> TrialOutcome:
    """Tell the study the trial's value (the mean over seeds), or that it was pruned."""
    ids = tuple(r["run_id"] for r in runs)
    if pruned:
        trial.set_user_attr("message", pruned)
        told = sweep.study.tell(trial, state=TrialState.PRUNED)
        return TrialOutcome(trial.number, "pruned", told.value, dict(trial.params), ids, pruned)
    value = sum(r["value"] for r in runs) / len(runs)
    sweep.study.tell(trial, value)
    return TrialOutcome(trial.number, "complete", value, dict(trial.params), ids)


class Pruning:
    """A subscriber on a trial's first seed: reports each epoch's validation accuracy, and when the pruner
    says the point is hopeless, prunes it (`stops`: the runs of all its seeds that may be training)."""

    def __init__(self, trial: optuna.Trial, stops: list[Stop]):
        self.trial, self.stops = trial, stops

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpochEnded) and not event.partial and event.val_accuracy is not None:
            if report(self.trial, event.epoch, event.val_accuracy):
                for stop in self.stops:
                    stop.prune(pruned_message(event.epoch, event.val_accuracy))


def report(trial: optuna.Trial, epoch: int, value: float) -> bool:
    """Report one epoch's validation accuracy; True when the pruner says stop."""
    trial.report(value, epoch)
    return trial.should_prune()


def pruned_message(epoch: int, value: float) -> str:
    return (f"pruned after epoch {epoch}: validation accuracy {value:.2%} was below what the sweep's earlier "
            "trials had at that epoch")


def run_point(sweep: Sweep, trial: optuna.Trial, worker: Worker) -> TrialOutcome:
    """Train the trial's point once per seed and tell the study how it went (the trial always ends told)."""
    try:
        config = sweep.definition.config(trial.params)
    except ConfigError as error:
        start(trial, worker, None)
        return fail(sweep, trial, str(error))
    start(trial, worker, config.to_dict())
    runs: list[dict] = []
    try:
        for seed in range(sweep.definition.seeds):
            stop = Stop(parent=worker.cancel)
            watch = [Pruning(trial, [stop])] if seed == 0 else []
            outcome = run_experiment(config.with_(seed=seed), preset=sweep.definition.preset, store=worker.store,
                                     data_dir=worker.data_dir, subscribers=[*watch, *worker.subscribers],
                                     cancel=stop, owner=worker.owner, tags=tags(sweep, trial, seed))
            runs.append(run_record(seed, outcome))
            trial.set_user_attr("runs", runs)  # after each seed, so a viewer sees the spread grow
            if outcome.result.status == "pruned":
                return finish(sweep, trial, runs, outcome.result.message)
            if outcome.result.status == "stopped":
                return fail(sweep, trial, STOPPED, retry=True)
    except POINT_ERRORS as error:
        return fail(sweep, trial, str(error))
    except BaseException as error:  # noqa: BLE001 - the worker's trouble (no data, Ctrl-C twice): queue it again
        fail(sweep, trial, f"{type(error).__name__}: {error}" if str(error) else STOPPED, retry=True)
        raise
    return finish(sweep, trial, runs)


def tags(sweep: Sweep, trial: optuna.Trial, seed: int) -> dict:
    """What a trial's run records about where it came from."""
    return {"sweep": sweep.name, "trial": trial.number, "seed": seed}


def run_points(sweep: Sweep, trials: list[optuna.Trial], worker: Worker) -> list[TrialOutcome]:
    """Several asked trials one after another (`--parallel` without population training); any not started
    when the worker stops (or fails) are queued again, never left "running"."""
    outcomes: list[TrialOutcome] = []
    started = 0
    try:
        for trial in trials:
            if worker.cancel.is_set():
                break
            started += 1  # run_point tells its trial even when it raises
            outcomes.append(run_point(sweep, trial, worker))
    finally:
        outcomes += [fail(sweep, t, STOPPED, retry=True) for t in trials[started:]]
    return outcomes
