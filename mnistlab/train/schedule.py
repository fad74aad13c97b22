"""Learning-rate schedules as a pure function of the step (easy to test, easy to plot).

A warm-up (`warmup_epochs` > 0) multiplies the first W = round(warmup_epochs × steps_per_epoch) steps' rates
(at least 1 step) by 1/W, 2/W, … 1: the rate climbs linearly from almost 0 to the schedule's, then the
schedule goes on unchanged over the remaining steps (with none or step: to lr itself; a cosine has
decayed a little by the end of a short warm-up). One-cycle warms up by itself, so the config refuses a
warm-up with it. Because a warm-up is a factor on the schedule, the torch engine applies it in
`TorchStepper.set_lr` to whatever rate the loop hands it, so a learning rate steered during the warm-up
(`train.steer`) is the one the warm-up climbs to, and after it a steered rate is used exactly as asked.
"""

from __future__ import annotations

import math

ONECYCLE_WARMUP = 0.3  # fraction of the run spent ramping up, as torch's OneCycleLR
ONECYCLE_DIV = 25.0  # start at lr / 25
ONECYCLE_FINAL_DIV = 1e4  # end at lr / 25 / 1e4


def warmup_steps(warmup_epochs: float, steps_per_epoch: int) -> int:
    """How many optimizer steps the warm-up lasts (0 without one, else at least 1)."""
    if not warmup_epochs:
        return 0
    return max(1, round(warmup_epochs * steps_per_epoch))


def warmup_factor(step: int, warmup_epochs: float, steps_per_epoch: int) -> float:
    """The warm-up's factor on 0-based `step`'s rate: (step + 1) / W during the warm-up, then 1."""
    warm = warmup_steps(warmup_epochs, steps_per_epoch)
    return (step + 1) / warm if step < warm else 1.0


def lr_at(schedule: str, lr: float, step: int, total_steps: int, steps_per_epoch: int,
          step_epochs: int = 10, step_gamma: float = 0.1, warmup_epochs: float = 0.0) -> float:
    """Learning rate for 0-based optimizer `step` of `total_steps`, the warm-up's factor included."""
    rate = scheduled_lr(schedule, lr, step, total_steps, steps_per_epoch, step_epochs, step_gamma)
    return rate * warmup_factor(step, warmup_epochs, steps_per_epoch) if warmup_epochs else rate


def scheduled_lr(schedule: str, lr: float, step: int, total_steps: int, steps_per_epoch: int,
                 step_epochs: int = 10, step_gamma: float = 0.1) -> float:
    """The schedule alone (no warm-up): the rate of 0-based `step` of `total_steps`."""
    if schedule == "none":
        return lr
    if schedule == "step":
        return lr * step_gamma ** ((step // steps_per_epoch) // step_epochs)
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "onecycle":
        start, end = lr / ONECYCLE_DIV, lr / ONECYCLE_DIV / ONECYCLE_FINAL_DIV
        if progress < ONECYCLE_WARMUP:
            t = progress / ONECYCLE_WARMUP
            return end_cos(start, lr, t)
        t = (progress - ONECYCLE_WARMUP) / (1 - ONECYCLE_WARMUP)
        return end_cos(lr, end, t)
    raise ValueError(f"unknown schedule {schedule!r}")


def end_cos(start: float, end: float, t: float) -> float:
    """Cosine interpolation from `start` (t=0) to `end` (t=1)."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * t))
