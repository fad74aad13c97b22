"""Time left of a training job, from measured step times after a warm-up (the dashboard's ETA)."""

from __future__ import annotations

from collections import deque

WARMUP_S = 3.0  # seconds of training before an ETA: the first steps (allocation, caches) are slow
WARMUP_FRACTION = 0.05  # ...and this share of all steps (or one whole epoch) measured
RATE_WINDOW = 25  # progress events (about 5 s of training) the step rate is measured over


class Eta:
    """Seconds left from measured step times: the recent training speed, plus each epoch's evaluation.

    Wall-clock time per step so far is wrong early on (setup and the first slow steps dominate it), so
    there is no estimate until WARMUP_S seconds of training and WARMUP_FRACTION of all steps (or a whole
    epoch) are measured. Training time comes from the trainer (`elapsed_s`, evaluation excluded); the
    time spent outside training steps per epoch (evaluation, saving) is measured at each epoch's end.
    """

    def __init__(self) -> None:
        self.samples: deque[tuple[int, float]] = deque(maxlen=RATE_WINDOW)  # (steps done, training s)
        self.setup_s: float | None = None  # wall-clock seconds before the first step (loading, moving data)
        self.eval_s = 0.0  # wall-clock seconds per epoch outside training steps
        self.epochs_done = 0

    def __repr__(self) -> str:
        return f"Eta(samples={len(self.samples)}, eval_s={self.eval_s:.2f}, epochs_done={self.epochs_done})"

    def step(self, done: int, train_s: float, wall_s: float) -> None:
        if self.setup_s is None:
            self.setup_s = max(0.0, wall_s - train_s)
        self.samples.append((done, train_s))

    def epoch(self, epoch: int, train_s: float, wall_s: float) -> None:
        self.epochs_done = epoch
        if self.setup_s is not None and epoch:
            self.eval_s = max(0.0, wall_s - self.setup_s - train_s) / epoch

    def estimate(self, done: int, total: int, steps_per_epoch: int, evaluations_left: int) -> float | None:
        """Seconds left with `done` of `total` steps trained; None until the warm-up is over."""
        if len(self.samples) < 2 or not total:
            return None
        (d0, t0), (d1, t1) = self.samples[0], self.samples[-1]
        warm = t1 >= WARMUP_S and (done >= WARMUP_FRACTION * total or done >= steps_per_epoch or self.epochs_done)
        if not warm or d1 <= d0 or t1 <= t0:
            return None
        return max(0, total - done) * (t1 - t0) / (d1 - d0) + max(0, evaluations_left) * self.eval_s
