"""What a sweep found, read from its study alone (no run store needed): trials, the best one, importances.

Each dataclass has `to_dict()`, the JSON `sweep show --json` prints and the dashboard draws.
"""

from __future__ import annotations

import statistics
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from mnistlab.sweeps.spec import Param
from mnistlab.sweeps.storage import default_url, open_storage, shown_url
from mnistlab.sweeps.study import DEFINITION, Sweep, open_sweep

MIN_IMPORTANCE_TRIALS = 4  # finished trials before importances mean anything
RETRAINED = "mnistlab_retrained"  # the study user attribute recording `sweep best --retrain`


@dataclass(frozen=True)
class TrialSummary:
    """One trial: its point, how it ended, its value (mean over seeds) and every seed's run."""

    number: int
    state: str  # complete | pruned | fail | running | waiting
    params: dict
    value: float | None  # mean best validation accuracy over seeds (a pruned trial: its last reported one)
    values: list[float]  # each seed's best validation accuracy, in seed order
    value_std: float | None  # spread over seeds (None with fewer than two)
    run_id: str | None  # the first seed's run (in the run store of `host`)
    run_ids: list[str]
    runs: list[dict]  # per seed: seed, run_id, status, value, curve, epochs, train_seconds
    curve: list[float | None]  # validation accuracy per epoch, the mean over seeds
    host: str
    worker: str  # host:pid
    started: str | None  # ISO times
    completed: str | None
    duration_s: float | None
    message: str = ""  # why it failed or was pruned
    retry_of: int | None = None  # the trial whose point this one trains again (its worker died or stopped)
    config: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SweepSummary:
    """A sweep as `sweep show` prints it."""

    name: str
    storage: str  # the URL, password hidden
    definition: dict  # base config, space, seeds, sampler, pruner
    trials: list[TrialSummary]
    best: TrialSummary | None
    importances: dict[str, float]  # parameter → share of the value's variation it explains (sums to 1)
    importances_note: str  # how they were computed, or why there are none yet
    counts: dict[str, int] = field(default_factory=dict)  # trials per state
    retrained: dict | None = None  # the last `sweep best --retrain`: trial, run_id, test_accuracy, host

    def to_dict(self) -> dict:
        return {"name": self.name, "storage": self.storage, "definition": self.definition, "counts": self.counts,
                "trials": [t.to_dict() for t in self.trials], "best": self.best.to_dict() if self.best else None,
                "importances": self.importances, "importances_note": self.importances_note,
                "retrained": self.retrained}


@dataclass(frozen=True)
class SweepListing:
    """One line of `sweep list`."""

    name: str
    trials: int
    best_value: float | None
    best_trial: int | None
    params: list[str]  # "lr=log:0.0001:0.1"
    seeds: int
    sampler: str
    pruner: str
    created: str
    host: str

    def to_dict(self) -> dict:
        return asdict(self)


def trial_summary(trial: FrozenTrial) -> TrialSummary:
    attrs = trial.user_attrs
    runs = [r for r in attrs.get("runs") or [] if isinstance(r, dict)]
    values = [r["value"] for r in runs if isinstance(r.get("value"), (int, float))]
    curves = [r.get("curve") or [] for r in runs]
    mean_curve = [statistics.fmean(points) if all(p is not None for p in points) else None
                  for points in zip(*curves)] if curves else []
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialSummary(
        trial.number, trial.state.name.lower(), dict(trial.params), trial.value, values,
        statistics.stdev(values) if len(values) > 1 else None, runs[0]["run_id"] if runs else None,
        [r["run_id"] for r in runs], runs, mean_curve, attrs.get("host", ""), attrs.get("worker", ""),
        trial.datetime_start.isoformat() if trial.datetime_start else None,
        trial.datetime_complete.isoformat() if trial.datetime_complete else None, duration,
        attrs.get("message", ""), trial.system_attrs.get("failed_trial"), attrs.get("config"))


def best_trial(sweep: Sweep) -> TrialSummary | None:
    """The complete trial with the highest value (the earliest among equals); None before any completes."""
    done = sweep.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return trial_summary(max(done, key=lambda t: (t.value, -t.number))) if done else None


def importances(sweep: Sweep) -> tuple[dict[str, float], str]:
    """(parameter → importance, a note on the method or on why there are none yet)."""
    done = sweep.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sweep.definition.space.names
    if len(names) == 1 and done:
        return {names[0]: 1.0}, "one searched parameter explains everything"
    if len(done) < MIN_IMPORTANCE_TRIALS:
        return {}, f"importances need {MIN_IMPORTANCE_TRIALS} complete trials; this sweep has {len(done)}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "too few trials", "experimental": the note says what they mean
        try:
            values = optuna.importance.get_param_importances(sweep.study)
        except (RuntimeError, ValueError) as error:  # e.g. every complete trial has the same point
            return {}, f"importances could not be computed yet ({error})"
    return {k: float(v) for k, v in values.items()}, "PED-ANOVA (Optuna's default), over the complete trials"


def summarize(name: str, storage: str | None = None, runs_dir: str | Path | None = None) -> SweepSummary:
    """Everything `sweep show` prints about sweep `name`."""
    sweep = open_sweep(name, storage, runs_dir)
    trials = [trial_summary(t) for t in sweep.study.get_trials(deepcopy=False)]
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    values, note = importances(sweep)
    return SweepSummary(name, sweep.url, sweep.definition.to_dict(), trials, best_trial(sweep), values, note,
                        counts, sweep.study.user_attrs.get(RETRAINED))


def list_sweeps(storage: str | None = None, runs_dir: str | Path | None = None) -> list[SweepListing]:
    """Every mnistlab sweep in `storage`, oldest first (other Optuna studies there are left out)."""
    store = open_storage(storage, runs_dir)
    listings = []
    for study in optuna.get_all_study_summaries(store, include_best_trial=True):
        data = study.user_attrs.get(DEFINITION)
        if not isinstance(data, dict):
            continue
        best = study.best_trial
        params = [f"{p['name']}={_spec(p)}" for p in data.get("space", []) if isinstance(p, dict)]
        listings.append(SweepListing(study.study_name, study.n_trials, best.value if best else None,
                                     best.number if best else None, params, int(data.get("seeds", 1)),
                                     data.get("sampler", ""), data.get("pruner", ""), data.get("created", ""),
                                     data.get("host", "")))
    return listings


def _spec(data: dict) -> str:
    try:
        return Param.from_dict(data).spec
    except (KeyError, TypeError, ValueError):
        return "?"


def storage_name(storage: str | None, runs_dir: str | Path | None = None) -> str:
    """The storage a command reads, as shown to the user (password hidden)."""
    return shown_url(storage or default_url(runs_dir))
