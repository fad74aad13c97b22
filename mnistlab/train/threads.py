"""CPU thread policy: one intra-op thread for small steps, where thread hand-offs cost more than they save."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch

from mnistlab.train.config import TrainConfig

# Multiply-adds of one forward pass (batch × parameters) below which a single thread wins: at batch 1 the
# matmuls are too small to split, and with the other core busy (the dashboard's server, a second job) a
# two-thread step can stall for milliseconds waiting on it.
SMALL_STEP_WORK = 4_000_000


_lock = threading.Lock()
_active: list[int] = []  # thread counts asked for by the blocks running now, oldest first
_outside = 1  # the setting before the first of them began


def cpu_threads_for(config: TrainConfig) -> int:
    """Intra-op threads to train `config` with on the CPU."""
    if config.batch_size * config.model.parameter_count() < SMALL_STEP_WORK:
        return 1
    with _lock:  # another block's count may be in force: ask for the process's own setting
        return _outside if _active else torch.get_num_threads()


@contextmanager
def cpu_threads(count: int):
    """Use `count` intra-op threads inside the block, then restore the setting from before.

    torch's thread count is process-wide, and blocks overlap when a dashboard trains in one thread
    while a page computes an Inspect figure in another: the newest running block's count applies,
    and the original setting comes back only when the last block ends (never a stale value).
    """
    global _outside
    with _lock:
        if not _active:
            _outside = torch.get_num_threads()
        _active.append(count)
        torch.set_num_threads(count)
    try:
        yield
    finally:
        with _lock:
            _active.remove(count)
            torch.set_num_threads(_active[-1] if _active else _outside)
