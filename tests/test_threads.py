"""The CPU thread policy: a training thread and another thread keep their own settings."""

from __future__ import annotations

import threading

import torch

from mnistlab.train.threads import cpu_threads


def test_blocks_in_two_threads_do_not_change_each_other():
    original = torch.get_num_threads()
    inside, outside_after = [], []
    entered, release = threading.Event(), threading.Event()

    def figure():  # another thread, one intra-op thread
        with cpu_threads(1):
            entered.set()
            release.wait(10)
            inside.append(torch.get_num_threads())

    worker = threading.Thread(target=figure)
    with cpu_threads(2):  # a training block
        worker.start()
        assert entered.wait(10)
        assert torch.get_num_threads() == 2  # the other thread's 1 did not reach us
        release.set()
        worker.join(10)
        outside_after.append(torch.get_num_threads())
    assert inside == [1] and outside_after == [2]
    assert torch.get_num_threads() == original
