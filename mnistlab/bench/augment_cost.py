"""What on-device augmentation costs a training step: `fast`'s step (batch 128) with and without it."""

from __future__ import annotations

import time

import torch

from mnistlab.data.split import Split
from mnistlab.device import synchronize
from mnistlab.presets import get_preset
from mnistlab.train.config import AUGMENT_NAMES
from mnistlab.train.threads import cpu_threads, cpu_threads_for
from mnistlab.train.torch_engine import TorchStepper

RECIPES = ("none", "affine", "elastic")
BLOCK_STEPS = 40  # steps timed in one go; the recipes take turns block by block (the machine's speed drifts)


def augment_overhead(train: Split, device: torch.device, rounds: int = 6) -> dict[str, dict]:
    """Per recipe: median seconds per step and the extra cost over no augmentation ('none' has 0)."""
    config = get_preset("fast").config.with_(device=device.type)
    steppers = {name: TorchStepper(config.with_(augment=AUGMENT_NAMES[name]), train, device, record_stats=False)
                for name in RECIPES}
    times: dict[str, list[float]] = {name: [] for name in RECIPES}
    done = dict.fromkeys(RECIPES, 0)
    with cpu_threads(cpu_threads_for(config) if device.type == "cpu" else torch.get_num_threads()):
        for name, stepper in steppers.items():  # warm-up: one block each
            stepper.begin_epoch()
            _block(stepper, done, name)
        for _ in range(rounds):
            for name, stepper in steppers.items():
                synchronize(device)
                start = time.perf_counter()
                _block(stepper, done, name)
                synchronize(device)
                times[name].append((time.perf_counter() - start) / BLOCK_STEPS)
    median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    return {name: {"step_s": median[name], "overhead": median[name] / median["none"] - 1.0,
                   "batch_size": config.batch_size} for name in RECIPES}


def _block(stepper: TorchStepper, done: dict[str, int], name: str) -> None:
    steps = stepper.steps_per_epoch()
    for _ in range(BLOCK_STEPS):
        if done[name] == steps:
            stepper.begin_epoch()
            done[name] = 0
        stepper.step(done[name])
        done[name] += 1
