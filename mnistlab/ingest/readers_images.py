"""Read a folder, or a .zip of one, with one sub-folder of images per class (torchvision's ImageFolder layout).

`root/cats/1.png, root/dogs/7.jpg, …`; a folder that wraps it (`pets/cats/…`, as zipping a folder makes) is
looked through, and `root/train/<class>/…` with `root/test/<class>/…` gives both splits. Images are decoded
by `mnistlab.imageprep` (its format allow-list, size caps and decompression-bomb guard).
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from mnistlab import imageprep
from mnistlab.errors import DataError
from mnistlab.ingest import limits
from mnistlab.ingest.convert import SIDE, Conversions, fit
from mnistlab.ingest.part import Part
from mnistlab.userfiles import read_regular

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")
SPLIT_FOLDERS = ({"train", "test"}, {"training", "testing"})  # a root holding exactly these has both splits
SHUFFLE_SEED = 0  # folders list images class by class; a fixed shuffle keeps `first N` subsets mixed
_GREY_MODES = ("1", "L", "LA", "La")


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]  # folders below the root, then the file name
    name: str  # for messages: "pets/cats/1.png" or "cats/1.png in pets.zip"
    read: Callable[[], bytes]
    size: int | None = None  # as the zip declares it (folders: checked when read)


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _list_folder(root: Path) -> tuple[list[_Entry], set[tuple[str, ...]]]:
    entries, dirs = [], set()
    for here, subdirs, files in os.walk(root):
        rel = Path(here).relative_to(root).parts
        subdirs[:] = sorted(d for d in subdirs if not _hidden((d,)))
        dirs.update(rel + (d,) for d in subdirs)
        for file in sorted(files):
            path = Path(here) / file
            entries.append(_Entry(rel + (file,), str(path),
                                  lambda p=path: read_regular(p, imageprep.MAX_IMAGE_BYTES, "image", DataError)))
            if len(entries) > 2 * limits.MAX_IMAGES:  # a walk into a huge tree stops early
                raise DataError(limits.too_many(str(root)))
    return entries, dirs


def _list_zip(zf: zipfile.ZipFile, source: str) -> tuple[list[_Entry], set[tuple[str, ...]]]:
    entries, dirs = [], set()
    infos = zf.infolist()
    if len(infos) > 2 * limits.MAX_IMAGES:
        raise DataError(limits.too_many(source))
    for info in infos:
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts:
            raise DataError(f"{source}: entry {info.filename!r} has an unsafe path ('..' or absolute); zip the folder "
                            "again from inside its parent folder.")
        dirs.update(path.parts[:i] for i in range(1, len(path.parts)))
        if info.is_dir():
            dirs.add(path.parts)
            continue
        if info.flag_bits & 0x1:
            raise DataError(f"{source}: entry {info.filename!r} is encrypted; zip the folder without a password.")
        entries.append(_Entry(path.parts, f"{info.filename} in {source}", lambda i=info: zf.read(i), info.file_size))
    return entries, dirs


def _unwrap(entries: list[_Entry], dirs: set[tuple[str, ...]]) -> tuple[list[_Entry], set[tuple[str, ...]]]:
    """Drop hidden files, then look through wrapping folders (`pets/cats/1.png` → `cats/1.png`)."""
    entries = [e for e in entries if not _hidden(e.parts)]
    dirs = {d for d in dirs if not _hidden(d)}
    while (len({d[0] for d in dirs}) == 1 and any(len(d) > 1 for d in dirs)
           and not any(len(e.parts) <= 2 and _is_image(e) for e in entries)):
        entries = [replace(e, parts=e.parts[1:]) for e in entries if len(e.parts) > 1]  # a README beside it goes
        dirs = {d[1:] for d in dirs if len(d) > 1}
    return entries, dirs


def _is_image(entry: _Entry) -> bool:
    return entry.parts[-1].lower().endswith(EXTENSIONS)


def _split(source: str, entries: list[_Entry], dirs: set[tuple[str, ...]], conversions: Conversions
           ) -> dict[str, tuple[str, list[_Entry], set[str]]]:
    """split → (its source text, its entries with class-relative parts, its class folders)."""
    top = {d[0] for d in dirs if len(d) == 1}
    pair = next((p for p in SPLIT_FOLDERS if {t.lower() for t in top} == p), None)
    if pair is None:
        return {"train": (source, *_classes(source, entries, dirs, conversions))}
    out = {}
    for folder in sorted(top, key=lambda t: t.lower() not in ("train", "training")):
        inner = [replace(e, parts=e.parts[1:]) for e in entries if e.parts[0] == folder and len(e.parts) > 1]
        inner_dirs = {d[1:] for d in dirs if d[0] == folder and len(d) > 1}
        split = "train" if folder.lower() in ("train", "training") else "test"
        out[split] = (f"{source}/{folder}", *_classes(f"{source}/{folder}", inner, inner_dirs, conversions))
    return out


def _classes(source: str, entries: list[_Entry], dirs: set[tuple[str, ...]], conversions: Conversions
             ) -> tuple[list[_Entry], set[str]]:
    """The image entries below class folders, and the class folders; loose images are refused, other files skipped."""
    images, skipped = [], []
    for e in entries:
        is_image = _is_image(e)
        if is_image and len(e.parts) == 1:
            raise DataError(f"{e.name}: is not inside a class folder; put each image in a sub-folder named for its "
                            f"class ({source}/<class>/{e.parts[0]}).")
        (images if is_image else skipped).append(e)
    if skipped:
        what = "1 file that is not an image" if len(skipped) == 1 else f"{len(skipped):,} files that are not images"
        conversions.note(f"skipped {what} (e.g. {skipped[0].name}); images are read from {', '.join(EXTENSIONS)} "
                         "files")
    return images, {d[0] for d in dirs if len(d) >= 1}


def _count_modes(data: bytes, conversions: Conversions) -> None:
    """Count what decoding did to this image (colour, transparency, bit depth, animation)."""
    with Image.open(io.BytesIO(data), formats=imageprep.FORMATS) as im:
        mode = im.mode
        if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
            conversions.transparent += 1
        if mode.startswith("I") or mode == "F":
            conversions.deep += 1
        elif mode == "P":
            palette = np.asarray(im.getpalette() or [0, 0, 0]).reshape(-1, 3)
            conversions.colour += int(not (palette == palette[:, :1]).all())
        elif mode not in _GREY_MODES:
            conversions.colour += 1
        conversions.animated += int(getattr(im, "is_animated", False))


def _decode(entries: list[_Entry], conversions: Conversions) -> np.ndarray:
    out = np.empty((len(entries), SIDE, SIDE), np.uint8)
    for i, e in enumerate(entries):
        if e.size is not None and e.size > imageprep.MAX_IMAGE_BYTES:
            raise DataError(f"{e.name} is {limits.size_text(e.size)}; the limit per image is "
                            f"{limits.size_text(imageprep.MAX_IMAGE_BYTES)}: resize or compress it first.")
        try:
            data = e.read()
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as err:
            raise DataError(f"{e.name} is damaged and cannot be unzipped ({err}); zip the folder again.") from None
        grey = imageprep.read_image(data, e.name)
        _count_modes(data, conversions)
        if grey.shape != (SIDE, SIDE):
            conversions.sizes[grey.shape] += 1
        out[i] = fit(grey)
    return out


def _part(source: str, fmt: str, images: list[_Entry], folders: set[str], conversions: Conversions) -> Part:
    for folder in sorted(folders):
        if not any(e.parts[0] == folder for e in images):
            raise DataError(f"{source}/{folder}: the class folder holds no images ({', '.join(EXTENSIONS)}); add "
                            "some or delete the folder.")
    if not images:
        raise DataError(f"{source}: holds no class folders of images; give a folder with one sub-folder of "
                        "images per class (e.g. cats/1.png, dogs/2.png).")
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(images))
    images = [images[i] for i in order]
    pixels = _decode(images, conversions)
    labels = np.array([e.parts[0] for e in images])
    names = ["/".join(e.parts) for e in images]
    return Part(pixels, labels, source, fmt, lambda i: names[i])


def read_images_part(path: str | Path, conversions: Conversions) -> Part:
    """A folder or .zip of class folders as a `Part` (with its `test` when it has train/ and test/)."""
    path = Path(path)
    source = str(path)
    if path.is_dir():
        return _read(source, "folder", *_list_folder(path), conversions)
    if path.stat().st_size > limits.MAX_FILE_BYTES:
        raise DataError(limits.too_large(source, path.stat().st_size))
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(source, "zip", *_list_zip(zf, source), conversions)
    except zipfile.BadZipFile as e:
        raise DataError(f"{source}: not a valid .zip file ({e}); zip the folder again.") from None


def _read(source: str, fmt: str, entries: list[_Entry], dirs: set[tuple[str, ...]], conversions: Conversions) -> Part:
    entries, dirs = _unwrap(entries, dirs)
    splits = _split(source, entries, dirs, conversions)
    count = sum(len(images) for _, images, _ in splits.values())
    if count > limits.MAX_IMAGES:
        raise DataError(limits.too_many(source, count))
    if fmt == "zip":
        declared = sum(e.size or 0 for _, images, _ in splits.values() for e in images)
        if declared > limits.MAX_FILE_BYTES:
            raise DataError(limits.too_large(source, declared, "once unzipped"))
    conversions.note(f"shuffled the images with seed {SHUFFLE_SEED} (a {fmt} lists them class by class)")
    parts = {split: _part(where, fmt, images, folders, conversions)
             for split, (where, images, folders) in splits.items()}
    parts["train"].test = parts.get("test")
    return parts["train"]
