"""A run's model as ONNX: (N, 784) pixels in [0, 1] → logits and class probabilities, with its classes inside.

The TorchScript exporter (`dynamo=False`) works offline and writes opset 17. ONNX fixes the rank of a graph's
input, so the graph takes (N, 784) with any N; an (N, 28, 28) batch is reshaped to (N, 784) first.
"""

from __future__ import annotations

import io
import json
import threading
import warnings

import torch
from torch import nn

from mnistlab.models.spec import INPUT_SIZE
from mnistlab.models.torch_mlp import MLP, eval_mode, output_probabilities
from mnistlab.runs.handle import Run

OPSET = 17
INPUT, OUTPUTS = "pixels", ("logits", "probabilities")
_LOCK = threading.Lock()  # the TorchScript tracer keeps global state: one export at a time (dashboard threads)


class _WithProbabilities(nn.Module):
    """The model, returning its logits and the probabilities mnistlab shows (rows sum to 1)."""

    def __init__(self, model: MLP):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x)  # (N, classes)
        return logits, output_probabilities(logits, self.model.spec.output)


def model_to_onnx(model: MLP, metadata: dict[str, str] | None = None, doc: str = "") -> bytes:
    """`model` (eval mode: dropout off, batch norm's running statistics) as ONNX bytes with `metadata` props."""
    import onnx

    model = model.cpu()
    buffer = io.BytesIO()
    with _LOCK, eval_mode(model), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter": chosen on purpose, see the docstring
        torch.onnx.export(_WithProbabilities(model), (torch.zeros(2, INPUT_SIZE),), buffer, dynamo=False,
                          opset_version=OPSET, input_names=[INPUT], output_names=list(OUTPUTS),
                          dynamic_axes={name: {0: "batch"} for name in (INPUT, *OUTPUTS)})
    proto = onnx.load_from_string(buffer.getvalue())
    proto.doc_string = doc
    for key, value in (metadata or {}).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def run_metadata(run: Run) -> dict[str, str]:
    """What the ONNX file says about where it came from; `classes` is a JSON list, index k names output k."""
    import mnistlab

    spec = run.config.model
    return {"classes": json.dumps(list(run.classes)), "run_id": run.run_id, "dataset": run.config.dataset,
            "mnistlab_version": mnistlab.__version__, "architecture": spec.describe(),
            "input": f"{INPUT}: float32 (N, {INPUT_SIZE}), pixels scaled to [0, 1] (uint8 / 255), row by row",
            "outputs": "logits: (N, classes) before the output activation; probabilities: (N, classes), rows sum "
                       "to 1", "mnistlab_spec": spec.to_json()}


def run_to_onnx(run: Run) -> bytes:
    """The final model of `run` as ONNX bytes (RunStoreError when it saved none)."""
    doc = (f"mnistlab run {run.run_id}: {run.config.model.describe()} trained on {run.config.dataset}. Input "
           f"'{INPUT}' (N, {INPUT_SIZE}) floats in [0, 1]; outputs 'logits' and 'probabilities' (N, classes); "
           "the class names are in metadata_props['classes'].")
    return model_to_onnx(run.model(device="cpu"), run_metadata(run), doc)
