"""`export_run`: write a stored run as ONNX, as a plain-PyTorch script, or as its weights and config."""

from __future__ import annotations

from pathlib import Path

from mnistlab.errors import ConfigError
from mnistlab.export.bundle import write_bundle
from mnistlab.export.onnx_export import run_to_onnx
from mnistlab.export.script_export import run_script
from mnistlab.runs.files import write_atomic
from mnistlab.runs.store import RunStore
from mnistlab.userfiles import short

FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors", "script": ".py"}  # format → file suffix


def output_path(run_id: str, fmt: str, out: str | Path | None = None) -> Path:
    """Where `fmt` goes: `out` (a file, or a folder for the default name), else `<run_id><suffix>` here."""
    suffix = FORMATS[fmt]
    path = Path(out) if out else Path(f"{run_id}{suffix}")
    if path.is_dir():
        path = path / f"{run_id}{suffix}"
    if path.suffix.lower() != suffix:
        raise ConfigError(f"--out {short(str(path))} must end in {suffix} for --format {fmt}; name the file "
                          f"{short(path.with_suffix(suffix).name)} or pass a folder.")
    if not path.parent.is_dir():
        raise ConfigError(f"the folder {short(str(path.parent))} for --out does not exist; create it first or "
                          "choose another --out.")
    return path


def export_run(store: RunStore, run_id: str, fmt: str, out: str | Path | None = None) -> list[Path]:
    """Write run `run_id` in format `fmt` ('onnx', 'safetensors', 'script'); returns the files written."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got {short(fmt)}.")
    run = store.open(run_id)
    path = output_path(run.run_id, fmt, out)
    if fmt == "safetensors":
        return write_bundle(run, path)
    data = run_to_onnx(run) if fmt == "onnx" else run_script(run, path.name).encode()
    write_atomic(path, data)
    return [path]
