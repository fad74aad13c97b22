"""Hyperparameter sweeps on Optuna: a base config, a search space from the settings' declarations, seeds, a budget.

Public API:
    create_sweep(name, base, params, *, preset, seeds, sampler, pruner, val_split, storage, runs_dir) -> Sweep
    open_sweep(name, storage, runs_dir) -> Sweep;  delete_sweep(name, storage, runs_dir)
    run_worker(name, *, storage, trials, timeout, runs_dir, data_dir, cancel, parallel, owner, on_trial,
               subscribers) -> WorkerReport
    summarize(name, storage, runs_dir) -> SweepSummary;  list_sweeps(storage, runs_dir) -> list[SweepListing]
    retrain_best(name, *, storage, runs_dir, data_dir, cancel, owner, subscribers) -> Retrained
    Space.parse(["lr=log:1e-4:1e-1", ...]), parse_param, default_url(runs_dir)
Storage: `storage` is a URL (sqlite:///…, postgresql://…, mysql://…, journal:PATH); None means the SQLite
file sweeps.db in the runs directory. The SPEC grammar is in `mnistlab.sweeps.spec`, how trials model
seeds in `mnistlab.sweeps.trial`, depth and width in `mnistlab.sweeps.space`.
"""

from mnistlab.sweeps.retrain import Retrained, retrain_best
from mnistlab.sweeps.space import Space
from mnistlab.sweeps.spec import Param, parse_param
from mnistlab.sweeps.storage import default_url
from mnistlab.sweeps.study import Definition, Sweep, create_sweep, delete_sweep, open_sweep
from mnistlab.sweeps.summary import SweepListing, SweepSummary, TrialSummary, list_sweeps, summarize
from mnistlab.sweeps.trial import TrialOutcome
from mnistlab.sweeps.worker import WorkerReport, run_worker

__all__ = [
    "Definition", "Param", "Retrained", "Space", "Sweep", "SweepListing", "SweepSummary", "TrialOutcome",
    "TrialSummary", "WorkerReport", "create_sweep", "default_url", "delete_sweep", "list_sweeps", "open_sweep",
    "parse_param", "retrain_best", "run_worker", "summarize",
]
