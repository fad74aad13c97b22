"""A sweep worker: ask the study for trials, train them as runs in this machine's run store, tell the values.

Start as many workers as you like, here or on other machines, with the same storage: each asks for its
own trials (trial numbers are unique in the database), so no point is lost or trained twice. Before each
ask a worker fails the trials whose heartbeat stopped (their worker died) and queues them again.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from mnistlab.errors import SweepError
from mnistlab.runs.store import RunStore
from mnistlab.sweeps.parallel import run_batch
from mnistlab.sweeps.study import Sweep, open_sweep
from mnistlab.sweeps.trial import TrialOutcome, Worker, heartbeat
from mnistlab.train.events import Subscriber

MAX_PARALLEL = 256
MAX_TRIALS = 100_000


@dataclass
class WorkerReport:
    """What one worker did: its trials, and why it stopped asking for more."""

    sweep: str
    trials: list[TrialOutcome] = field(default_factory=list)
    reason: str = "trials"  # trials (it ran as many as asked) | timeout | cancel | grid (every point tried)
    parallel: str = "sequential"  # sequential (one trial at a time) | population (--parallel K > 1)

    def to_dict(self) -> dict:
        return {"sweep": self.sweep, "reason": self.reason, "parallel": self.parallel,
                "trials": [{"number": t.number, "state": t.state, "value": t.value, "params": t.params,
                            "run_ids": list(t.run_ids), "message": t.message} for t in self.trials]}


def run_worker(name: str, *, storage: str | None = None, trials: int, timeout: float | None = None,
               runs_dir: str | Path | None = None, data_dir: str | Path | None = None,
               cancel: threading.Event | None = None, parallel: int = 1, owner: str = "",
               on_trial: Callable[[TrialOutcome], None] | None = None,
               subscribers: Iterable[Subscriber] = ()) -> WorkerReport:
    """Run up to `trials` trials of sweep `name`, then return what happened.

    Args:
        storage: the sweep's storage URL (default: the runs directory's SQLite file).
        trials: this worker's count (each worker started runs its own `trials`).
        timeout: seconds after which no new trial starts (the running ones finish).
        runs_dir, data_dir: this machine's run store and datasets.
        cancel: set it (Ctrl-C, the dashboard's Stop) to stop within one training step; the trial
            it stopped is queued again, the finished ones are kept.
        parallel: trials asked at once and trained together by population training when available.
        owner: recorded on each run (the dashboard session).
        on_trial: called with each trial's outcome once the study has it (after its batch with --parallel).
        subscribers: training events of every run (progress bars, the dashboard's job snapshot).
    """
    for what, value, most in (("--trials", trials, MAX_TRIALS), ("--parallel", parallel, MAX_PARALLEL)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise SweepError(f"{what} must be a whole number from 1 to {most:,}; got {value!r}.")
    if timeout is not None and not timeout > 0:
        raise SweepError(f"--timeout must be a number of seconds above 0; got {timeout!r}.")
    sweep = open_sweep(name, storage, runs_dir)
    store = RunStore(runs_dir)
    store.check_usable()
    worker = Worker(store, data_dir, cancel or threading.Event(), owner, tuple(subscribers))
    report = WorkerReport(name, parallel="population" if parallel > 1 else "sequential")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        reason = _why_stop(sweep, worker, report, trials, deadline)
        if reason:
            report.reason = reason
            return report
        batch = _ask(sweep, min(parallel, trials - len(report.trials)))
        with contextlib.ExitStack() as beating:  # every asked trial beats from now on: none is left "running"
            for trial in batch:
                beating.enter_context(heartbeat(sweep, trial))
            outcomes = run_batch(sweep, batch, worker)
        for outcome in outcomes:
            report.trials.append(outcome)
            if on_trial is not None:
                on_trial(outcome)


def _why_stop(sweep: Sweep, worker: Worker, report: WorkerReport, trials: int, deadline: float | None) -> str:
    """Why the worker asks for no more trials ('' while it should go on)."""
    if worker.cancel.is_set():
        return "cancel"
    if len(report.trials) >= trials:
        return "trials"
    if deadline is not None and time.monotonic() >= deadline:
        return "timeout"
    sampler = sweep.study.sampler
    if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(sweep.study):
        return "grid"
    return ""


def _ask(sweep: Sweep, count: int) -> list[optuna.Trial]:
    """Fail (and queue again) trials whose worker died, then ask for `count` new ones (queued ones first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(sweep.study)
        # The worker runs each trial's heartbeat itself (trial.heartbeat), as Study.optimize would.
        warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")
        distributions = sweep.definition.space.distributions()
        return [sweep.study.ask(distributions) for _ in range(count)]
