"""Turn a `TrainConfig` into the train / validation / test splits it asks for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnistlab.data.load import load_split
from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.train.config import TrainConfig


@dataclass(frozen=True)
class PreparedData:
    """The splits one run trains, validates and tests on (CPU tensors)."""

    train: Split
    val: Split | None
    test: Split


def prepare_data(config: TrainConfig, data_dir: str | Path | None = None,
                 train: Split | None = None, test: Split | None = None) -> PreparedData:
    """Load (or take) the full splits, then apply the config's subset and validation split."""
    train = train if train is not None else load_split(config.dataset, "train", data_dir)
    test = test if test is not None else load_split(config.dataset, "test", data_dir)
    if config.train_subset is not None:
        train = train.subset(config.train_subset, config.subset_mode,
                             config.seed if config.subset_seed is None else config.subset_seed)
    val = None
    if config.val_split > 0:
        train, val = train.split_off(config.val_split, config.val_mode, config.seed)
    if config.test_subset is not None:
        test = test.first(min(config.test_subset, len(test)))
    if config.batch_size > len(train):
        raise ConfigError(
            f"batch size {config.batch_size} is larger than the {len(train):,} training samples; "
            "lower the batch size or use more training data."
        )
    return PreparedData(train, val, test)
