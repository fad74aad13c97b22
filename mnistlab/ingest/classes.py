"""Class names and numbers: from labels as the file spells them to 0..K-1, the same map for the test set."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.data.manifest import MAX_CLASSES, MIN_CLASSES
from mnistlab.errors import DataError
from mnistlab.ingest import limits
from mnistlab.ingest.convert import Conversions
from mnistlab.ingest.part import Part
from mnistlab.userfiles import read_regular

_INT = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, eq=False)
class Labelled:
    """Class names, the original-label map (where labels were not 0..K-1) and class numbers per split."""

    classes: tuple[str, ...]
    label_map: dict[str, int]
    train: np.ndarray  # (N,) uint8 in 0..K-1
    test: np.ndarray | None


def class_names(classes: str | Sequence[str] | None, classes_file: str | Path | None) -> tuple[str, ...] | None:
    """Names from `--classes a,b,c` (or a list) or a file of one name per line; None when neither is given."""
    if classes is not None and classes_file is not None:
        raise DataError("give --classes or --classes-file, not both.")
    if classes_file is not None:
        data = read_regular(classes_file, limits.MAX_CLASSES_FILE, "classes file", DataError)
        try:
            names = [line.strip() for line in data.decode("utf-8-sig").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise DataError(f"classes file {classes_file} is not UTF-8 text; save it as one class name per line.") \
                from None
        return _check_names(names, f"classes file {classes_file}")
    if classes is None:
        return None
    names = classes.split(",") if isinstance(classes, str) else list(classes)
    return _check_names([str(n).strip() for n in names], "--classes")


def _check_text(name: str, what: str) -> None:
    if not name or len(name) > limits.MAX_CLASS_NAME or _CONTROL.search(name):
        raise DataError(f"{what}: class name {name[:limits.MAX_CLASS_NAME]!r} must be 1 to {limits.MAX_CLASS_NAME} "
                        "printable characters.")


def _check_names(names: list[str], what: str) -> tuple[str, ...]:
    for i, name in enumerate(names, start=1):
        _check_text(name, what)
        if name in names[:i - 1]:
            raise DataError(f"{what}: class name {name!r} is given twice; every class needs its own name.")
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise DataError(f"{what}: names {len(names)} classes; mnistlab trains {MIN_CLASSES} to {MAX_CLASSES}.")
    return tuple(names)


def _as_ints(labels: np.ndarray) -> np.ndarray | None:
    """Labels as int64 when they are numbers (or strings of whole numbers, like folders named 0–9), else None."""
    if labels.dtype.kind in "iu":
        return labels.astype(np.int64)
    if all(_INT.fullmatch(v) for v in labels.tolist()):
        return labels.astype(np.int64)
    return None


def _show(values, limit: int = 8) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:limit]) + (f" … ({len(values):,} in all)" if len(values) > limit else "")


def _check_count(part: Part, found: np.ndarray) -> None:
    if len(found) < MIN_CLASSES:
        raise DataError(f"{part.label_source}: holds one class only ({found[0]!s:.40}); mnistlab needs "
                        f"{MIN_CLASSES} to {MAX_CLASSES} classes{part.label_hint}.")
    if len(found) > MAX_CLASSES:
        raise DataError(f"{part.label_source}: holds {len(found):,} classes ({_show(found)}); mnistlab trains "
                        f"{MIN_CLASSES} to {MAX_CLASSES}: merge or leave out some{part.label_hint}.")


def label(train: Part, test: Part | None, names: tuple[str, ...] | None, conversions: Conversions) -> Labelled:
    """Number the classes 0..K-1 (sorted labels, or the order of `names`) and check the test set uses them."""
    ints = _as_ints(train.labels)
    keys = ints if ints is not None else train.labels
    found = np.unique(keys)  # sorted
    _check_count(train, found)
    label_map: dict[str, int] = {}
    if ints is not None:
        if names is not None and found.min() >= 0 and found.max() < len(names):  # the labels number the names
            empty = sorted(set(range(len(names))) - set(found.tolist()))
            if empty:
                raise DataError(f"{train.label_source}: holds no images of class {empty[0]} ({names[empty[0]]!r}); "
                                "every class named by --classes needs training images (or leave its name out).")
        elif names is not None and len(names) != len(found):
            raise DataError(f"--classes names {len(names)} classes but {train.label_source} holds {len(found)} "
                            f"labels ({_show(found)}); give one name per label.")
        classes = names or tuple(str(v) for v in found)
        if not np.array_equal(found, np.arange(len(found))):
            label_map = {str(v): i for i, v in enumerate(found.tolist())}
            conversions.note(f"mapped labels {_show(found)} to classes 0–{len(found) - 1} in sorted order "
                             "(kept as label_map)")
        number = np.arange(len(found))  # found is sorted: class k is the k-th smallest label
    else:
        if names is not None and set(names) != set(found.tolist()):
            missing, extra = sorted(set(found.tolist()) - set(names)), sorted(set(names) - set(found.tolist()))
            said = ([f"missing {_show(missing)}"] if missing else []) + ([f"not in the file: {_show(extra)}"]
                                                                        if extra else [])
            raise DataError(f"--classes must list exactly the labels of {train.label_source}, in the order wanted "
                            f"({'; '.join(said)}).")
        classes = names or tuple(found.tolist())
        for name in classes:  # folder names and string labels become class names
            _check_text(name, train.label_source)
        number = np.array([classes.index(k) for k in found.tolist()])
    train_numbers = _lookup(train, keys, found, number, classes)
    test_numbers = None
    if test is not None:
        test_keys = _test_keys(test, ints is not None, classes)
        test_numbers = _lookup(test, test_keys, found, number, classes)
        missing = sorted(set(range(len(classes))) - set(np.unique(test_numbers).tolist()))
        if missing:
            raise DataError(f"{test.label_source}: holds no test images of class {classes[missing[0]]!r}"
                            f"{f' (nor of {len(missing) - 1} more)' if len(missing) > 1 else ''}; the test set "
                            "needs every train class: add some, or leave out --test to hold out part of the "
                            "training set.")
    return Labelled(tuple(classes), label_map, train_numbers.astype(np.uint8),
                    None if test_numbers is None else test_numbers.astype(np.uint8))


def _test_keys(test: Part, integer: bool, classes: tuple[str, ...]) -> np.ndarray:
    if not integer:
        return test.labels.astype(str)
    ints = _as_ints(test.labels)
    if ints is None:
        i = next(i for i, v in enumerate(test.labels.tolist()) if not _INT.fullmatch(str(v)))
        raise DataError(f"{test.label_source}: {test.where(i)}: label {test.labels[i]!r} is not one of the train "
                        f"set's classes ({_show(classes)}); the test set must use the train set's labels.")
    return ints


def _lookup(part: Part, keys: np.ndarray, keys_sorted: np.ndarray, number: np.ndarray,
            classes: tuple[str, ...]) -> np.ndarray:
    """Class numbers for `keys`; DataError at the first key the train set does not have."""
    pos = np.searchsorted(keys_sorted, keys)
    pos_ok = np.minimum(pos, len(keys_sorted) - 1)
    bad = np.flatnonzero(keys_sorted[pos_ok] != keys)
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{part.label_source}: {part.where(i)}: label {part.labels[i]!s:.40} is not one of the train "
                        f"set's classes ({_show(classes)}); the test set must use the train set's labels.")
    return number[pos_ok]


def hold_out(labels: np.ndarray, fraction: float, seed: int, classes: tuple[str, ...],
             source: str) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): `fraction` of each class drawn at random with `seed`, each kept in file order."""
    rng = np.random.default_rng(seed)
    test = []
    for c, name in enumerate(classes):
        members = np.flatnonzero(labels == c)
        if len(members) < 2:
            raise DataError(f"{source}: class {name!r} has {len(members)} image; holding out a test set needs at "
                            "least 2 per class: add images or give a test set with --test.")
        k = min(max(1, round(len(members) * fraction)), len(members) - 1)
        test.append(rng.choice(members, k, replace=False))
    test_rows = np.sort(np.concatenate(test))
    train_rows = np.setdiff1d(np.arange(len(labels)), test_rows)
    return train_rows, test_rows
