"""`Augment`: the random per-sample transforms a run trains with, validated and JSON round-trippable.

It lives with the data (the augmentation code reads it) and `TrainConfig` holds one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.configs import from_dict, to_dict
from mnistlab.errors import ConfigError
from mnistlab.settings import Setting, check_settings, setting


@dataclass(frozen=True)
class Augment:
    """Random per-sample transforms applied batched on the training device."""

    rotation: float = setting(0.0, Setting(  # max rotation, degrees (drawn uniformly in ±rotation)
        "Rotation (± degrees)", "Each training image is turned by a random angle up to this many degrees, drawn "
        "per image.", name="rotation", low=0, high=180, widget="slider", ui_high=45, step=1.0, section="augment"))
    translate: float = setting(0.0, Setting(  # max shift as a fraction of the image side (±)
        "Shift (± fraction of the side)", "Random shift up to this fraction of the side: the net stops relying on "
        "exact positions.", name="translate", low=0, high=0.5, widget="slider", ui_high=0.3, step=0.01,
        section="augment"))
    scale_min: float = setting(1.0, Setting(  # zoom range, drawn uniformly in [scale_min, scale_max]
        "Zoom range", "Random zoom in this range, drawn per image.", name="scale_min", low=0.1, high=10,
        widget="range", ui_low=0.5, ui_high=1.5, step=0.05, section="augment", pair="scale_max", key="aug_scale"))
    scale_max: float = setting(1.0, Setting(
        "Zoom range (upper end)", "The largest random zoom.", name="scale_max", low=0.1, high=10, widget="none",
        section="augment"))
    shear: float = setting(0.0, Setting(  # max shear, degrees (±)
        "Shear (± degrees)", "Random slant up to this many degrees: mimics handwriting styles.", name="shear", low=0,
        high=60, widget="slider", ui_high=30, step=1.0, section="augment"))
    hflip: bool = setting(False, Setting(  # mirror left-right with probability 1/2 (sensible for Fashion-MNIST only)
        "Mirror left-right", "Mirror images left-right at random. Sensible for clothes (Fashion-MNIST), not for "
        "digits.", kind="bool", name="augment.hflip", widget="toggle", section="augment", column=1))
    elastic_alpha: float = setting(0.0, Setting(  # elastic distortion strength in pixels (Simard 2003: ~34, sigma 4)
        "Elastic strength (pixels)", "Elastic distortion strength in pixels (Simard et al. 2003): wobbly strokes, "
        "the augmentation behind the best MLP results.", name="elastic_alpha", low=0, high=100, widget="slider",
        ui_high=60, step=1.0, section="augment", column=1))
    elastic_sigma: float = setting(4.0, Setting(  # smoothing of the displacement field, pixels
        "Elastic smoothness (sigma)", "Smoothness of the elastic field: small sigma is jittery noise, large sigma "
        "gentle bends.", name="elastic_sigma", low=0.5, high=20, widget="slider", ui_low=1, ui_high=10, step=0.5,
        section="augment", column=1))
    concat_original: bool = setting(False, Setting(  # train on original + one augmented copy (doubles the epoch)
        "Original + augmented copy", "Each epoch sees every image twice: once as is, once transformed (the "
        "tutorials' recipe).", kind="bool", name="augment.concat_original", widget="toggle", section="augment",
        column=1, key="aug_concat"))

    def __post_init__(self):
        check_settings(self)
        if self.scale_min > self.scale_max:
            raise ConfigError(f"scale_min ({self.scale_min}) must not exceed scale_max ({self.scale_max}).")

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
