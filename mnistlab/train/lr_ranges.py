"""The learning rates each optimizer usually trains an MLP with, declared once for the trainer and the hints."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.train.config import OPTIMIZERS, TrainConfig

FAR = 10.0  # a learning rate this many times past an end of its usual range is "far" outside it


@dataclass(frozen=True)
class LrRange:
    """Where an optimizer's learning rate usually lies for an MLP on MNIST-sized data, and a safe start."""

    low: float
    high: float
    typical: float  # what a fix moves an out-of-range learning rate to

    def __repr__(self) -> str:
        return f"LrRange({self.low:g}..{self.high:g}, typical {self.typical:g})"


# Per optimizer step, on batches of 20–256 images. Plain SGD tolerates larger steps than Adam, whose
# per-parameter normalisation makes every step about lr in size whatever the gradient.
LR_RANGES: dict[str, LrRange] = {
    "sgd": LrRange(1e-3, 0.5, 0.05),
    "momentum": LrRange(1e-3, 0.1, 0.01),  # momentum 0.9 makes the effective step ~10× lr
    "adam": LrRange(1e-4, 1e-2, 1e-3),
    "adamw": LrRange(1e-4, 1e-2, 1e-3),
}
OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}
assert set(LR_RANGES) == set(OPTIMIZER_TITLES) == set(OPTIMIZERS), "one usual range per optimizer"


def lr_range(optimizer: str) -> LrRange:
    """The usual learning-rate range of `optimizer` (an OPTIMIZERS name)."""
    return LR_RANGES[optimizer]


def lr_outside(config: TrainConfig) -> str | None:
    """'above' or 'below' when the config's learning rate lies outside its optimizer's usual range, else None."""
    usual = lr_range(config.optimizer)
    return "above" if config.lr > usual.high else "below" if config.lr < usual.low else None


def lr_phrase(config: TrainConfig) -> str | None:
    """E.g. 'a learning rate of 10 is far above what Adam trains with, about 0.0001 to 0.01'; None inside the range."""
    side = lr_outside(config)
    if side is None:
        return None
    usual = lr_range(config.optimizer)
    far = config.lr >= FAR * usual.high if side == "above" else config.lr <= usual.low / FAR
    return (f"a learning rate of {config.lr:g} is {'far ' if far else ''}{side} what "
            f"{OPTIMIZER_TITLES[config.optimizer]} trains with, about {usual.low:g} to {usual.high:g}")


def lower_lr(config: TrainConfig) -> float:
    """A smaller learning rate to try: a tenth of the current one, or the optimizer's typical one if that is still too high."""
    usual = lr_range(config.optimizer)
    return config.lr / 10 if config.lr / 10 <= usual.high else usual.typical
