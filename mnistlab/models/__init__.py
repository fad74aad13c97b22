"""MLP architectures: the spec, the PyTorch module and the from-scratch NumPy engine."""

from mnistlab.models.spec import ACTIVATIONS, INITS, NORMS, OUTPUTS, MLPSpec
from mnistlab.models.torch_mlp import MLP, build_model, output_probabilities

__all__ = ["ACTIVATIONS", "INITS", "MLP", "MLPSpec", "NORMS", "OUTPUTS", "build_model", "output_probabilities"]
