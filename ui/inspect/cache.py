"""The Inspect figures, cached: each wraps one `mnistlab.insight.figures` function and computes nothing itself.

Keys carry the run folder's file stamps, so a run that is still training is re-read when it saves an epoch.
Projections, probes and predictions of a saved epoch depend on its weights only, which never change, so
they skip the stamp. Figures that need images get `ui.cache`'s full splits, keyed by the dataset files' stamp.
"""

from __future__ import annotations

import streamlit as st

from mnistlab.data.split import Split
from mnistlab.evaluate import Evaluation
from mnistlab.insight import figures
from mnistlab.runs.handle import Run
from mnistlab.runs.record import EPOCHS_DIR, LAYER_STATS
from mnistlab.runs.store import RunStore
from ui import cache, state


def _open(runs_dir: str, run_id: str) -> Run:
    return RunStore(runs_dir).open(run_id)


def _runs() -> str:
    return str(state.runs_dir())


def _stamp(run_id: str) -> tuple:
    """Identity of what a run has written so far: history, statistics, final model, epoch snapshots."""
    return cache.store().open(run_id).stamp("history.json", LAYER_STATS, "model.safetensors", EPOCHS_DIR)


def _weights_stamp(run_id: str, epoch: int | None) -> tuple:
    return _stamp(run_id) if epoch is None else ()  # a saved epoch's weights are written once


def epochs(run_id: str) -> list[int]:
    """Epochs with saved weights (0 = initialisation), ascending."""
    return cache.store().open(run_id).saved_epochs


def has_model(run_id: str) -> bool:
    return cache.store().open(run_id).has_model


def test_split(dataset: str) -> Split | None:
    """The full test split the figures sample from, or None while it is not downloaded."""
    return cache.split(dataset, "test") if cache.present(dataset) else None


@st.cache_data(max_entries=32, show_spinner=False)
def _gradflow(runs_dir: str, run_id: str, stamp: tuple) -> figures.GradflowFigure:
    return figures.gradflow(_open(runs_dir, run_id))


def gradflow(run_id: str) -> figures.GradflowFigure:
    return _gradflow(_runs(), run_id, _stamp(run_id))


@st.cache_data(max_entries=64, show_spinner=False)
def _confusion(runs_dir: str, run_id: str, epoch: int | None, stamp: tuple) -> figures.ConfusionFigure:
    return figures.confusion(_open(runs_dir, run_id), epoch)


def confusion(run_id: str, epoch: int | None) -> figures.ConfusionFigure:
    return _confusion(_runs(), run_id, epoch, _stamp(run_id))


@st.cache_data(max_entries=32, show_spinner=False)
def _diagnosis(runs_dir: str, run_id: str, stamp: tuple) -> figures.DiagnoseFigure:
    return figures.diagnosis(_open(runs_dir, run_id))


def diagnosis(run_id: str) -> figures.DiagnoseFigure:
    return _diagnosis(_runs(), run_id, _stamp(run_id))


@st.cache_data(max_entries=24, show_spinner="Loading the weights of that epoch…")
def _weights(runs_dir: str, run_id: str, epoch: int | None, stamp: tuple) -> figures.WeightsFigure:
    return figures.weights(_open(runs_dir, run_id), epoch)


def weights(run_id: str, epoch: int | None) -> figures.WeightsFigure:
    return _weights(_runs(), run_id, epoch, _weights_stamp(run_id, epoch))


@st.cache_data(max_entries=24, show_spinner=False)
def _histograms(runs_dir: str, run_id: str, epoch: int | None, stamp: tuple) -> figures.HistogramsFigure:
    return figures.histograms(_open(runs_dir, run_id), epoch)


def histograms(run_id: str, epoch: int | None) -> figures.HistogramsFigure:
    return _histograms(_runs(), run_id, epoch, _stamp(run_id))  # activations come from the history


@st.cache_data(max_entries=64, show_spinner=False)
def _representations(runs_dir: str, run_id: str, epoch: int | None, stamp: tuple) -> list[str]:
    return figures.representations(_open(runs_dir, run_id), epoch)


def representations(run_id: str, epoch: int | None) -> list[str]:
    return _representations(_runs(), run_id, epoch, _weights_stamp(run_id, epoch))


@st.cache_data(max_entries=32, show_spinner="Projecting the hidden layer…")
def _projection(runs_dir: str, run_id: str, epoch: int | None, layer: int, method: str, dataset: str,
                stamp: tuple, data: tuple) -> figures.ProjectionFigure:
    return figures.projection(_open(runs_dir, run_id), cache.split(dataset, "test"), epoch, layer, method)


def projection(run_id: str, epoch: int | None, layer: int, method: str, dataset: str) -> figures.ProjectionFigure:
    return _projection(_runs(), run_id, epoch, layer, method, dataset, _weights_stamp(run_id, epoch),
                       cache.data_stamp(dataset))


@st.cache_data(max_entries=128, show_spinner=False)
def _probes(runs_dir: str, run_id: str, epoch: int | None, dataset: str, stamp: tuple,
            data: tuple) -> figures.ProbesFigure:
    return figures.probes(_open(runs_dir, run_id), cache.split(dataset, "train"), cache.split(dataset, "test"), epoch)


def probes(run_id: str, epoch: int | None, dataset: str) -> figures.ProbesFigure:
    return _probes(_runs(), run_id, epoch, dataset, _weights_stamp(run_id, epoch), cache.data_stamp(dataset))


@st.cache_data(max_entries=64, show_spinner=False)
def _saliency(runs_dir: str, run_id: str, index: int, dataset: str, stamp: tuple,
              data: tuple) -> figures.SaliencyFigure:
    return figures.saliency(_open(runs_dir, run_id), cache.split(dataset, "test"), index)


def saliency(run_id: str, index: int, dataset: str) -> figures.SaliencyFigure:
    """Saliency and FGSM of test image `index` for the run's final model."""
    return _saliency(_runs(), run_id, index, dataset, _stamp(run_id), cache.data_stamp(dataset))


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="Classifying the test images with that epoch's weights…")
def _epoch_evaluation(runs_dir: str, run_id: str, epoch: int, dataset: str, stamp: tuple,
                      data: tuple) -> Evaluation:
    return figures.epoch_evaluation(_open(runs_dir, run_id), cache.split(dataset, "test"), epoch)


def epoch_evaluation(run_id: str, epoch: int, dataset: str) -> Evaluation:
    """The weights of `epoch` on the test images the run scored then (for the images behind a confusion cell)."""
    return _epoch_evaluation(_runs(), run_id, epoch, dataset, _weights_stamp(run_id, epoch),
                             cache.data_stamp(dataset))
