"""Take a run away: as ONNX (`onnx_export`), as a plain-PyTorch training script (`script_export`), or as its
weights and config (`bundle`), which `python -m mnistlab runs import` (`mnistlab.runs.importing`) takes back."""

from mnistlab.export.bundle import bundle_names, config_json, weights_bytes, write_bundle
from mnistlab.export.formats import FORMATS, export_run
from mnistlab.export.onnx_export import model_to_onnx, run_to_onnx
from mnistlab.export.script_export import run_script, script_for

__all__ = ["FORMATS", "bundle_names", "config_json", "export_run", "model_to_onnx", "run_script", "run_to_onnx", "script_for",
           "weights_bytes", "write_bundle"]
