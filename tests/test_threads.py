"""The CPU thread policy: overlapping blocks (training in one thread, an Inspect figure in another)."""

from __future__ import annotations

import torch

from mnistlab.models.spec import MLPSpec
from mnistlab.train.config import TrainConfig
from mnistlab.train.threads import cpu_threads, cpu_threads_for


def test_overlapping_blocks_restore_the_original_setting_last():
    original = torch.get_num_threads()
    outer = cpu_threads(2)
    inner = cpu_threads(1)
    outer.__enter__()
    inner.__enter__()
    assert torch.get_num_threads() == 1
    outer.__exit__(None, None, None)  # the training ends first: the figure keeps its one thread
    assert torch.get_num_threads() == 1
    inner.__exit__(None, None, None)
    assert torch.get_num_threads() == original


def test_big_steps_ask_for_the_process_setting_even_inside_a_one_thread_block():
    big = TrainConfig(model=MLPSpec(hidden=(512,)), batch_size=64)
    small = TrainConfig(model=MLPSpec(hidden=(16,)), batch_size=1)
    original = torch.get_num_threads()
    with cpu_threads(1):
        assert cpu_threads_for(big) == original and cpu_threads_for(small) == 1
