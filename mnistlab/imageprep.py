"""Turn an untrusted image file or a canvas drawing into an MNIST-style 28×28 input.

MNIST's own preprocessing (LeCun et al.): the ink is cropped to its bounding box, scaled so the
longer side is 20 px (aspect kept, antialiased), and pasted into a 28×28 black canvas so that its
centre of mass sits at the centre. Digits are white on black.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnistlab.errors import DataError
from mnistlab.userfiles import describe, read_regular

MAX_IMAGE_BYTES = 10 * 2**20  # larger files are refused before they are read
MAX_SIDE = 4096  # px; checked from the header, before any pixel is decoded
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")  # never EPS (Ghostscript) or other exotic decoders
DISPLAY_SIDE = 280  # px; the `original` kept for display is at most this long
WORK_SIDE = 1024  # px; bigger inputs are averaged down before processing (the result is 20 px anyway)
MIN_CONTRAST = 24  # grey levels between ink and background below which an image counts as blank
INK_FRACTION = 0.2  # pixels below this share of the strongest ink are background noise
BOX, SIDE = 20, 28  # MNIST: ink fits a 20×20 box inside a 28×28 image
TRIM = 0.05  # Fashion-MNIST trims edges within 5% of the background's intensity
THIN_PX, STROKE_PX = 1.0, 2.0  # strokes thinner than 1 output px (a pen photo) are widened to 2; MNIST's are 1.5-3


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class PreparedImage:
    """A user's image as shown (grey, ≤ 280 px) and as the model sees it (uint8 28×28, white on black)."""

    original: np.ndarray  # (H, W) uint8, the decoded grey image (ink = alpha for transparent canvases)
    inverted: bool  # True when the background was light and the image was inverted
    image: np.ndarray  # (28, 28) uint8


