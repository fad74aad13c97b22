"""Evaluation maths on a model whose answers are known."""

import numpy as np
import pytest
import torch

from mnistlab.data.split import Split
from mnistlab.evaluate import confusion_matrix, evaluate
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model


def rigged_model():
    """A logistic regression that predicts class (pixel[0,0] // 10) with growing confidence."""
    model = build_model(MLPSpec(hidden=()))
    with torch.no_grad():
        layer = model.layers[0]
        layer.weight.zero_()
        layer.bias.zero_()
        # logit_c = w_c * x0 + b_c, peaked at c = x0*255 // 10 for x0 in steps of 10/255
        centers = torch.arange(10, dtype=torch.float32) * 10 / 255 + 5 / 255
        layer.weight[:, 0] = 2 * 2000 * centers
        layer.bias[:] = -2000 * centers**2
    return model


def split_with(first_pixels, labels):
    images = torch.zeros(len(labels), 28, 28, dtype=torch.uint8)
    images[:, 0, 0] = torch.tensor(first_pixels, dtype=torch.uint8)
    return Split(images, torch.tensor(labels, dtype=torch.int64))


def test_accuracy_confusion_and_per_class_accuracy():
    # predicted classes 0,1,2,3,3 (pixel 38 is nearest the class-3 centre) against labels 0,1,2,3,4
    split = split_with([5, 15, 25, 35, 38], [0, 1, 2, 3, 4])
    ev = evaluate(rigged_model(), split)
    assert ev.predictions.tolist() == [0, 1, 2, 3, 3]
    assert ev.accuracy == pytest.approx(0.8)
    assert ev.confusion[4, 3] == 1 and ev.confusion.trace() == 4 and ev.confusion.sum() == 5
    assert ev.per_class_accuracy[:5] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert np.allclose(ev.probabilities.sum(1), 1.0, atol=1e-5)
    assert ev.cell(4, 3).tolist() == [4]
    assert ev.top_k(0, 3)[0][0] == 0


def test_mistakes_are_sorted_by_confidence():
    # both wrong; the one nearer a class centre is the more confident mistake
    split = split_with([38, 31, 55], [0, 0, 5])
    ev = evaluate(rigged_model(), split)
    assert ev.mistakes().tolist() == [0, 1]
    assert ev.confidence[0] > ev.confidence[1]


def test_confusion_matrix_counts():
    m = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_worst_cell_and_cell_indices_are_the_one_picker_the_pages_use():
    import numpy as np

    from mnistlab.evaluate import cell_indices, worst_cell

    confusion = np.array([[5, 1, 0], [3, 4, 0], [0, 2, 6]])
    assert worst_cell(confusion) == (1, 0)  # the most frequent mistake
    assert worst_cell(np.diag([1, 7, 2])) == (1, 1)  # no mistake: the fullest diagonal cell
    labels, predictions = np.array([0, 1, 1, 2, 1]), np.array([0, 0, 1, 1, 0])
    assert cell_indices(labels, predictions, 1, 0).tolist() == [1, 4]


def test_class_means_are_each_class_average_image():
    import numpy as np
    import torch

    from mnistlab.data.split import Split

    images = torch.zeros(4, 28, 28, dtype=torch.uint8)
    images[0], images[1], images[2] = 100, 200, 50
    split = Split(images, torch.tensor([0, 0, 1, 2]), classes=("a", "b", "c"))
    means = split.class_means()
    assert means.shape == (3, 28, 28) and np.allclose(means[0], 150) and np.allclose(means[1], 50)
    assert np.allclose(means[2], 0)
