"""The CLI's progress bar (tqdm, on stderr), for training events and downloads; plain lines when not a TTY."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from mnistlab.train.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepProgress


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


class LiveBar:
    """One bar at a time, redrawn in place on a TTY and never drawn elsewhere; `log` prints a line above it."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr  # looked up now, not at import: stderr may have been replaced
        self.live = self.stream.isatty() if live is None else live
        self._bar: tqdm | None = None
        self._key: object = None

    def show(self, key: object, done: int, total: int | None, desc: str, postfix: str = "", **tqdm_kw) -> None:
        """Move the bar for `key` to `done` of `total`; a new key closes the old bar and opens a new one."""
        if not self.live:
            return
        if self._bar is None or key != self._key:
            self.close()
            self._bar = tqdm(total=total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True, **tqdm_kw)
            self._key = key
        if postfix:
            self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def log(self, line: str) -> None:
        tqdm.write(line, file=self.stream)  # clears the bar, prints the line, redraws the bar
        self.stream.flush()


class ProgressPrinter:
    """Subscriber: a live bar per epoch, one summary line per finished epoch."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.bar = LiveBar(stream, live)

    def __call__(self, event: Event) -> None:
        line = self.bar.log
        if isinstance(event, RunStarted):
            line(f"run {event.run_id or '(unsaved)'}: {event.parameter_count:,} parameters on "
                 f"{event.device_name}; {event.train_size:,} train / {event.val_size:,} val / "
                 f"{event.test_size:,} test images, {event.steps_per_epoch:,} steps per epoch")
        elif isinstance(event, StepProgress):
            acc = f" acc {_pct(event.accuracy)}" if event.accuracy is not None else ""
            self.bar.show(event.epoch, event.step, event.steps_per_epoch, f"epoch {event.epoch}/{event.epochs}",
                          f"loss {event.loss:.4f}{acc} {event.samples_per_s:,.0f} img/s", unit="step",
                          mininterval=0)  # the trainer already sends these a few times a second
        elif isinstance(event, EpochEnded):
            self.bar.close()
            val = f" val {_pct(event.val_accuracy)}" if event.val_accuracy is not None else ""
            line(f"epoch {event.epoch}/{event.epochs} train loss {event.train_loss:.4f} "
                 f"acc {_pct(event.train_accuracy)}{val} test {_pct(event.test_accuracy)} "
                 f"({event.epoch_seconds:.2f} s, {event.samples_per_s:,.0f} img/s)")
        elif isinstance(event, RunFinished):
            self.bar.close()
            # A stalled run's message is printed once, by the command, as its "warning:" line.
            line(f"{event.status}: test accuracy {_pct(event.test_accuracy)} after "
                 f"{event.epochs_done} epoch(s), {event.train_seconds:.1f} s of training")
        elif isinstance(event, RunFailed):
            self.bar.close()
            if event.status != "failed":  # "failed" raises too: the CLI prints that one line
                line(f"{event.status}: {event.message}")


class FetchProgress(LiveBar):
    """`fetch_dataset`'s progress callback: a byte-counting bar per file; `log` for its messages."""

    def __call__(self, stem: str, done: int, total: int | None) -> None:
        self.show(stem, done, total, stem, unit="B", unit_scale=True, unit_divisor=1024)
