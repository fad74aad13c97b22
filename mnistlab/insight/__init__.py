"""Look inside a trained network: gradient flow, weights, representations, saliency and diagnoses.

`figures` holds one function per Inspect figure (what the dashboard draws and `inspect --json` exports);
the modules beside it hold the maths those figures are made of.
"""

from mnistlab.insight import figures
from mnistlab.insight.confusion import confusion_at, confusion_epochs
from mnistlab.insight.diagnose import Hint, apply_fix, diagnose
from mnistlab.insight.export import jsonable
from mnistlab.insight.gradflow import (
    EXPLODING_GROWTH,
    VANISHING_RATIO,
    GradientFinding,
    GradientFlow,
    diagnose_gradients,
    gradient_finding,
    gradient_flow,
)
from mnistlab.insight.layers import hidden_activations, linear_names, representation_names
from mnistlab.insight.probes import LinearProbe, ProbeResult, fit_probe, linear_probe, probe_layers
from mnistlab.insight.projection import pca, pca_2d
from mnistlab.insight.saliency import FgsmResult, fgsm_flip, saliency_map
from mnistlab.insight.tsne import tsne_2d
from mnistlab.insight.twin import find_twin, run_configs, twin_config
from mnistlab.insight.weights import WeightHistogram, WeightImages, first_layer_images, weight_histograms

__all__ = [
    "EXPLODING_GROWTH", "VANISHING_RATIO", "FgsmResult", "GradientFinding", "GradientFlow", "Hint", "LinearProbe",
    "ProbeResult", "WeightHistogram", "WeightImages", "apply_fix", "confusion_at", "confusion_epochs", "diagnose",
    "diagnose_gradients", "fgsm_flip", "figures", "find_twin", "first_layer_images", "fit_probe", "gradient_finding",
    "gradient_flow", "hidden_activations", "jsonable", "linear_names", "linear_probe", "pca", "pca_2d", "probe_layers",
    "representation_names", "run_configs", "saliency_map", "tsne_2d", "twin_config", "weight_histograms",
]