def read_image(source: str | Path | bytes | BinaryIO, name: str | None = None) -> np.ndarray:
    """Decode an untrusted image file (path, bytes or binary file) into a grey (H, W) uint8 array."""
    name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
    data = _read_bytes(source, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as im:
                _check_size(im.size, name)
                im.load()  # first frame only for animated images
                im = ImageOps.exif_transpose(im)  # phone photos are stored sideways with an EXIF rotation
                return _to_grey(im, name)
        except UnidentifiedImageError:
            raise DataError(f"{name} is not an image file mnistlab can read; use a {', '.join(FORMATS)} image.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            pixels = re.search(r"\((\d+) pixels\)", str(e))
            size = f"{int(pixels.group(1)):,} pixels" if pixels else "too many pixels"
            raise DataError(f"{name} has {size}; the limit is {MAX_SIDE}×{MAX_SIDE}: resize it first.") from None
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - Pillow's decoders raise many types on malformed files
            raise DataError(f"{name} is damaged or truncated and cannot be decoded ({e}); save it again.") from None


def style_for(dataset: str) -> str:
    """The preprocessing a dataset's images went through: "digits" (MNIST) or "clothes" (Fashion-MNIST)."""
    return "clothes" if dataset == "fashion-mnist" else "digits"


def mnist_style(grey: np.ndarray, name: str = "the image", style: str = "digits") -> np.ndarray:
    """The dataset's preprocessing of a grey (H, W) image as a 28×28 uint8, light on dark.

    digits (MNIST): ink cropped, longer side 20 px, centred by mass. clothes (Fashion-MNIST, Xiao et
    al. 2017): the object trimmed from its background, longer side 28 px, centred by its box.
    """
    return _mnist_style(grey, name, style)[0]


def prepare_image(source: str | Path | bytes | BinaryIO, name: str | None = None,
                  style: str = "digits") -> PreparedImage:
    """Read an image file and prepare it for a model, keeping a small copy of the original for display."""
    name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
    return _prepare(read_image(source, name), name, style)


def prepare_array(array: np.ndarray, name: str = "the drawing", style: str = "digits") -> PreparedImage:
    """Prepare an in-memory image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA as a drawing canvas returns."""
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
        raise DataError(f"{name} has shape {array.shape}; pass an (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA array.")
    _check_size((array.shape[1], array.shape[0]), name)
    if array.dtype != np.uint8:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"{name} contains NaN or infinite values; pass finite pixel values.")
        scale = 255.0 if values.max() <= 1.0 else 1.0  # floats in [0, 1] or grey levels in [0, 255]
        array = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    # Pillow infers the mode from the shape: (H, W) → L, (H, W, 3) → RGB, (H, W, 4) → RGBA.
    return _prepare(_to_grey(Image.fromarray(np.ascontiguousarray(array)), name), name, style)


def _prepare(grey: np.ndarray, name: str, style: str) -> PreparedImage:
    image, inverted = _mnist_style(grey, name, style)
    return PreparedImage(_shrink(grey, DISPLAY_SIDE), inverted, image)


def _read_bytes(source: str | Path | bytes | BinaryIO, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_IMAGE_BYTES + 1)
    else:
        path = Path(source)
        problem = describe(path)
        if problem is not None:
            raise DataError(f"{name} {problem}; give the path of an image file.")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise DataError(f"{name} is {path.stat().st_size / 2**20:.1f} MB; the limit is "
                            f"{MAX_IMAGE_BYTES // 2**20} MB: resize or compress it first.")
        data = read_regular(path, MAX_IMAGE_BYTES, "image", DataError)
    if len(data) > MAX_IMAGE_BYTES:
        raise DataError(f"{name} is larger than {MAX_IMAGE_BYTES // 2**20} MB; resize or compress it first.")
    if not data:
        raise DataError(f"{name} is empty (0 bytes); choose an image file.")
    return data


def _check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise DataError(f"{name} is {width}×{height} pixels; the limit is {MAX_SIDE}×{MAX_SIDE}: resize it first.")


def _to_grey(im: Image.Image, name: str) -> np.ndarray:
    """Any mode → (H, W) uint8 grey. A transparent background makes the alpha channel the ink (white on black)."""
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        if np.median(_border(alpha)) < 128:
            # A canvas drawing: strokes of any colour on nothing. Their coverage is the ink.
            return alpha.copy()
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("L")).copy()
    if im.mode.startswith("I") or im.mode == "F":
        values = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16"):
            values = values / 257.0  # 16-bit levels → 8-bit
        elif values.min() < 0 or values.max() > 255:
            values = (values - values.min()) * (255.0 / max(float(np.ptp(values)), 1e-12))
        elif values.max() <= 1.0:
            values = values * 255.0  # float images in [0, 1]
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    try:
        return np.asarray(im.convert("L")).copy()
    except ValueError:
        raise DataError(f"{name} uses colour mode {im.mode}, which cannot be turned into grey; "
                        "save it as an RGB PNG or JPEG.") from None


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _shrink(grey: np.ndarray, side: int) -> np.ndarray:
    """Average a (H, W) array down so its longer side is at most `side` (float32 if not uint8)."""
    h, w = grey.shape
    if max(h, w) <= side:
        return grey
    size = (max(1, round(w * side / max(h, w))), max(1, round(h * side / max(h, w))))
    if grey.dtype == np.uint8:
        return np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.BOX))
    return np.asarray(Image.fromarray(grey.astype(np.float32)).resize(size, Image.Resampling.BOX))


