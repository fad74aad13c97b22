"""`Augment`: the random per-sample transforms a run trains with, validated and JSON round-trippable.

It lives with the data (the augmentation code reads it) and `TrainConfig` holds one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.configs import check_range, from_dict, to_dict
from mnistlab.errors import ConfigError


@dataclass(frozen=True)
class Augment:
    """Random per-sample transforms applied batched on the training device."""

    rotation: float = 0.0  # max rotation, degrees (drawn uniformly in ±rotation)
    translate: float = 0.0  # max shift as a fraction of the image side (±)
    scale_min: float = 1.0  # zoom range, drawn uniformly in [scale_min, scale_max]
    scale_max: float = 1.0
    shear: float = 0.0  # max shear, degrees (±)
    hflip: bool = False  # mirror left-right with probability 1/2 (sensible for Fashion-MNIST only)
    elastic_alpha: float = 0.0  # elastic distortion strength in pixels (Simard 2003 uses ~34 with sigma 4)
    elastic_sigma: float = 4.0  # smoothing of the displacement field, pixels
    concat_original: bool = False  # train on original + one augmented copy (doubles the epoch)

    def __post_init__(self):
        check_range("rotation", self.rotation, 0, 180)
        check_range("translate", self.translate, 0, 0.5)
        check_range("scale_min", self.scale_min, 0.1, 10)
        check_range("scale_max", self.scale_max, 0.1, 10)
        if self.scale_min > self.scale_max:
            raise ConfigError(f"scale_min ({self.scale_min}) must not exceed scale_max ({self.scale_max}).")
        check_range("shear", self.shear, 0, 60)
        check_range("elastic_alpha", self.elastic_alpha, 0, 100)
        check_range("elastic_sigma", self.elastic_sigma, 0.5, 20)
        for name in ("hflip", "concat_original"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"augment.{name} must be true or false; got {getattr(self, name)!r}.")

    @property
    def active(self) -> bool:
        return bool(self.rotation or self.translate or self.scale_min != 1 or self.scale_max != 1
                    or self.shear or self.hflip or self.elastic_alpha)

    @property
    def affine(self) -> bool:
        return bool(self.rotation or self.translate or self.scale_min != 1 or self.scale_max != 1 or self.shear)

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Augment:
        return from_dict(cls, data)


AUGMENT_NAMES = {
    "none": Augment(),
    "affine": Augment(rotation=15, translate=0.1, scale_min=0.9, scale_max=1.1),
    "flip": Augment(hflip=True),
    "elastic": Augment(elastic_alpha=34, elastic_sigma=4),
}
