"""The run store: one folder per run, written atomically by its one writer, read as untrusted input.

Public API: `RunStore` (create, list/scan, info, config, history, delete, check_usable), `RunInfo`,
`best_recent_run`, and in `runs.record` the recorder subscriber and the loaders of a run's model,
evaluation, per-epoch weights and history.
"""

from mnistlab.runs.store import RunInfo, RunStore, Unreadable, best_recent_run

__all__ = ["RunInfo", "RunStore", "Unreadable", "best_recent_run"]
