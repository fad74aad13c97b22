"""`--parallel K`: K asked trials, times their seeds, trained together as populations (`mnistlab.population`).

The members are grouped by `train.population_key.group_by_shape` (equal data, model shape and loop);
a config that cannot join a population (augmentation, batch norm, the NumPy engine) trains on its own as
a normal run. Each member has its own subscribers and its own `Stop`, so pruning is live as in a single
run: the first seed's epochs are reported, and a pruned trial stops all its seeds. Each trial is then
told its own value.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from mnistlab.errors import ConfigError
from mnistlab.experiment import ExperimentResult, run_experiment
from mnistlab.population import run_population
from mnistlab.sweeps.study import Sweep
from mnistlab.sweeps.trial import (
    POINT_ERRORS,
    STOPPED,
    Pruning,
    TrialOutcome,
    Worker,
    fail,
    finish,
    run_points,
    run_record,
    start,
    tags,
)
from mnistlab.train.cancel import Stop
from mnistlab.train.config import TrainConfig
from mnistlab.train.population_key import group_by_shape


@dataclass
class _Member:
    """One (trial, seed) of the batch, with the stop its run reads."""

    trial: optuna.Trial
    seed: int
    config: TrainConfig
    stop: Stop


def run_batch(sweep: Sweep, trials: list[optuna.Trial], worker: Worker) -> list[TrialOutcome]:
    """Train the asked trials together where their shapes allow; every trial ends told."""
    if len(trials) == 1:
        return run_points(sweep, trials, worker)
    outcomes: dict[int, TrialOutcome] = {}
    members: list[_Member] = []
    for trial in trials:
        try:
            config = sweep.definition.config(trial.params)
        except ConfigError as error:
            start(trial, worker, None)
            outcomes[trial.number] = fail(sweep, trial, str(error))
            continue
        start(trial, worker, config.to_dict())
        members += [_Member(trial, seed, config.with_(seed=seed), Stop(parent=worker.cancel))
                    for seed in range(sweep.definition.seeds)]
    # A pruned trial stops every one of its seeds (in this population or a later one).
    stops = {t.number: [m.stop for m in members if m.trial is t] for t in trials}
    runs: dict[int, list[dict]] = {t.number: [] for t in trials}
    try:
        for indices in group_by_shape([m.config for m in members], len(members)):
            # Members of failed trials, or of trials pruned in an earlier population, train no more.
            group = [members[i] for i in indices if members[i].trial.number not in outcomes and not members[i].stop.is_set()]
            if not group or worker.cancel.is_set():
                continue
            try:
                results = _train(sweep, group, worker, stops)
            except POINT_ERRORS as error:  # too big together, or a bad combination: these points fail
                for trial in {m.trial.number: m.trial for m in group}.values():
                    outcomes[trial.number] = fail(sweep, trial, str(error))
                continue
            for member, result in zip(group, results):
                runs[member.trial.number].append(run_record(member.seed, result))
                member.trial.set_user_attr("runs", sorted(runs[member.trial.number], key=lambda r: r["seed"]))
    finally:
        for trial in trials:
            if trial.number not in outcomes:
                outcomes[trial.number] = _tell(sweep, trial, sorted(runs[trial.number], key=lambda r: r["seed"]))
    return [outcomes[t.number] for t in trials]


def _train(sweep: Sweep, group: list[_Member], worker: Worker, stops: dict[int, list[Stop]]) -> list[ExperimentResult]:
    """One population (or one normal run for a member that trains alone)."""
    watch = [[Pruning(m.trial, stops[m.trial.number])] if m.seed == 0 else [] for m in group]
    if len(group) == 1:
        m = group[0]
        return [run_experiment(m.config, preset=sweep.definition.preset, store=worker.store, data_dir=worker.data_dir,
                               subscribers=[*watch[0], *worker.subscribers], cancel=m.stop, owner=worker.owner,
                               tags=tags(sweep, m.trial, m.seed))]
    return run_population([m.config for m in group], store=worker.store, data_dir=worker.data_dir,
                          subscribers=[[*w, *worker.subscribers] for w in watch], cancel=[m.stop for m in group],
                          owner=worker.owner, tags=[tags(sweep, m.trial, m.seed) for m in group],
                          presets=[sweep.definition.preset] * len(group))


def _tell(sweep: Sweep, trial: optuna.Trial, runs: list[dict]) -> TrialOutcome:
    """One trial's value from its runs: pruned if its first seed was, queued again if any run was stopped."""
    pruned = [r for r in runs if r["status"] == "pruned"]
    if pruned:
        return finish(sweep, trial, runs, pruned[0].get("message") or "pruned")
    if len(runs) < sweep.definition.seeds or any(r["status"] == "stopped" for r in runs):
        return fail(sweep, trial, STOPPED, retry=True)
    return finish(sweep, trial, runs)
