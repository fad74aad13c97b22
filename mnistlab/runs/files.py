"""Atomic file writes and safe (never pickle) model files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from mnistlab.errors import RunStoreError
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import MLP, build_model


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=1, allow_nan=True).encode())


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunStoreError(f"{path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunStoreError(f"{path} is not valid JSON ({e}).") from None


def save_model(path: Path, model: MLP) -> None:
    """Weights as safetensors; the spec goes into the file's metadata as JSON."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt", "mnistlab_spec": model.spec.to_json()})
    os.replace(tmp, path)


def load_model(path: Path, spec: MLPSpec | None = None, device: str | torch.device = "cpu") -> MLP:
    """Load a safetensors model; refuses anything else (pickle files are never opened)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise RunStoreError(f"{path}: only .safetensors model files are loaded (pickle/.pt files are refused for safety).")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise RunStoreError(f"{path}: not a readable safetensors file ({e}).") from None
    if spec is None:
        if "mnistlab_spec" not in meta:
            raise RunStoreError(f"{path}: has no mnistlab_spec metadata; pass the model config alongside it.")
        spec = MLPSpec.from_json(meta["mnistlab_spec"])
    model = build_model(spec)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[:3]
        raise RunStoreError(f"{path}: weights do not match the config {spec.describe()!r} (e.g. {diff}).")
    model.load_state_dict(tensors)
    return model.to(device)


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_numpy({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp))
    os.replace(tmp, path)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return load_numpy(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise RunStoreError(f"{path}: not a readable safetensors file ({e}).") from None
