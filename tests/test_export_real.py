"""Export on the real MNIST (../shared/data): a 1-epoch `fast` run's ONNX file agrees on all 10,000 test images."""

import numpy as np
import pytest
import torch
from test_export import onnx_outputs

from mnistlab.data.load import load_split
from mnistlab.experiment import run_experiment
from mnistlab.export import run_to_onnx
from mnistlab.presets import get_preset
from mnistlab.runs.store import RunStore

pytestmark = pytest.mark.integration


def test_a_fast_runs_onnx_gives_its_predictions_on_the_10000_test_images(real_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = get_preset("fast").config.with_(epochs=1, device="cpu")
    outcome = run_experiment(config, preset="fast", store=store, data_dir=real_data_dir)
    assert outcome.evaluation.accuracy > 0.95
    run = store.open(outcome.run_id)
    test = load_split("mnist", "test", real_data_dir)
    pixels = test.images.reshape(len(test), 784).float() / 255  # (10000, 784)
    logits, probabilities = onnx_outputs(run_to_onnx(run), pixels.numpy())
    with torch.no_grad():
        reference = run.model().eval()(pixels).numpy()
    assert len(logits) == 10_000
    assert (logits.argmax(1) == outcome.evaluation.predictions).all()
    assert np.abs(logits - reference).max() < 1e-4
    assert np.abs(probabilities - outcome.evaluation.probabilities).max() < 1e-5
