"""How much memory a model needs, and whether this machine (or GPU) has it: checked before allocating."""

from __future__ import annotations

import os

import torch

from mnistlab.errors import DeviceError
from mnistlab.models.spec import MLPSpec

FLOAT_BYTES = 4
# Training keeps the weights, their gradients, up to two optimizer moments, a last-good copy and the
# per-layer statistics' copy: about six copies of the parameters.
TRAIN_COPIES = 6
HEADROOM = 0.8  # use at most this share of the memory that is free


def available_bytes(device: torch.device | str = "cpu") -> int:
    """Memory free for a new allocation on `device` (MemAvailable on Linux; the free GPU memory on CUDA)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def model_bytes(spec: MLPSpec) -> int:
    """Bytes of one float32 copy of the model's parameters."""
    return spec.parameter_count() * FLOAT_BYTES


def training_bytes(spec: MLPSpec, batch_size: int, graphs: int = 1, extra_copies: int = 0) -> int:
    """Bytes a training run needs: parameter copies plus one batch's activations (forward and backward).

    `graphs`: forward passes whose activations are alive at once (2 for VAT: the clean and the pushed batch);
    `extra_copies`: parameter copies beyond the usual six (1 for the weights' moving average).
    """
    activations = 3 * batch_size * sum(spec.sizes) * FLOAT_BYTES * graphs
    return (TRAIN_COPIES + extra_copies) * model_bytes(spec) + activations


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check_fits(needed: int, device: torch.device | str, what: str) -> None:
    """DeviceError with both numbers when `needed` bytes do not fit in what `device` has free."""
    device = torch.device(device)
    free = available_bytes(device)
    if needed > HEADROOM * free:
        where = "this GPU has" if device.type == "cuda" else "this machine has"
        raise DeviceError(f"{what} needs about {_gb(needed)}; {where} {_gb(free)} free. Use narrower or fewer "
                          "hidden layers (or a smaller batch).")


def check_model_fits(spec: MLPSpec, device: torch.device | str = "cpu") -> None:
    """Refuse to build a model whose weights alone cannot fit (a stored spec claiming billions of parameters)."""
    check_fits(model_bytes(spec), device, f"this model ({spec.parameter_count():,} parameters)")


def check_training_fits(spec: MLPSpec, batch_size: int, device: torch.device | str = "cpu", graphs: int = 1,
                        extra_copies: int = 0) -> None:
    """Refuse a run that cannot fit before anything is allocated or stored (see `training_bytes`)."""
    check_fits(training_bytes(spec, batch_size, graphs, extra_copies), device,
               f"training this model ({spec.parameter_count():,} parameters) with batch {batch_size}")
