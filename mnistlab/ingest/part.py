"""`Part`: one split as read from a user's file, images already 28×28, labels as the file spells them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)  # arrays inside
class Part:
    """Images and labels of one split from one source, with where each row came from (for messages)."""

    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64, or str ('<U…') for string labels and folder names
    source: str  # the file or folder as given: what every message starts with
    format: str  # csv | idx | npz | folder | zip
    where: Callable[[int], str]  # row i → "line 12", "entry 5", "y_test[5]", "cats/3.png"
    label_source: str = ""  # the file holding the labels when it is another one (IDX)
    test: Part | None = None  # a test split inside the same source (an .npz's x_test, a folder's test/)
    label_hint: str = ""  # why the labels may be in the wrong column (CSV), added to class-count errors

    def __post_init__(self):
        assert self.images.ndim == 3 and self.images.shape[1:] == (28, 28), self.images.shape
        assert self.labels.shape == (len(self.images),), (self.labels.shape, self.images.shape)
        self.label_source = self.label_source or self.source

    def __len__(self) -> int:
        return len(self.labels)
