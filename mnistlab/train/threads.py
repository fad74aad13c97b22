"""CPU thread policy: one intra-op thread for small steps, where thread hand-offs cost more than they save."""

from __future__ import annotations

from contextlib import contextmanager

import torch

from mnistlab.train.config import TrainConfig

# Multiply-adds of one forward pass (batch × parameters) below which a single thread wins: at batch 1 the
# matmuls are too small to split, and with the other core busy (the dashboard's server, a second job) a
# two-thread step can stall for milliseconds waiting on it.
SMALL_STEP_WORK = 4_000_000


def cpu_threads_for(config: TrainConfig) -> int:
    """Intra-op threads to train `config` with on the CPU."""
    if config.batch_size * config.model.parameter_count() < SMALL_STEP_WORK:
        return 1
    return torch.get_num_threads()


@contextmanager
def cpu_threads(count: int):
    """Use `count` intra-op threads inside the block, then restore the previous setting.

    With this torch build (OpenMP) the setting belongs to the calling thread, so a training worker
    and the dashboard's other threads each keep their own.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
