"""A run to hand out: its weights exactly as stored plus its config JSON, the two files `runs import` takes back."""

from __future__ import annotations

import json
from pathlib import Path

from mnistlab.errors import RunStoreError
from mnistlab.runs.bundle_check import weights_limit
from mnistlab.runs.files import write_atomic
from mnistlab.runs.handle import MODEL, Run
from mnistlab.userfiles import read_regular


def config_document(run: Run) -> dict:
    """The run's config.json plus what an importer needs: its classes, id and epochs trained."""
    import mnistlab

    return {"preset": run.preset, "config": run.config_dict.get("config"), "classes": list(run.classes),
            "run_id": run.run_id, "epochs_done": run.info.epochs_done, "mnistlab_version": mnistlab.__version__}


def config_json(run: Run) -> str:
    """`config_document` as indented JSON (the Results page's "Config (JSON)" download)."""
    return json.dumps(config_document(run), indent=2)


def weights_bytes(run: Run) -> bytes:
    """The run's model.safetensors, byte for byte (RunStoreError when it saved none)."""
    if not run.has_model:
        raise RunStoreError(f"run {run.run_id} has no saved model (status {run.status}); export a finished run.")
    return read_regular(run.file(MODEL), weights_limit(run.config.model), "model file", RunStoreError)


def bundle_names(run_id: str) -> tuple[str, str]:
    """(weights, config) file names, as the Results page downloads them."""
    return f"{run_id}.safetensors", f"{run_id}-config.json"


def write_bundle(run: Run, weights_path: Path) -> list[Path]:
    """Write the weights to `weights_path` and the config beside it as `<stem>-config.json`."""
    config_path = weights_path.with_name(f"{weights_path.stem}-config.json")
    write_atomic(weights_path, weights_bytes(run))
    write_atomic(config_path, config_json(run).encode())
    return [weights_path, config_path]
