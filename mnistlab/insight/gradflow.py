"""Gradient flow: per-layer gradient norms over the epochs, and a plain-words diagnosis of them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mnistlab.errors import RunStoreError

# Vanishing: at the last epoch, the first layer's gradient norm is at least this many times smaller than
# the output layer's. Measured on MNIST (norms of the weight gradients): healthy ReLU, tanh and shallow
# sigmoid nets sit at 0.4–8×; the 4×50 sigmoid preset (seed003-vanishing) at 113× after epoch 1, falling
# to 33–46× over its 100 epochs while it stays at 11% accuracy. Two orders of magnitude (100×) would
# miss it after epoch 4, so the line sits between the two groups.
VANISHING_RATIO = 25.0
# Exploding: the largest layer gradient norm at the last epoch is at least this many times the
# first epoch's. Cross-entropy gradients normally shrink as the model fits, so growth is a warning.
EXPLODING_GROWTH = 10.0

SQUASHING = ("sigmoid", "tanh")  # activations whose slope is ≤ 1/4 (sigmoid) or ≤ 1 and saturates (tanh)


@dataclass(frozen=True)
class GradientFlow:
    """Per-layer gradient statistics of a run, one row per epoch that recorded them."""

    epochs: list[int]
    layers: list[str]  # "layer 1" … "output"
    grad_norm: np.ndarray  # (epochs, layers) float64, NaN where missing
    update_ratio: np.ndarray  # (epochs, layers) ‖Δw‖ / ‖w‖ per epoch, NaN where missing

    def first_to_last(self, row: int = -1) -> float:
        """How many times smaller layer 1's gradient norm is than the output layer's at one epoch."""
        first, last = self.grad_norm[row, 0], self.grad_norm[row, -1]
        if first == 0:
            return math.inf
        return float(last / first)

    def weakest(self, row: int = -1) -> tuple[int, float]:
        """(index, ratio) of the hidden layer whose gradient norm is the smallest against the output layer's.

        Usually layer 1; a later one when large inputs (raw 0–255 pixels) inflate layer 1's weight gradient.
        """
        hidden = self.grad_norm[row, :-1]
        index = int(np.nanargmin(hidden))
        low, last = hidden[index], self.grad_norm[row, -1]
        return index, math.inf if low == 0 else float(last / low)


def _layer_rows(history: list[dict]) -> list[dict]:
    """Epochs with per-layer gradient statistics (not the epoch-0 row of the initial weights: no step yet)."""
    return [h for h in history if h.get("layers") and any(la.get("grad_norm") is not None for la in h["layers"])]


def gradient_flow(history: list[dict]) -> GradientFlow:
    """Gradient norms (and update ratios) per layer per epoch from a run's history."""
    rows = _layer_rows(history)
    if not rows:
        raise RunStoreError("this run has no per-layer statistics (it was imported from a download, trained before "
                            "they were recorded, or ended before its first epoch); train it again to see the "
                            "gradient flow.")
    names = [layer["name"] for layer in rows[0]["layers"]]

    def table(key: str) -> np.ndarray:
        out = np.full((len(rows), len(names)), np.nan)
        for i, row in enumerate(rows):
            for layer in row["layers"]:
                value = layer.get(key)
                if layer.get("name") in names and value is not None:
                    out[i, names.index(layer["name"])] = value
        return out

    return GradientFlow([int(r["epoch"]) for r in rows], names, table("grad_norm"), table("update_ratio"))


def _round_ratio(ratio: float) -> str:
    """Two significant figures with thousands separators: 1314.7 → '1,300'."""
    return f"{float(f'{ratio:.2g}'):,.0f}"


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


@dataclass(frozen=True)
class GradientFinding:
    """A gradient problem: what was seen, and what to try."""

    kind: str  # "exploding" | "vanishing"
    evidence: str  # e.g. "Vanishing gradients: layer 1 gets 1/1,300 of the output layer's gradient; …."
    advice: str  # e.g. "Try ReLU or batch normalisation."

    def __str__(self) -> str:
        return f"{self.evidence} {self.advice}"


LOWER_LR = "Lower the learning rate ten-fold."


def gradient_finding(history: list[dict], activation: str | None = None) -> GradientFinding | None:
    """Exploding or vanishing gradients in a run's history, or None.

    Exploding: a NaN/inf loss or gradient, or gradient norms growing ≥ EXPLODING_GROWTH× over the run.
    Vanishing: a hidden layer's gradient norm (usually layer 1's) ≥ VANISHING_RATIO× smaller than the output
    layer's at the last epoch.
    """
    for h in history:
        if h.get("train_loss") is not None and not math.isfinite(h["train_loss"]):
            return GradientFinding("exploding", f"Exploding gradients: the training loss became {h['train_loss']} "
                                   f"at epoch {h['epoch']}; each step overshoots.", LOWER_LR)
    for row in _layer_rows(history):
        if any(layer.get("grad_norm") is not None and not _finite(layer["grad_norm"]) for layer in row["layers"]):
            return GradientFinding("exploding", "Exploding gradients: a gradient became infinite or NaN at epoch "
                                   f"{row['epoch']}; each step overshoots.", LOWER_LR)
    try:
        flow = gradient_flow(history)
    except RunStoreError:
        return None
    peak = np.where(np.isnan(flow.grad_norm), -np.inf, flow.grad_norm).max(1)  # (epochs,) largest layer norm
    if len(peak) >= 2 and peak[0] > 0 and peak[-1] / peak[0] >= EXPLODING_GROWTH:
        return GradientFinding("exploding", f"Exploding gradients: the largest gradient norm grew "
                               f"{_round_ratio(peak[-1] / peak[0])}× from epoch {flow.epochs[0]} to epoch "
                               f"{flow.epochs[-1]}; the steps are too large.",
                               "Lower the learning rate ten-fold or add batch normalisation.")
    if (len(flow.layers) < 2 or not _finite(flow.grad_norm[-1, -1])
            or not np.isfinite(flow.grad_norm[-1, :-1]).any()):
        return None
    index, ratio = flow.weakest()
    if ratio < VANISHING_RATIO:
        return None
    share = "no gradient at all" if math.isinf(ratio) else f"1/{_round_ratio(ratio)} of the output layer's gradient"
    if activation in SQUASHING:
        cause, advice = f"{activation} layers squash the signal at each layer", "Try ReLU or batch normalisation."
    else:
        cause, advice = ("the signal shrinks at each layer on its way back",
                         "Try batch normalisation or He initialisation.")
    return GradientFinding("vanishing", f"Vanishing gradients: {flow.layers[index]} gets {share}; {cause}.", advice)


def diagnose_gradients(history: list[dict], activation: str | None = None) -> str | None:
    """One plain-words diagnosis when gradients explode or vanish (see `gradient_finding`), else None."""
    finding = gradient_finding(history, activation)
    return str(finding) if finding else None
