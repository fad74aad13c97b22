"""Turn any grey or colour image into mnistlab's 28×28 grey, and say in one sentence each what was done.

Colour becomes grey by luminance (ITU-R 601-2, Pillow's "L" conversion). Other sizes are resized with
Pillow's bilinear filter (a triangle filter when shrinking, so antialiased) until the longer side is 28 px,
keeping the aspect ratio; the short side is padded with the image's background, the median of its border
pixels. Pixel values are kept otherwise: nothing is inverted, cropped or centred.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from PIL import Image

SIDE = 28


class Conversions:
    """What an import did, counted while reading, then worded for `Manifest.conversions`."""

    def __init__(self):
        self.colour = 0  # images turned grey by luminance
        self.transparent = 0  # images with an alpha channel or a transparent colour
        self.deep = 0  # 16-bit, 32-bit or float grey images brought to 0–255
        self.animated = 0  # animated images of which only the first frame was kept
        self.sizes: Counter[tuple[int, int]] = Counter()  # (height, width) → images of that size resized
        self.notes: list[str] = []  # other sentences (labels mapped, test held out, files skipped…)

    def note(self, sentence: str) -> None:
        if sentence not in self.notes:
            self.notes.append(sentence)

    def sentences(self) -> tuple[str, ...]:
        """One sentence per kind of change, images first."""
        said = []
        if self.colour:
            said.append(f"converted {_n(self.colour, 'colour image')} to grey by luminance "
                        "(ITU-R 601-2: 0.299 R + 0.587 G + 0.114 B)")
        if self.transparent:
            said.append(f"flattened {_n(self.transparent, 'image')} with transparency: where the background is "
                        "transparent the alpha channel became the ink (light on dark), else the image was "
                        "composited onto white")
        if self.deep:
            said.append(f"scaled {_n(self.deep, 'grey image')} of more than 8 bits per pixel to 0–255")
        if self.animated:
            said.append(f"kept the first frame of {_n(self.animated, 'animated image')}")
        if self.sizes:
            said.append(_resized(self.sizes))
        return tuple(said + self.notes)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _resized(sizes: Counter[tuple[int, int]]) -> str:
    total = sum(sizes.values())
    shown = [f"{h}×{w}" for (h, w), _ in sizes.most_common(3)]
    more = len(sizes) - len(shown)
    which = ", ".join(shown) + (f" and {more} other size{'s' if more > 1 else ''}" if more else "")
    if all(h == w for h, w in sizes):
        return f"resized {_n(total, 'image')} of {which} to 28×28 (bilinear, antialiased)"
    return (f"resized {_n(total, 'image')} of {which} to fit 28×28 keeping the aspect ratio (bilinear, "
            "antialiased) and padded the short side with each image's background (the median of its border)")


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB → (...) uint8 grey, exactly as Pillow's convert("L") (ITU-R 601-2 luma)."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def background(grey: np.ndarray) -> int:
    """The median of an image's border pixels: what its padding is filled with."""
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    return int(np.rint(np.median(border)))


def fit(grey: np.ndarray) -> np.ndarray:
    """A (H, W) uint8 grey image as (28, 28): longer side to 28 px, aspect kept, padded with its background."""
    h, w = grey.shape
    if (h, w) == (SIDE, SIDE):
        return grey
    scale = SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow's (width, height)
    small = np.asarray(Image.fromarray(np.ascontiguousarray(grey)).resize(size, Image.Resampling.BILINEAR))
    if small.shape == (SIDE, SIDE):
        return small
    out = np.full((SIDE, SIDE), background(grey), np.uint8)
    top, left = (SIDE - small.shape[0]) // 2, (SIDE - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out


def fit_all(images: np.ndarray, conversions: Conversions) -> np.ndarray:
    """(N, H, W) uint8 → (N, 28, 28) uint8, counting the resized images in `conversions`."""
    n, h, w = images.shape
    if (h, w) == (SIDE, SIDE):
        return images
    conversions.sizes[(h, w)] += n
    out = np.empty((n, SIDE, SIDE), np.uint8)
    for i in range(n):  # Pillow resizes one image at a time (~20 µs each at these sizes)
        out[i] = fit(images[i])
    return out
