"""Figures of what training recorded: gradient flow, confusion over time and the diagnosis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mnistlab.insight.confusion import confusion_at, confusion_epochs
from mnistlab.insight.diagnose import Hint, diagnose
from mnistlab.insight.gradflow import diagnose_gradients, gradient_flow
from mnistlab.runs.handle import Run


@dataclass(frozen=True)
class UnitStats:
    """One hidden layer's units at the last recorded epoch, on the trainer's probe batch."""

    layer: str
    units: int | None
    dead_fraction: float | None  # ReLU units never active (None for other activations)
    saturated_fraction: float | None  # sigmoid/tanh units stuck near their limits (None for others)
    act_mean: float | None
    act_std: float | None


@dataclass(frozen=True)
class GradflowFigure:
    """Per-layer gradient norms and update ratios over the epochs, and what they say."""

    epochs: list[int]
    layers: list[str]  # "layer 1" … "output"
    grad_norm: np.ndarray  # (epochs, layers) ‖∂loss/∂W‖, NaN where missing
    update_ratio: np.ndarray  # (epochs, layers) ‖ΔW‖ / ‖W‖, NaN where missing
    first_to_last: float  # the output layer's gradient norm / layer 1's at the last epoch (inf: layer 1 got none)
    diagnosis: str | None  # exploding or vanishing gradients, with what to try; None when healthy
    reach: str | None  # the healthy run's sentence (None with a diagnosis, or with a single layer)
    units: list[UnitStats]


def _relative(ratio: float) -> str:
    """'about the same size as' / '1/40 of' / '3× the size of' for output / layer-1 gradient `ratio`."""
    if not math.isfinite(ratio):
        return "none of"
    if ratio <= 0:
        return "far larger than"
    if 0.5 <= ratio <= 2:
        return "about the same size as"
    return f"1/{ratio:,.0f} of" if ratio > 2 else f"{1 / ratio:,.1f}× the size of"


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def gradflow(run: Run) -> GradflowFigure:
    """The gradient-flow figure (RunStoreError when the run recorded no per-layer statistics)."""
    history = run.history(layer_stats=True)
    flow = gradient_flow(history)
    diagnosis = diagnose_gradients(history, run.config.model.activation)
    ratio = flow.first_to_last()
    reach = (f"Gradients reach every layer: at the last epoch the first layer's gradient is {_relative(ratio)} "
             "the output layer's." if diagnosis is None and len(flow.layers) >= 2 else None)
    last = next((h["layers"] for h in reversed(history) if isinstance(h.get("layers"), list)), [])
    units = [UnitStats(la["name"], (la.get("shape") or [None])[0], _number(la.get("dead_fraction")),
                       _number(la.get("saturated_fraction")), _number(la.get("act_mean")), _number(la.get("act_std")))
             for la in last if isinstance(la, dict) and la.get("name") not in (None, "output")]
    return GradflowFigure(flow.epochs, flow.layers, flow.grad_norm, flow.update_ratio, ratio, diagnosis, reach, units)


@dataclass(frozen=True)
class ConfusionFigure:
    """The test confusion matrix recorded after one epoch, and the epochs that have one."""

    epoch: int
    epochs: list[int]
    matrix: np.ndarray  # (classes, classes) int64, rows = true class


def confusion(run: Run, epoch: int | None = None) -> ConfusionFigure:
    """The confusion over time at `epoch` (default the last recorded one)."""
    history = run.history(layer_stats=True)
    matrix = confusion_at(history, epoch)  # raises when none was recorded, or not at `epoch`
    epochs = confusion_epochs(history)
    return ConfusionFigure(epochs[-1] if epoch is None else epoch, epochs, matrix)


@dataclass(frozen=True)
class DiagnoseFigure:
    """Hints for a run, most urgent first, judged on its finished epochs."""

    epochs: int  # finished epochs judged; 0: nothing to diagnose yet (and no hints)
    hints: list[Hint]


def diagnosis(run: Run) -> DiagnoseFigure:
    """The diagnosis of a run's finished epochs (the epoch-0 row of initial statistics is left out)."""
    rows = [h for h in run.history(layer_stats=True) if isinstance(h.get("epoch"), int) and h["epoch"] >= 1]
    if not rows:
        return DiagnoseFigure(0, [])
    return DiagnoseFigure(len(rows), diagnose(run.config, rows, status=run.info.status))
