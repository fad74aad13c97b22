"""Check a downloaded run's two files, as untrusted input: its config JSON and its safetensors weights.

The config is a run's config.json as the Results page downloads it ({"preset", "config", "classes", …}) or a
bare TrainConfig object. The weights must be exactly the tensors (names, shapes, dtypes) of the network the config
describes, finite, in a safetensors file: a pickle or torch.save file is named and never opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from mnistlab.configs import parse_json
from mnistlab.data.datasets import DATASETS
from mnistlab.errors import ConfigError, RunStoreError
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import MLP, build_model
from mnistlab.presets import PRESETS
from mnistlab.runs.store import RUN_ID
from mnistlab.train.config import TrainConfig
from mnistlab.userfiles import short

DOCUMENT_KEYS = {"preset", "config", "classes", "run_id", "epochs_done", "mnistlab_version"}
HEADER_SLACK = 1 << 20  # bytes beyond the tensors for the safetensors header (mnistlab's own is under 4 KB)
MAX_CLASS_NAME = 64
PICKLE_MARKS = (b"\x80", b"PK\x03\x04")  # a pickle (protocol 2+), a torch.save zip archive


@dataclass(frozen=True)
class Bundle:
    """A checked config document: what the run was, what its outputs mean and where it came from."""

    config: TrainConfig
    preset: str | None = None
    classes: tuple[str, ...] | None = None  # None: not recorded in the file
    run_id: str = ""  # the run's id in the store it was downloaded from
    epochs_done: int | None = None


def read_document(name: str, data: bytes) -> Bundle:
    """The config file `name` (its bytes `data`) checked field by field; ConfigError naming it otherwise."""
    what = f"config file {short(name)}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} is not UTF-8 text (byte {e.start}); download the run's config again from "
                          "its Results page.") from None
    doc = parse_json(text, what)
    if not isinstance(doc, dict):
        raise ConfigError(f"{what} must hold a JSON object, as the Results page's 'Config (JSON)' download does.")
    if "config" not in doc:  # a bare TrainConfig, as `train --config` takes
        doc = {"config": doc}
    unknown = sorted(set(doc) - DOCUMENT_KEYS)
    if unknown:
        raise ConfigError(f"{what} has unknown key(s) {', '.join(map(short, unknown[:5]))}; it should be a run's "
                          "config as the Results page downloads it.")
    try:
        config = TrainConfig.from_dict(doc["config"])
    except ConfigError as e:
        raise ConfigError(f"{what}: {e}") from None
    preset = doc.get("preset")
    if preset is not None and (not isinstance(preset, str) or preset not in PRESETS):
        raise ConfigError(f"{what} names preset {short(str(preset))}, which mnistlab does not have; set \"preset\" "
                          "to null.")
    run_id = doc.get("run_id", "")
    if not isinstance(run_id, str) or (run_id and not RUN_ID.fullmatch(run_id)):
        raise ConfigError(f"{what} has run_id {short(str(run_id))}, which is not a run id; remove it.")
    done = doc.get("epochs_done")
    if done is not None and (isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= config.epochs):
        raise ConfigError(f"{what} has epochs_done {short(str(done))}; it must be a whole number from 0 to the "
                          f"config's {config.epochs} epochs.")
    return Bundle(config, preset, _classes(what, doc.get("classes"), config), run_id, done)


def _classes(what: str, names, config: TrainConfig) -> tuple[str, ...] | None:
    """The class names recorded in the file, checked against the network's outputs and a built-in's names."""
    outputs = config.model.outputs
    builtin = DATASETS.get(config.dataset)
    if builtin is not None and outputs != len(builtin.classes):
        raise ConfigError(f"{what}: {config.dataset} has {len(builtin.classes)} classes but the network has "
                          f"{outputs} outputs; download the run's config again.")
    if names is None:
        return builtin.classes if builtin else None
    if (not isinstance(names, list) or len(names) != outputs or len(set(map(str, names))) != len(names)
            or not all(isinstance(c, str) and 0 < len(c) <= MAX_CLASS_NAME for c in names)):
        raise ConfigError(f"{what}: classes must be {outputs} different names (one per output, up to "
                          f"{MAX_CLASS_NAME} characters each); download the run's config again.")
    if builtin is not None and tuple(names) != builtin.classes:
        raise ConfigError(f"{what}: its classes are not {config.dataset}'s ({', '.join(builtin.classes[:4])} …); "
                          "download the run's config again.")
    return tuple(names)


def expected_tensors(spec: MLPSpec) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """name → (shape, dtype) of every tensor in `spec`'s state dict, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = build_model(spec)
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def weights_limit(spec: MLPSpec) -> int:
    """The most bytes a safetensors file of `spec`'s weights can take: its tensors plus a header."""
    return sum(_numel(shape) * torch.empty((), dtype=dtype).element_size()
               for shape, dtype in expected_tensors(spec).values()) + HEADER_SLACK


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for n in shape:
        count *= n
    return count


