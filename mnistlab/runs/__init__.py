"""The run store: one folder per run, written atomically by its one writer, read as untrusted input.

Public API: `RunStore` (create, list/scan, delete, check_usable, and `open(run_id)`, the one way to read a
run), `Run` (the handle: info, status, config, history, model, saved epochs, evaluation, files), `RunInfo`,
`best_recent_run`; `runs.record` holds the recorder subscriber and the writers of a run's artifacts.
"""

from mnistlab.runs.handle import Run
from mnistlab.runs.pick import best_recent_run
from mnistlab.runs.store import RunInfo, RunStore, Unreadable

__all__ = ["Run", "RunInfo", "RunStore", "Unreadable", "best_recent_run"]
