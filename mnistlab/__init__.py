"""mnistlab: learn and experiment with multi-layer perceptrons on MNIST and Fashion-MNIST."""

from mnistlab.data import DATASETS, Split, dataset_info, is_present, load_split, resolve_data_dir
from mnistlab.errors import ConfigError, DataError, DeviceError, MnistlabError, RunStoreError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.experiment import ExperimentResult, continued_config, run_experiment
from mnistlab.export import export_run
from mnistlab.imageprep import PreparedImage, prepare_array, prepare_image
from mnistlab.models import MLP, MLPSpec, build_model
from mnistlab.predict import Prediction, predict_image, predict_run
from mnistlab.presets import PRESETS, Preset, get_preset
from mnistlab.runs.importing import import_paths
from mnistlab.runs.store import RunInfo, RunStore
from mnistlab.train.config import Augment, TrainConfig
from mnistlab.train.events import EpochEnded, Event, Paused, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.loop import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "DATASETS", "MLP", "PRESETS", "Augment", "ConfigError", "DataError", "DeviceError", "EpochEnded", "Evaluation",
    "Event", "ExperimentResult", "MLPSpec", "MnistlabError", "Paused", "Prediction", "PreparedImage", "Preset", "RunFailed", "RunFinished", "RunInfo",
    "RunStarted", "RunStore", "RunStoreError", "Split", "StepProgress", "TrainConfig", "TrainResult", "build_model", "continued_config",
    "dataset_info", "evaluate", "export_run", "get_preset", "import_paths", "is_present", "load_split", "predict_image",
    "predict_run",
    "prepare_array", "prepare_image", "resolve_data_dir", "run_experiment",
    "train",
]
