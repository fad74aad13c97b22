"""Datasets: IDX/CSV reading, verification, fetching, splits, batching and augmentation."""

from mnistlab.data.datasets import DATASETS, dataset_info, resolve_data_dir
from mnistlab.data.idx import read_idx, write_idx
from mnistlab.data.load import is_present, load_split
from mnistlab.data.split import Split

__all__ = ["DATASETS", "Split", "dataset_info", "is_present", "load_split", "read_idx", "resolve_data_dir", "write_idx"]
