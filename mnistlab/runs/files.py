"""Atomic file writes and safe (never pickle) model files.

Every file of a run is written beside its final name as `.<name>.<random>.tmp`, flushed to disk and
renamed over the final name: a reader, or a process killed half-way, leaves either the old file or
the new one. Leftover temp files are never read (their names are not run files) and go when the run
is deleted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from mnistlab.errors import DeviceError, RunStoreError
from mnistlab.memory import check_model_fits
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import MLP, build_model
from mnistlab.userfiles import describe, read_regular


def _replace_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Call `write(temp_path)` on a temp file beside `path`, fsync it, then rename it over `path`."""
    tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp"))
    try:
        with open(tmp, "xb"):  # created with the umask's mode, which we keep: mkstemp and safetensors use 0600,
            mode = os.stat(tmp).st_mode & 0o777  # and would hide runs from other users sharing the folder
        try:
            write(tmp)
        except SafetensorError as e:  # safetensors reports a full disk as its own error type: make it an OSError
            code = re.search(r"os error (\d+)", str(e))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from None
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: readers see the old or the new file, never half of one."""
    _replace_atomically(path, lambda tmp: Path(tmp).write_bytes(data))


def write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=1, allow_nan=True).encode())


def append_json_line(path: Path, obj) -> None:
    """Append `obj` as one JSON line, flushed to disk. A writer killed mid-line leaves a torn last line,
    which `read_json_lines` skips: appending keeps a growing log O(size), where rewriting is O(size²)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj, separators=(",", ":"), allow_nan=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_json_lines(path: Path) -> list:
    """The complete object lines of a JSON-lines file ([] if missing); a torn or damaged line is skipped."""
    if not path.is_file():
        return []
    rows = []
    text = read_regular(path, MAX_JSON_BYTES * 4, "run file", RunStoreError).decode("utf-8", errors="replace")
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(row, dict):  # a line that is null, a number or a list is damage, skipped like a torn one
            rows.append(row)
    return rows


MAX_JSON_BYTES = 64 * 2**20  # a run's largest JSON file (history of 10,000 epochs) is a few MB


def read_json(path: Path, limit: int = MAX_JSON_BYTES):
    """A run's JSON file: a regular file of at most `limit` bytes (RunStoreError otherwise)."""
    problem = describe(path)
    if problem == "not found":
        raise RunStoreError(f"{path} is missing.")
    data = read_regular(path, limit, "run file", RunStoreError)
    try:
        return json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise RunStoreError(f"{path} is not valid JSON ({str(e)[:120]}).") from None


def save_model(path: Path, model: MLP) -> None:
    """Weights as safetensors; the spec goes into the file's metadata as JSON."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": "pt", "mnistlab_spec": model.spec.to_json()}
    _replace_atomically(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


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
    try:
        check_model_fits(spec)
    except DeviceError as e:
        raise RunStoreError(f"{path}: {e}") from None
    model = build_model(spec)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[:3]
        raise RunStoreError(f"{path}: weights do not match the config {spec.describe()!r} (e.g. {diff}).")
    model.load_state_dict(tensors)
    return model.to(device)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Named CPU tensors as safetensors, atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    _replace_atomically(path, lambda tmp: save_file(tensors, tmp))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Named tensors from a safetensors file (never pickle), on the CPU."""
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise RunStoreError(f"{path}: not a readable safetensors file ({e}).") from None


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    _replace_atomically(path, lambda tmp: save_numpy(contiguous, tmp))


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return load_numpy(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise RunStoreError(f"{path}: not a readable safetensors file ({e}).") from None
