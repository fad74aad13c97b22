"""Cached loads and analyses for the Inspect and Draw pages: computed once per run (and epoch), then instant.

Keys carry the run folder's file stamps, so a run that is still training is re-read when it saves an epoch.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from mnistlab.data.split import Split
from mnistlab.evaluate import evaluate
from mnistlab.insight import hidden_activations, pca_2d, probe_layers, tsne_2d
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.record import EPOCHS_DIR, LAYER_STATS
from mnistlab.runs.store import RunStore
from ui import cache, state

PROJECTION_IMAGES = 2000  # test images in a PCA / t-SNE plot: enough to see clusters, t-SNE in seconds
PROBE_TRAIN, PROBE_TEST = 5000, 2000  # class-balanced samples a linear probe is fitted and scored on


def _stamp(run_id: str) -> tuple:
    """Identity of what a run has written so far: history, statistics, final model, epoch snapshots."""
    run = cache.store().open(run_id)
    return run.stamp("history.json", LAYER_STATS, "model.safetensors", EPOCHS_DIR)


@st.cache_data(max_entries=32, show_spinner=False)
def _history(runs_dir: str, run_id: str, stamp: tuple) -> list[dict]:
    return RunStore(runs_dir).open(run_id).history(layer_stats=True)


def history(run_id: str) -> list[dict]:
    """history.json's rows, preceded by the epoch-0 row of initial statistics when recorded."""
    return _history(str(state.runs_dir()), run_id, _stamp(run_id))


def epochs(run_id: str) -> list[int]:
    """Epochs with saved weights (0 = initialisation), ascending."""
    return cache.store().open(run_id).saved_epochs


@st.cache_resource(max_entries=24, show_spinner="Loading the weights of that epoch…")
def _epoch_model(runs_dir: str, run_id: str, epoch: int) -> MLP:
    return RunStore(runs_dir).open(run_id).model(epoch=epoch).eval()  # written once: no stamp needed


def model_at(run_id: str, epoch: int | None) -> MLP | None:
    """The run's model after `epoch` (None: the final saved model)."""
    if epoch is None:
        return cache.model(run_id)
    return _epoch_model(str(state.runs_dir()), run_id, epoch)


def test_split(dataset: str) -> Split | None:
    return cache.split(dataset, "test") if cache.present(dataset) else None


@st.cache_data(max_entries=64, show_spinner="Classifying the test images with that epoch's weights…")
def _predictions(runs_dir: str, run_id: str, epoch: int, dataset: str, data_dir: str) -> np.ndarray:
    return evaluate(_epoch_model(runs_dir, run_id, epoch), cache.split(dataset, "test")).predictions


def predictions_at(run_id: str, epoch: int, dataset: str) -> np.ndarray:
    """Predicted class of every test image by the weights of `epoch`."""
    return _predictions(str(state.runs_dir()), run_id, epoch, dataset, str(state.data_dir()))


@st.cache_data(max_entries=32, show_spinner="Projecting the hidden layer…")
def _projection(runs_dir: str, run_id: str, epoch: int | None, layer: int, method: str, dataset: str,
                stamp: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = model_at(run_id, epoch)
    test = cache.split(dataset, "test")
    gen = torch.Generator().manual_seed(0)
    indices = torch.randperm(len(test), generator=gen)[:PROJECTION_IMAGES].sort().values  # the same images each time
    sample = test.take(indices)
    feats = hidden_activations(model, sample.images, layer)
    points = pca_2d(feats) if method == "pca" else tsne_2d(feats, seed=0)
    return points, sample.labels.numpy(), indices.numpy()


def projection(run_id: str, epoch: int | None, layer: int, method: str, dataset: str):
    """(points (N, 2), labels (N,), test indices (N,)) of a hidden layer's activations on test images."""
    # A saved epoch's weights never change; only the final model's cache must follow the run's files.
    return _projection(str(state.runs_dir()), run_id, epoch, layer, method, dataset,
                       _stamp(run_id) if epoch is None else ())


@st.cache_data(max_entries=128, show_spinner=False)
def _probes(runs_dir: str, run_id: str, epoch: int | None, dataset: str, stamp: tuple) -> list[tuple[str, float]]:
    model = model_at(run_id, epoch)
    results = probe_layers(model, cache.split(dataset, "train"), cache.split(dataset, "test"), PROBE_TRAIN, PROBE_TEST)
    return [(r.name, r.test_accuracy) for r in results]


def probes(run_id: str, epoch: int | None, dataset: str) -> list[tuple[str, float]]:
    """(representation name, linear-probe test accuracy) for pixels and each hidden layer."""
    return _probes(str(state.runs_dir()), run_id, epoch, dataset, _stamp(run_id) if epoch is None else ())
