"""Which stored run a page opens on by default: the best recent one that ended well."""

from __future__ import annotations

from mnistlab.runs.store import RunInfo
from mnistlab.train.stall import near_chance

PICKABLE = ("finished", "stopped")  # statuses a default picker may choose


def best_recent_run(runs: list[RunInfo], dataset: str | None = None, within: int = 20) -> RunInfo | None:
    """The most accurate of the `within` newest runs that ended well, optionally of one dataset; None if none.

    Only finished or stopped runs with a test accuracy above chance count: never a stalled, diverged, failed,
    interrupted or running one. `runs` is newest first, as `RunStore.list` returns them.
    """
    done = [r for r in runs if r.status in PICKABLE and r.test_accuracy is not None
            and not near_chance(r.test_accuracy) and (dataset is None or r.dataset == dataset)]
    recent = sorted(done, key=lambda r: (r.created, r.run_id), reverse=True)[:within]
    return max(recent, key=lambda r: r.test_accuracy, default=None)
