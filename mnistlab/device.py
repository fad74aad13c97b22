"""The one place that picks the compute device."""

from __future__ import annotations

import torch

from mnistlab.errors import DeviceError


def cuda_available() -> bool:
    return torch.cuda.is_available()


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' → CUDA when present, else CPU; 'cuda' without a GPU → DeviceError."""
    if requested == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if requested == "cuda":
        if not cuda_available():
            raise DeviceError(
                "device 'cuda' was requested but this machine has no usable CUDA GPU "
                "(torch.cuda.is_available() is False); use --device cpu or --device auto."
            )
        return torch.device("cuda")
    if requested == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"device must be auto, cpu or cuda; got {requested!r}.")


def device_name(device: torch.device) -> str:
    """Human name: the GPU model, or the CPU thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so timings are honest (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