def check_size(name: str, size: int, spec: MLPSpec) -> None:
    """RunStoreError when `size` bytes is more than a safetensors file of `spec`'s weights can take."""
    limit = weights_limit(spec)
    if size > limit:
        raise RunStoreError(f"weights file {short(name)} is {size:,} bytes; the limit is {limit:,} for the network "
                            f"{spec.describe()!r} of its config: pass the config downloaded with these weights.")


def read_weights(name: str, data: bytes, spec: MLPSpec) -> MLP:
    """The model `spec` with the weights of safetensors file `name` (bytes `data`); RunStoreError naming it."""
    what = f"weights file {short(name)}"
    if data.startswith(PICKLE_MARKS):
        raise RunStoreError(f"{what} is a pickle (torch.save) file, which mnistlab never opens because loading one "
                            "can run any code; download the run's weights as .safetensors from its Results page.")
    check_size(name, len(data), spec)
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError, OverflowError) as e:
        raise RunStoreError(f"{what} is not a readable safetensors file ({short(str(e), 100)}); download the "
                            "run's weights again.") from None
    _check_spec(what, _metadata(data), spec)
    expected = expected_tensors(spec)
    found = {k: (tuple(v.shape), v.dtype) for k, v in tensors.items()}
    if found != expected:
        raise RunStoreError(f"{what} does not hold the network {spec.describe()!r} of its config ({_difference(found, expected)}); "
                            "pass the config downloaded with these weights.")
    if not all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point()):
        raise RunStoreError(f"{what} holds NaN or infinite weights; import a run that trained without diverging.")
    model = build_model(spec)
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def _metadata(data: bytes) -> dict:
    """The header's __metadata__ (safetensors has already checked that the header is valid JSON)."""
    size = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + size]).get("__metadata__") or {}
    return metadata if isinstance(metadata, dict) else {}


def _check_spec(what: str, metadata: dict, spec: MLPSpec) -> None:
    """The network recorded inside the weights (mnistlab writes it) must be the config's."""
    recorded = metadata.get("mnistlab_spec")
    if recorded is None:
        return  # weights written by something else: the tensor check below is the whole check
    try:
        saved = MLPSpec.from_json(recorded)
    except ConfigError as e:
        raise RunStoreError(f"{what} records a network mnistlab cannot read ({short(str(e), 100)}); download the "
                            "run's weights again.") from None
    if saved != spec:
        raise RunStoreError(f"{what} was saved for the network {saved.describe()!r} but its config describes "
                            f"{spec.describe()!r}; pass the config downloaded with these weights.")


def _difference(found: dict, expected: dict) -> str:
    """The first disagreement between two {name: (shape, dtype)} tables, in words."""
    for name in expected:
        if name not in found:
            return f"{name} is missing"
        if found[name] != expected[name]:
            (shape, dtype), (want, want_dtype) = found[name], expected[name]
            return (f"{name} is {shape} {str(dtype).removeprefix('torch.')}, the config needs {want} "
                    f"{str(want_dtype).removeprefix('torch.')}")
    extra = sorted(set(found) - set(expected))
    return f"{short(extra[0])} is not part of it" if extra else "they differ"
