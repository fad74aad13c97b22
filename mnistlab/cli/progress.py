"""Render training events as a one-line progress bar on stderr."""

from __future__ import annotations

import sys
from typing import TextIO

from mnistlab.train.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepProgress

BAR_WIDTH = 24


def _bar(fraction: float) -> str:
    filled = int(round(BAR_WIDTH * min(max(fraction, 0.0), 1.0)))
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


class ProgressPrinter:
    """Subscriber: a live bar per epoch, one summary line per finished epoch."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr  # looked up now, not at import: stderr may have been replaced
        self.live = self.stream.isatty() if live is None else live

    def _line(self, text: str, end: str = "\n") -> None:
        self.stream.write(("\r\033[K" if self.live else "") + text + end)
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._line(f"run {event.run_id or '(unsaved)'}: {event.parameter_count:,} parameters on "
                       f"{event.device_name}; {event.train_size:,} train / {event.val_size:,} val / "
                       f"{event.test_size:,} test images, {event.steps_per_epoch:,} steps per epoch")
        elif isinstance(event, StepProgress) and self.live:
            frac = event.step / event.steps_per_epoch
            acc = f" acc {_pct(event.accuracy)}" if event.accuracy is not None else ""
            self._line(f"epoch {event.epoch}/{event.epochs} {_bar(frac)} {event.step}/{event.steps_per_epoch} "
                       f"loss {event.loss:.4f}{acc} {event.samples_per_s:,.0f} img/s", end="")
        elif isinstance(event, EpochEnded):
            val = f" val {_pct(event.val_accuracy)}" if event.val_accuracy is not None else ""
            self._line(f"epoch {event.epoch}/{event.epochs} train loss {event.train_loss:.4f} "
                       f"acc {_pct(event.train_accuracy)}{val} test {_pct(event.test_accuracy)} "
                       f"({event.epoch_seconds:.2f} s, {event.samples_per_s:,.0f} img/s)")
        elif isinstance(event, RunFinished):
            # A stalled run's message is printed once, by the command, as its "warning:" line.
            self._line(f"{event.status}: test accuracy {_pct(event.test_accuracy)} after "
                       f"{event.epochs_done} epoch(s), {event.train_seconds:.1f} s of training")
        elif isinstance(event, RunFailed) and event.status != "failed":
            self._line(f"{event.status}: {event.message}")  # "failed" raises too: the CLI prints that one line