def _mnist_style(grey: np.ndarray, name: str, style: str = "digits") -> tuple[np.ndarray, bool]:
    assert style in ("digits", "clothes"), f"unknown style {style!r}"
    grey = np.asarray(grey)
    assert grey.ndim == 2 and min(grey.shape) > 0, f"expected a non-empty (H, W) grey array, got {grey.shape}"
    x = _shrink(grey, WORK_SIDE).astype(np.float32)
    background = float(np.median(_border(x)))
    inverted = background > 127  # a light background: dark ink on paper
    if inverted:
        x, background = 255.0 - x, 255.0 - background
    x = np.clip(x - background, 0, None)  # (H, W) ink strength above the background
    peak = float(x.max())
    if peak < MIN_CONTRAST:
        raise DataError(f"{name} has no drawing/ink in it (it is a flat image); use a picture of a dark "
                        "drawing on a light background or a light one on a dark background.")
    if style == "clothes":
        return _clothes_style(x, peak), inverted
    x[x < INK_FRACTION * peak] = 0
    x *= 255.0 / peak
    x = _thicken(_crop(x))
    h, w = x.shape
    size = (max(1, round(w * BOX / max(h, w))), max(1, round(h * BOX / max(h, w))))
    # Bilinear (a triangle filter when shrinking) antialiases without the ringing LANCZOS puts beside sharp edges.
    small = np.clip(np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BILINEAR)), 0, None)
    small *= 255.0 / max(float(small.max()), 1e-6)  # (≤20, ≤20), ink peaks at 255 like MNIST's strokes
    return _centre(small), inverted


def _clothes_style(x: np.ndarray, peak: float) -> np.ndarray:
    """Fashion-MNIST's steps: trim what is within 5% of the background, longer side to 28, centre the box."""
    x = x * (255.0 / peak)
    x = _crop(np.where(x > TRIM * 255.0, x, 0.0))
    h, w = x.shape
    size = (max(1, round(w * SIDE / max(h, w))), max(1, round(h * SIDE / max(h, w))))
    small = np.clip(np.asarray(Image.fromarray(x.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)), 0, 255)
    out = np.zeros((SIDE, SIDE), np.float32)
    top, left = (SIDE - small.shape[0]) // 2, (SIDE - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _crop(x: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    return x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _thicken(x: np.ndarray) -> np.ndarray:
    """Widen strokes that would be thinner than THIN_PX once scaled to the 20 px box (a pen photo) to STROKE_PX."""
    ink = x >= 127.5
    inside = ink.copy()
    inside[1:-1, 1:-1] &= ink[:-2, 1:-1] & ink[2:, 1:-1] & ink[1:-1, :-2] & ink[1:-1, 2:]
    edge = int(ink.sum() - inside[1:-1, 1:-1].sum())
    width = 2.0 * float(x.sum()) / 255.0 / max(edge, 1)  # a stroke of width w, length L: area wL, 2L edge pixels
    px = max(x.shape) / BOX  # source pixels per output pixel
    if width >= THIN_PX * px:
        return x
    radius = int(np.ceil((STROKE_PX * px - width) / 2))
    # A thin stroke's grey levels measure how much of a pixel it covers, not how dark the ink is: saturate.
    x = np.pad(np.minimum(2.0 * x, 255.0), radius)
    for axis in (0, 1):  # a square max filter, one axis at a time: O(radius) passes
        grown = x.copy()
        for shift in range(1, radius + 1):
            np.maximum(grown, np.roll(x, shift, axis), out=grown)
            np.maximum(grown, np.roll(x, -shift, axis), out=grown)
        x = grown
    return _crop(x)


def _centre(small: np.ndarray) -> np.ndarray:
    """Paste a (h, w) float patch into 28×28 so its centre of mass is at (14, 14), clipped to stay inside."""
    h, w = small.shape
    total = float(small.sum())
    cy = float((small.sum(1) * np.arange(h)).sum() / total)  # row index; MNIST's mass centres average (14.0, 14.0)
    cx = float((small.sum(0) * np.arange(w)).sum() / total)
    top = int(np.clip(round(SIDE / 2 - cy), 0, SIDE - h))
    left = int(np.clip(round(SIDE / 2 - cx), 0, SIDE - w))
    out = np.zeros((SIDE, SIDE), np.float32)
    out[top:top + h, left:left + w] = small
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
