"""Read an `.npz` in Keras' `mnist.npz` layout: x_train, y_train and optionally x_test, y_test (never pickled)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mnistlab.errors import DataError
from mnistlab.ingest import limits
from mnistlab.ingest.convert import Conversions, fit_all, luminance
from mnistlab.ingest.part import Part
from mnistlab.userfiles import describe


def read_npz_part(path: str | Path, conversions: Conversions) -> Part:
    """x_train/y_train as a `Part`, with x_test/y_test as its `test` when the file has them."""
    path = Path(path)
    name = str(path)
    problem = describe(path)
    if problem is not None:
        raise DataError(f"{name} {problem}; give an .npz file.")
    if path.stat().st_size > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(name, path.stat().st_size))
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename[:-4]: info for info in zf.infolist() if info.filename.endswith(".npy")}
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{name}: not a valid .npz file ({e}); save it with numpy.savez or savez_compressed.") from None
    if not {"x_train", "y_train"} <= set(members):
        found = ", ".join(sorted(members)) or "no arrays"
        raise DataError(f"{name}: holds {found}; mnistlab needs x_train and y_train (optionally x_test and y_test), "
                        "as in Keras' mnist.npz.")
    if ("x_test" in members) != ("y_test" in members):
        raise DataError(f"{name}: holds {'x_test' if 'x_test' in members else 'y_test'} without its partner; save "
                        "both x_test and y_test, or neither.")
    keys = [k for k in ("x_train", "y_train", "x_test", "y_test") if k in members]
    unpacked = sum(members[k].file_size for k in keys)
    if unpacked > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(name, unpacked, "once decompressed"))
    arrays, key = {}, keys[0]
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in keys:
                arrays[key] = npz[key]
    except ValueError as e:
        if "pickle" in str(e):  # an object array: reading it would run pickle on the user's file
            raise DataError(f"{name}: {key} holds Python objects, which mnistlab does not unpickle; save plain "
                            "numeric or string arrays (numpy.savez(..., x_train=images.astype('uint8'), "
                            "y_train=labels)).") from None
        raise DataError(f"{name}: {key} is damaged ({e}); save the file again.") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{name}: {key} is damaged ({e}); save the file again.") from None
    train = _part(name, "train", arrays, conversions)
    if "x_test" in arrays:
        train.test = _part(name, "test", arrays, conversions)
    return train


def _part(name: str, split: str, arrays: dict[str, np.ndarray], conversions: Conversions) -> Part:
    x_key, y_key = f"x_{split}", f"y_{split}"
    images = to_grey(name, x_key, arrays[x_key], conversions)
    labels = to_labels(name, y_key, arrays[y_key], conversions)
    if len(images) != len(labels):
        raise DataError(f"{name}: {x_key} holds {len(images):,} images but {y_key} holds {len(labels):,} labels; "
                        "they must match.")
    return Part(fit_all(images, conversions), labels, name, "npz", lambda i: f"{y_key}[{i}]")


def to_grey(name: str, key: str, x: np.ndarray, conversions: Conversions) -> np.ndarray:
    """Images as (N, H, W) uint8 from (N, H×W), (N, H, W), (N, H, W, 1|3) or (N, 1|3, H, W) arrays."""
    if x.ndim == 4 and x.shape[1] in (1, 3) and x.shape[3] not in (1, 3):
        x = np.moveaxis(x, 1, 3)  # PyTorch's channels-first
        conversions.note("moved the channel axis of the image arrays last (N×C×H×W → N×H×W×C)")
    if x.ndim == 2:
        side = int(np.sqrt(x.shape[1]))
        if side * side != x.shape[1]:
            raise DataError(f"{name}: {key} has shape {x.shape}: {x.shape[1]:,} values per image is not a square "
                            "image; save images as (N, H, W) or (N, H×H).")
        x = x.reshape(len(x), side, side)
    if (x.ndim == 4 and x.shape[3] not in (1, 3)) or x.ndim not in (3, 4) or 0 in x.shape[1:]:
        raise DataError(f"{name}: {key} has shape {x.shape}; save images as (N, H, W) grey or (N, H, W, 3) RGB.")
    if len(x) > limits.MAX_IMAGES:
        raise DataError(limits.too_many(f"{name}: {key}", len(x)))
    if max(x.shape[1:3]) > limits.MAX_SIDE:
        raise DataError(f"{name}: {key} holds {x.shape[1]}×{x.shape[2]} images; mnistlab imports sides up to "
                        f"{limits.MAX_SIDE} px.")
    x = _to_uint8(name, key, x, conversions)
    if x.ndim == 4 and x.shape[3] == 3:
        conversions.colour += len(x)
        return luminance(x)
    return x.reshape(x.shape[:3])


def _to_uint8(name: str, key: str, x: np.ndarray, conversions: Conversions) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "biuf":
        raise DataError(f"{name}: {key} holds {x.dtype} values; pixels must be numbers 0–255 (or floats 0–1).")
    if x.dtype.kind == "b":
        conversions.note(f"turned the true/false pixels of {key} into 255/0")
        return x.astype(np.uint8) * 255
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        at = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise DataError(f"{name}: {key}[{at[0]}] holds {x[at]} at pixel {at[1:]}; pixels must be finite numbers.")
    low, high = x.min(), x.max()
    if x.dtype.kind == "f" and low >= 0 and high <= 1:
        conversions.note("scaled float pixels in [0, 1] to 0–255 (rounded)")
        return np.rint(x * 255).astype(np.uint8)
    if low < 0 or high > 255:
        at = tuple(int(i) for i in np.argwhere((x < 0) | (x > 255))[0])
        raise DataError(f"{name}: {key}[{at[0]}] holds the pixel value {x[at]}, outside 0–255 (or 0–1 for floats).")
    if x.dtype.kind == "f":
        conversions.note("rounded float pixels to whole grey levels 0–255")
        return np.rint(x).astype(np.uint8)
    return x.astype(np.uint8)


def to_labels(name: str, key: str, y: np.ndarray, conversions: Conversions) -> np.ndarray:
    """Labels as (N,) int64 or str, from (N,), (N, 1) or one-hot (N, K) arrays."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] >= 2 and y.dtype.kind in "biuf" and np.isin(y, (0, 1)).all() \
            and (y.sum(axis=1) == 1).all():
        conversions.note(f"turned one-hot labels ({key}, N×{y.shape[1]}) into class numbers")
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise DataError(f"{name}: {key} has shape {y.shape}; save labels as (N,) class numbers or names, or (N, K) "
                        "one-hot.")
    if y.dtype.kind in "US":
        labels = np.char.strip(y.astype(str))
        empty = np.flatnonzero(np.char.str_len(labels) == 0)
        if len(empty):
            raise DataError(f"{name}: {key}[{empty[0]}] is an empty label; every image needs its class.")
        return labels
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if len(bad):
            raise DataError(f"{name}: {key}[{bad[0]}] is {y[bad[0]]}; labels must be whole numbers or names.")
    elif y.dtype.kind not in "biu":
        raise DataError(f"{name}: {key} holds {y.dtype} values; labels must be whole numbers or names.")
    return y.astype(np.int64)
