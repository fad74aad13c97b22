"""A split in memory: uint8 images (N, 28, 28) and int64 labels (N,), with subset helpers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from mnistlab.errors import ConfigError, DataError


@dataclass(frozen=True)
class Split:
    """Images (uint8, N×28×28) and labels (int64, N) of one dataset split, plus class names."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...] = tuple(str(i) for i in range(10))
    name: str = "split"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        assert self.images.dtype == torch.uint8 and self.images.shape[1:] == (28, 28), self.images.shape
        assert self.labels.dtype == torch.int64 and self.labels.shape == (len(self.images),), self.labels.shape

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Split({self.name!r}, n={len(self)}, device={self.images.device})"

    @classmethod
    def from_numpy(cls, images: np.ndarray, labels: np.ndarray, **kw) -> Split:
        if len(images) != len(labels):
            raise DataError(f"{kw.get('name', 'data')}: {len(images):,} images but {len(labels):,} labels.")
        return cls(torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)),
                   torch.from_numpy(np.asarray(labels).astype(np.int64)), **kw)

    def take(self, index: torch.Tensor, name: str | None = None) -> Split:
        """A new split holding the rows at `index` (in that order)."""
        index = index.to(self.labels.device)
        return replace(self, images=self.images[index], labels=self.labels[index], name=name or self.name)

    def first(self, n: int) -> Split:
        """The first n samples (the tutorials' `X[:n]`)."""
        if n <= 0:
            raise ConfigError(f"subset size must be at least 1, got {n}.")
        return replace(self, images=self.images[:n], labels=self.labels[:n])

    def subset(self, size: float | int, mode: str = "first", seed: int = 0) -> Split:
        """A subset of `size` samples (an int) or of that fraction (a float in (0, 1]).

        mode: 'first' keeps the leading samples, 'random' draws without replacement,
        'stratified' draws the same fraction from every class, 'sklearn' keeps what scikit-learn's
        `train_test_split(..., test_size=len − n, random_state=seed)` returns as its train part: the last n
        of `np.random.RandomState(seed).permutation(len)`, in that shuffled order.
        """
        n = _count(size, len(self))
        if n >= len(self):
            return self
        if mode == "first":
            return self.first(n)
        if mode == "sklearn":
            order = np.random.RandomState(seed).permutation(len(self))[len(self) - n:]
            return self.take(torch.from_numpy(order))
        gen = torch.Generator().manual_seed(seed)
        labels = self.labels.cpu()
        if mode == "random":
            return self.take(torch.randperm(len(self), generator=gen)[:n].sort().values)
        if mode == "stratified":
            picks = []
            counts = torch.bincount(labels, minlength=len(self.classes))
            quota = _largest_remainder(counts.double() * n / len(self), n)
            for c in range(len(self.classes)):
                members = torch.nonzero(labels == c).flatten()
                picks.append(members[torch.randperm(len(members), generator=gen)[: int(quota[c])]])
            return self.take(torch.cat(picks).sort().values)
        raise ConfigError(f"subset mode must be 'first', 'random', 'stratified' or 'sklearn', got {mode!r}.")

    def split_off(self, fraction: float, mode: str = "last", seed: int = 0) -> tuple[Split, Split]:
        """Split into (train, validation); 'last' takes the tail as Keras's validation_split does."""
        if not 0 < fraction < 1:
            raise ConfigError(f"validation split must be in (0, 1), got {fraction}.")
        n_val = max(1, int(round(len(self) * fraction)))
        if n_val >= len(self):
            raise ConfigError(f"validation split {fraction} leaves no training data out of {len(self)} samples.")
        if mode == "last":
            cut = len(self) - n_val
            return (replace(self, images=self.images[:cut], labels=self.labels[:cut], name=f"{self.name}-train"),
                    replace(self, images=self.images[cut:], labels=self.labels[cut:], name=f"{self.name}-val"))
        if mode == "random":
            perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
            return (self.take(perm[n_val:].sort().values, f"{self.name}-train"),
                    self.take(perm[:n_val].sort().values, f"{self.name}-val"))
        raise ConfigError(f"validation mode must be 'last' or 'random', got {mode!r}.")

    def to(self, device: torch.device | str) -> Split:
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))

    def class_means(self) -> np.ndarray:
        """The average image of each class, (classes, 28, 28) floats in 0..255: a blurry template of the class."""
        sums = torch.zeros(len(self.classes), *self.images.shape[1:]).index_add_(0, self.labels.cpu(),
                                                                              self.images.cpu().float())
        counts = torch.bincount(self.labels.cpu(), minlength=len(self.classes)).clamp(min=1)
        return (sums / counts[:, None, None]).numpy()

    def label_counts(self) -> list[int]:
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes)).tolist()


def _count(size: float | int, total: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise ConfigError(f"subset size must be a count or a fraction, got {size!r}.")
    if isinstance(size, float) and size <= 1.0:
        if size <= 0:
            raise ConfigError(f"subset fraction must be in (0, 1], got {size}.")
        return max(1, int(round(total * size)))
    if size < 1:
        raise ConfigError(f"subset size must be at least 1, got {size}.")
    return int(size)


def _largest_remainder(shares: torch.Tensor, total: int) -> torch.Tensor:
    """Integer quotas that sum to `total`, closest to the real-valued `shares`."""
    base = shares.floor()
    short = total - int(base.sum())
    order = torch.argsort(shares - base, descending=True)
    base[order[:short]] += 1
    return base.long()
