"""`Steering`: change a running training's learning rate, pause it and resume it, from any thread.

The loop reads it between steps. A new learning rate takes effect at the next step and is recorded with
that step. With a schedule, the schedule goes on from the new value: every later step's scheduled rate is
multiplied by new / (the rate scheduled at the step of the change), so a cosine keeps decaying from there.
A warm-up (`TrainConfig.warmup_epochs`) is a factor on top of that (`train.schedule`): a rate asked for
during the warm-up is the one the warm-up goes on climbing to (the step of the change uses the asked
rate times the warm-up's factor), and after it every asked rate is used as asked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from mnistlab.configs import check_range

PAUSE_POLL_S = 0.2  # a paused loop wakes this often to see a Stop


@dataclass(frozen=True)
class LrChange:
    """A learning-rate change as the run records it: at the start of `step` (global, 1-based) of `epoch`."""

    step: int
    epoch: int
    lr: float  # the rate asked for (what that step used, times the warm-up's factor during a warm-up)
    scheduled: float  # the rate the schedule would have used at that step
    at: float  # where it falls on an epoch axis: epoch - 1 + (step within the epoch) / steps per epoch

    def to_dict(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "lr": self.lr, "scheduled": self.scheduled, "at": self.at}


class Steering:
    """Thread-safe requests to a running training: a learning rate, pause, resume."""

    def __init__(self):
        self._lock = threading.Condition()
        self._lr: float | None = None
        self._paused = False

    def __repr__(self) -> str:
        return f"Steering(paused={self._paused}, pending_lr={self._lr})"

    def set_lr(self, lr: float) -> None:
        """Use `lr` from the next step on (checked as the config checks a learning rate)."""
        check_range("learning rate", lr, 0, 10, low_open=True)
        with self._lock:
            self._lr = float(lr)

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def take_lr(self) -> float | None:
        """The rate asked for since the last call (once), or None."""
        with self._lock:
            lr, self._lr = self._lr, None
            return lr

    def wait_while_paused(self, cancel: threading.Event | None) -> float:
        """Block while paused (a Stop ends the wait); the seconds spent waiting."""
        start = time.perf_counter()
        with self._lock:
            while self._paused and not (cancel is not None and cancel.is_set()):
                self._lock.wait(PAUSE_POLL_S)
        return time.perf_counter() - start
