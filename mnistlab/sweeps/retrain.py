"""`sweep best --retrain`: the best point trained on the whole training set, scored on the test set once.

Choosing used validation accuracy only; this is the one run of a sweep whose test accuracy is the
result to report. It is recorded in the study, so every machine sees it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mnistlab.errors import SweepError
from mnistlab.experiment import run_experiment
from mnistlab.runs.store import RunStore
from mnistlab.sweeps.study import open_sweep
from mnistlab.sweeps.summary import RETRAINED, best_trial
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import Subscriber


@dataclass(frozen=True)
class Retrained:
    """The best trial's configuration retrained on all training images, and its test accuracy."""

    sweep: str
    trial: int
    val_accuracy: float  # the trial's value (mean best validation accuracy) that chose it
    run_id: str
    status: str
    test_accuracy: float | None
    host: str
    when: str
    config: dict

    def to_dict(self) -> dict:
        return asdict(self)


def retrain_best(name: str, *, storage: str | None = None, runs_dir: str | Path | None = None,
                 data_dir: str | Path | None = None, cancel: threading.Event | None = None, owner: str = "",
                 subscribers: Iterable[Subscriber] = ()) -> Retrained:
    """Train the best trial's config with val_split 0 (seed 0) as a run here; record and return its test accuracy."""
    sweep = open_sweep(name, storage, runs_dir)
    best = best_trial(sweep)
    if best is None:
        raise SweepError(f"sweep {name} has no complete trial yet; run some first (sweep run {name} --trials N).")
    config = sweep.definition.config(best.params) if best.config is None else TrainConfig.from_dict(best.config)
    config = config.with_(val_split=0.0, seed=0)
    outcome = run_experiment(config, preset=sweep.definition.preset, store=RunStore(runs_dir), data_dir=data_dir,
                             subscribers=subscribers, cancel=cancel, owner=owner,
                             tags={"sweep": name, "retrain_of": best.number})
    result = Retrained(name, best.number, best.value, outcome.run_id, outcome.result.status,
                       outcome.evaluation.accuracy if outcome.evaluation else None, socket.gethostname(),
                       datetime.now(UTC).isoformat(timespec="seconds"), config.to_dict())
    if outcome.result.status in ("finished", "stalled"):  # a stopped retrain is no result to report
        sweep.study.set_user_attr(RETRAINED, result.to_dict())
    return result
