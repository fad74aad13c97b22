"""Whether a run that ended normally learned anything, and if not, the likely cause in one sentence."""

from __future__ import annotations

from mnistlab.train.config import TrainConfig
from mnistlab.train.lr_ranges import lower_lr, lr_outside, lr_phrase, lr_range

CHANCE_MARGIN = 0.05  # held-out accuracy below 1/classes + this is guessing (10% → under 15% on MNIST)
# Fewer optimizer steps than this cannot tell a slow start from a stall: a healthy MLP on MNIST is well
# above chance after ~20 steps, and the one-step smoke tests of every preset must not be judged.
MIN_STEPS = 50
LOSS_BARELY = 0.9  # last epoch's training loss above 90% of the first epoch's: the loss barely fell
SQUASHING = ("sigmoid", "tanh")
DEEP = 3  # this many squashing hidden layers without normalisation let the gradient fade


def near_chance(accuracy: float | None, classes: int = 10) -> bool:
    """True when `accuracy` is no better than guessing among `classes` (within CHANCE_MARGIN)."""
    return accuracy is not None and accuracy < 1 / classes + CHANCE_MARGIN


def _cause(config: TrainConfig, rows: list[dict]) -> str:
    """The likely reason a run stayed at chance, with what to try."""
    phrase = lr_phrase(config)
    if phrase is not None:
        target = lower_lr(config) if lr_outside(config) == "above" else lr_range(config.optimizer).typical
        return f"{phrase}: try {target:g}"
    losses = [h["train_loss"] for h in rows]
    loss = (f"the training loss barely fell ({losses[0]:.3f} → {losses[-1]:.3f})" if losses[-1] > LOSS_BARELY * losses[0]
            else f"the training loss fell ({losses[0]:.3f} → {losses[-1]:.3f}) but the held-out predictions did not")
    spec = config.model
    if spec.activation in SQUASHING and len(spec.hidden) >= DEEP and spec.norm == "none":
        return (f"{loss}: with {len(spec.hidden)} {spec.activation} layers the gradient fades before it reaches "
                "the first ones (vanishing gradients); try ReLU with He initialisation")
    if spec.activation in ("relu", "leaky_relu", "gelu") and spec.init == "torch" and len(spec.hidden) >= 2:
        return (f"{loss}: PyTorch's default initialisation shrinks the signal at each of the {len(spec.hidden)} "
                "ReLU layers; try He initialisation")
    return f"{loss}; try another learning rate or initialisation, or check that the labels match the images"


def stall_message(config: TrainConfig, history: list[dict], classes: int, steps: int) -> str | None:
    """'did not learn: …' when the last full epoch's held-out accuracy is at chance, else None.

    Args:
        config: the run's config (its optimizer and learning rate name the likely cause).
        history: EpochEnded dicts of the run; partial (stopped) epochs are not judged.
        classes: number of classes (chance is 1/classes).
        steps: optimizer steps the run took; under MIN_STEPS nothing is judged.
    """
    rows = [h for h in history if not h.get("partial")]
    key = "val_accuracy" if rows and rows[-1].get("val_accuracy") is not None else "test_accuracy"
    held = [(h["epoch"], h[key]) for h in rows if h.get(key) is not None]
    if steps < MIN_STEPS or not held or not near_chance(held[-1][1], classes):
        return None
    split = "validation" if key == "val_accuracy" else "test"
    best_epoch, best = max(held, key=lambda e: e[1])
    last = held[-1][1]
    if near_chance(best, classes):
        what = (f"{split} accuracy stayed at chance ({last:.0%} after {len(rows)} epoch{'s' * (len(rows) != 1)}; "
                f"guessing gives {1 / classes:.0%})")
    else:
        what = f"{split} accuracy reached {best:.0%} at epoch {best_epoch}, then fell back to chance ({last:.0%})"
    return f"did not learn: {what}; {_cause(config, rows)}."
