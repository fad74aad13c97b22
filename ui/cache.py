"""Cached wrappers around core loads, so page switches are instant after the first load.

Big read-only objects (splits, evaluations, the job queue) are `st.cache_resource`: shared, never
copied. Small derived arrays are `st.cache_data`. Every key carries a "stamp" (file sizes and
modification times), so a fetched dataset or a finished run is picked up at once.

What holds memory, for all sessions of the server together (each cache is bounded by entries and,
for per-run objects, by an idle time-to-live, so a server open for a term does not grow):
- `_split`: full splits as uint8 tensors, ≈ 55 MB per dataset (train + test), 4 entries: both datasets.
- `_model`: a run's model on the CPU, 4 bytes a parameter (1024-wide `fast` ≈ 3 MB), 4 entries, 1 h.
- `_evaluation`: a run's test predictions and probabilities, ≈ 0.5 MB each, 16 entries, 1 h.
- `_file_bytes`: downloads (a model file can be tens of MB), 4 entries, 10 min.
- the job queue (`mnistlab.jobs`): running jobs hold their training splits until they end; queued ones
  hold only `preparer`'s function over the shared `_split` tensors; finished ones keep small snapshots.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from mnistlab.data.datasets import FILES, file_path
from mnistlab.data.fetch import verify_dataset
from mnistlab.data.load import is_present, load_split
from mnistlab.data.split import Split
from mnistlab.evaluate import Evaluation
from mnistlab.jobs import JobQueue
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig
from mnistlab.train.prepare import PreparedData, prepare_data
from ui import state


@st.cache_resource(show_spinner=False)
def job_queue() -> JobQueue:
    """The server's one training queue ($MNISTLAB_JOBS_PER_DEVICE jobs at once per device, default 1)."""
    return JobQueue(per_device=int(os.environ.get("MNISTLAB_JOBS_PER_DEVICE") or 1))


def stamp(paths: list[Path | None]) -> tuple:
    """(path, size, mtime) of each file that exists, None for each that doesn't: a cache key that follows them."""
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) if p and p.exists() else None for p in paths)


def data_stamp(dataset: str, data_dir: Path | None = None) -> tuple:
    """Identity of a dataset's files on disk (changes when they are fetched or replaced)."""
    root = data_dir or state.data_dir()
    return stamp([file_path(root, dataset, stem) for stem in FILES])


def present(dataset: str) -> bool:
    return is_present(dataset, state.data_dir())


@st.cache_resource(max_entries=4, show_spinner="Loading images…")
def _split(dataset: str, which: str, data_dir: str, stamp: tuple) -> Split:
    return load_split(dataset, which, data_dir)


def split(dataset: str, which: str) -> Split:
    """The full 'train' or 'test' split (DataError when the files are missing)."""
    return _split(dataset, which, str(state.data_dir()), data_stamp(dataset))


@st.cache_data(max_entries=4, show_spinner="Checking the files' checksums…")
def _verify(dataset: str, data_dir: str, stamp: tuple) -> dict[str, str]:
    return verify_dataset(dataset, data_dir)


def verify(dataset: str) -> dict[str, str]:
    """File stem → 'ok' / 'missing' / 'checksum mismatch' (cached until the files change)."""
    return _verify(dataset, str(state.data_dir()), data_stamp(dataset))


@st.cache_data(max_entries=8, show_spinner=False)
def _mean_images(dataset: str, which: str, data_dir: str, stamp: tuple) -> np.ndarray:
    return _split(dataset, which, data_dir, stamp).class_means()  # (classes, 28, 28) in 0..255


def mean_images(dataset: str, which: str) -> np.ndarray:
    """Average image of each class, (10, 28, 28) floats in 0..255."""
    return _mean_images(dataset, which, str(state.data_dir()), data_stamp(dataset))


def prepared(config: TrainConfig) -> PreparedData:
    """The splits `config` trains on, cut from the cached full splits (ConfigError on bad subsets)."""
    return prepare_data(config, train=split(config.dataset, "train"), test=split(config.dataset, "test"))


def preparer(config: TrainConfig) -> Callable[[], PreparedData]:
    """A function a job's worker calls when it starts to cut its splits: a job waiting in line holds no copy.

    It closes over the cached full splits (shared), and calls no Streamlit (workers never do).
    """
    train, test = split(config.dataset, "train"), split(config.dataset, "test")
    return partial(prepare_data, config, train=train, test=test)


# -- runs -------------------------------------------------------------------------------------------

def store() -> RunStore:
    return RunStore(state.runs_dir())


def _run_stamp(run_id: str, name: str) -> tuple:
    return store().open(run_id).stamp(name)


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="Loading the run's predictions…")
def _evaluation(runs_dir: str, run_id: str, stamp: tuple) -> Evaluation | None:
    return RunStore(runs_dir).open(run_id).evaluation()


def evaluation(run_id: str) -> Evaluation | None:
    """The run's stored test evaluation, or None if it has none."""
    return _evaluation(str(state.runs_dir()), run_id, _run_stamp(run_id, "predictions.safetensors"))


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Loading the model…")
def _model(runs_dir: str, run_id: str, stamp: tuple) -> MLP:
    return RunStore(runs_dir).open(run_id).model().eval()


def model(run_id: str) -> MLP | None:
    """The run's saved model on the CPU, or None if it saved none."""
    stamp = _run_stamp(run_id, "model.safetensors")
    return _model(str(state.runs_dir()), run_id, stamp) if stamp[0] else None


@st.cache_data(max_entries=64, show_spinner=False)
def _history(runs_dir: str, run_id: str, stamp: tuple) -> pd.DataFrame:
    return pd.DataFrame(RunStore(runs_dir).open(run_id).history())


def history(run_id: str) -> pd.DataFrame:
    """One row per epoch (empty frame if none)."""
    return _history(str(state.runs_dir()), run_id, _run_stamp(run_id, "history.json"))


@st.cache_data(max_entries=1024, show_spinner=False)
def _config(runs_dir: str, run_id: str, stamp: tuple) -> dict:
    return RunStore(runs_dir).open(run_id).config_dict


def run_classes(run_id: str) -> tuple[str, ...]:
    """The class names of the dataset a run learned (recorded when it started)."""
    return store().open(run_id).classes


def run_config(run_id: str) -> dict:
    """{'preset': ..., 'config': TrainConfig dict} of a run (written once, so cached)."""
    return _config(str(state.runs_dir()), run_id, _run_stamp(run_id, "config.json"))


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def _file_bytes(path: str, stamp: tuple) -> bytes:
    return Path(path).read_bytes()


def run_file(run_id: str, name: str) -> bytes | None:
    """A run's file (e.g. model.safetensors) as bytes for a download, or None if missing."""
    path = store().open(run_id).file(name)
    return _file_bytes(str(path), stamp([path])) if path.is_file() else None


def clear() -> None:
    """Forget every cached load (tests call it between apps; the job queue is kept)."""
    for cached in (_split, _evaluation, _model):
        cached.clear()
    for cached in (_verify, _mean_images, _history, _config, _file_bytes):
        cached.clear()
