"""What continuing a run needs: the training state after an epoch, captured from and restored into a stepper.

A state is named tensors (the weights `model.*`, the optimizer's moments `optim.<param>.<key>`, with EMA on
the weights' moving average `ema.*` (its copy's weights and buffers and `ema.n_averaged`), the random
generators' states `rng.*` as uint8) plus JSON-ready `meta` (epoch, step counter, learning-rate scale,
elapsed seconds, the optimizer's non-tensor values, the NumPy generator's state). No pickle anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

FORMAT = 1  # meta["format"]: bump when the layout changes


@dataclass
class TrainingState:
    """Everything needed to carry on after `epoch`, the history rows up to it and the initial weights' statistics."""

    epoch: int
    tensors: dict[str, torch.Tensor]
    meta: dict
    history: list[dict] = field(default_factory=list)  # rows 1…epoch, per-layer statistics merged in when saved
    initial: dict | None = None  # {"epoch": 0, "layers": [...]} of the first run in the line, if recorded


StateSaver = Callable[[int, dict[str, torch.Tensor], dict], None]  # (epoch, tensors, meta): store it


def capture(stepper, epoch: int, global_step: int, scale: float, elapsed: float, lr: float) -> tuple[dict, dict]:
    """(tensors, meta) of `stepper` at the end of `epoch` (CPU copies)."""
    tensors, meta = stepper.training_state()
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    meta = {"format": FORMAT, "epoch": epoch, "global_step": global_step, "lr_scale": scale,
            "elapsed_s": elapsed, "config_lr": lr, **meta}
    return tensors, meta


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's state_dict split into named tensors and JSON (momentum buffers, Adam moments and steps)."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"optim_groups": state["param_groups"], "optim_scalars": scalars}


def load_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Put back what `optimizer_state` split apart."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta.get("optim_scalars", {}).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["optim_groups"]})


def model_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The `model.*` entries of a state, under the model's own keys."""
    return {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
