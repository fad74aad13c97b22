"""One function per Inspect figure: the dashboard draws what it returns and `mnistlab inspect --json` exports it.

Each takes a `Run` handle (`RunStore(...).open(run_id)`), the full splits it samples from where it needs
images, and the figure's options, and returns a small frozen dataclass of numbers (`jsonable` turns it
into JSON).

- `recorded`: from what training recorded: `gradflow`, `confusion` (over time), `diagnosis`.
- `weights`: from the weights of an epoch's model: `weights` (first layer as images), `histograms`.
- `forward`: running test images through the network: `projection`, `probes`, `saliency` (+ FGSM), and
  `epoch_evaluation` for the images behind a confusion cell.
- `source`: the model at an epoch (`model_at`) and the dataset's full splits (`full_split`).
"""

from mnistlab.insight.figures.forward import (
    PROBE_TEST,
    PROBE_TRAIN,
    PROJECTION_POINTS,
    ProbesFigure,
    ProjectionFigure,
    SaliencyFigure,
    balanced_sample,
    epoch_evaluation,
    probes,
    projection,
    representations,
    saliency,
)
from mnistlab.insight.figures.recorded import (
    ConfusionFigure,
    DiagnoseFigure,
    GradflowFigure,
    UnitStats,
    confusion,
    diagnosis,
    gradflow,
)
from mnistlab.insight.figures.source import full_split, last_epoch, model_at
from mnistlab.insight.figures.weights import ActivationHistogram, HistogramsFigure, WeightsFigure, histograms, weights

# Every figure `mnistlab inspect --figure` exports, in the Inspect page's order.
FIGURES = ("gradflow", "weights", "histograms", "projection", "probes", "confusion", "saliency", "diagnose")

__all__ = [
    "FIGURES", "PROBE_TEST", "PROBE_TRAIN", "PROJECTION_POINTS", "ActivationHistogram", "ConfusionFigure",
    "DiagnoseFigure", "GradflowFigure", "HistogramsFigure", "ProbesFigure", "ProjectionFigure", "SaliencyFigure",
    "UnitStats", "WeightsFigure", "balanced_sample", "confusion", "diagnosis", "epoch_evaluation", "full_split",
    "gradflow", "histograms", "last_epoch", "model_at", "probes", "projection", "representations", "saliency",
    "weights",
]
