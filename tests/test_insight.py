"""Insight analyses on tiny nets with known answers: weights, activations, PCA, t-SNE, probes, saliency, FGSM."""

import numpy as np
import pytest
import torch
from conftest import synthetic_images

from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.insight import (
    fgsm_flip,
    first_layer_images,
    fit_probe,
    hidden_activations,
    linear_probe,
    pca,
    pca_2d,
    probe_layers,
    saliency_map,
    tsne_2d,
    weight_histograms,
)
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model


def model_of(seed=0, **spec):
    torch.manual_seed(seed)
    return build_model(MLPSpec(**spec))


def test_first_layer_images_are_the_weight_rows_with_a_symmetric_limit():
    model = model_of(hidden=(7, 5))
    result = first_layer_images(model)
    w = model.layers[0].weight.detach().numpy()
    assert result.layer == "layer 1" and result.images.shape == (7, 28, 28)
    np.testing.assert_array_equal(result.images.reshape(7, 784), w)
    assert result.limit == pytest.approx(np.quantile(np.abs(w), 0.99))


def test_without_a_hidden_layer_the_images_are_the_ten_output_rows():
    model = model_of(hidden=())
    result = first_layer_images(model)
    assert result.layer == "output" and result.images.shape == (10, 28, 28)
    np.testing.assert_array_equal(result.images[3].flatten(), model.layers[0].weight[3].detach().numpy())


def test_weight_histograms_count_every_weight_of_every_layer():
    model = model_of(hidden=(16, 8))
    hists = weight_histograms(model, bins=12)
    assert [(h.layer, h.fan_in, h.fan_out) for h in hists] == [("layer 1", 784, 16), ("layer 2", 16, 8),
                                                                 ("output", 8, 10)]
    for h, linear in zip(hists, model.linears(), strict=True):
        w = linear.weight.detach().double().numpy()
        assert h.counts.shape == (12,) and h.edges.shape == (13,) and h.counts.sum() == w.size
        assert h.edges[0] == pytest.approx(w.min()) and h.edges[-1] == pytest.approx(w.max())
        assert h.std == pytest.approx(w.std())


def test_hidden_activations_match_a_hand_computed_forward_pass():
    model = model_of(hidden=(6, 4), activation="tanh", input_scale="standardize")
    model.set_standardization(0.3, 0.2)
    images = torch.randint(0, 256, (9, 28, 28), dtype=torch.uint8)
    x = images.reshape(9, -1).float() / 255
    np.testing.assert_allclose(hidden_activations(model, images, 0), x.numpy())
    l1, l2 = model.layers[0], model.layers[2]
    h1 = torch.tanh(l1((x - 0.3) / 0.2))
    h2 = torch.tanh(l2(h1))
    np.testing.assert_allclose(hidden_activations(model, images, 1), h1.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(hidden_activations(model, images.numpy(), 2), h2.detach().numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="between 0"):
        hidden_activations(model, images, 3)


def test_hidden_activations_are_taken_in_eval_mode_after_batch_norm():
    model = model_of(hidden=(8,), norm="batch", dropout=0.5)
    images = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    model.train()
    a, b = hidden_activations(model, images, 1), hidden_activations(model, images, 1)
    np.testing.assert_array_equal(a, b)  # dropout off: deterministic
    assert model.training  # mode restored
    model.eval()
    expected = model.layers[2](model.layers[1](model.layers[0](images.reshape(4, -1).float() / 255)))
    np.testing.assert_allclose(a, expected.detach().numpy(), atol=1e-6)


def test_pca_finds_the_dominant_direction_with_a_fixed_sign():
    rng = np.random.default_rng(0)
    t = rng.normal(size=500) * 5
    u = np.array([0.8, 0.6, 0, 0, 0])  # unit vector; its largest loading (0.8) is positive
    x = t[:, None] * u + rng.normal(size=(500, 5)) * 0.01
    scores, explained = pca(x, 2)
    points = pca_2d(x)
    assert points.shape == (500, 2) and points.dtype == np.float32
    np.testing.assert_allclose(points[:, 0], t - t.mean(), atol=0.05)  # sign fixed: +u, not -u
    assert explained[0] > 0.999
    np.testing.assert_allclose(pca_2d(-x)[:, 0], -points[:, 0], atol=1e-4)  # flipped data, flipped scores
    np.testing.assert_allclose(pca_2d(x[::-1])[:, 0], points[::-1, 0], atol=1e-4)  # order does not matter


def test_pca_matches_numpy_svd_with_the_largest_loading_positive():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30)) + 7  # correlated, off-centre
    centred = x - x.mean(0)
    u, s, vh = np.linalg.svd(centred, full_matrices=False)
    sign = np.sign(vh[np.arange(5), np.abs(vh[:5]).argmax(1)])  # (5,): flip so each largest loading is positive
    scores, explained = pca(x, 5)
    np.testing.assert_allclose(scores.numpy(), centred @ (vh[:5].T * sign), atol=1e-8)
    np.testing.assert_allclose(explained.numpy(), s[:5] ** 2 / (s**2).sum(), rtol=1e-10)


def test_pca_pads_with_zeros_beyond_the_data_rank():
    scores, explained = pca(np.arange(15.0).reshape(3, 5) ** 2, 4)  # 3 points: rank 2 once centred
    assert scores.shape == (3, 4) and explained.shape == (4,) and (scores[:, 3] == 0).all() and explained[3] == 0
    np.testing.assert_allclose(scores[:, 2:].numpy(), 0, atol=1e-9)
    assert explained[:2].sum() == pytest.approx(1)


def test_tsne_keeps_clusters_apart_and_is_deterministic():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 60)
    x = rng.normal(size=(3, 20))[labels] * 10 + rng.normal(size=(180, 20))
    y = tsne_2d(x, perplexity=15)
    assert y.shape == (180, 2) and np.isfinite(y).all()
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).all()
    centres = np.stack([y[labels == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(y[labels == c] - centres[c], axis=1).mean() for c in range(3))
    assert min(np.linalg.norm(centres[a] - centres[b]) for a, b in [(0, 1), (0, 2), (1, 2)]) > 3 * spread
    np.testing.assert_array_equal(y, tsne_2d(x, perplexity=15))
    random_start = tsne_2d(x, seed=3, perplexity=15, iterations=250, init="random")
    np.testing.assert_array_equal(random_start, tsne_2d(x, seed=3, perplexity=15, iterations=250, init="random"))
    assert not np.array_equal(random_start, tsne_2d(x, seed=4, perplexity=15, iterations=250, init="random"))
    with pytest.raises(ConfigError, match="at least 250 iterations"):
        tsne_2d(x, iterations=100)


def test_linear_probe_separates_linearly_separable_classes_and_not_random_labels():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(10, 20)) * 5  # ~30 apart, noise 1: separable by a wide margin
    y_train, y_test = rng.integers(0, 10, 2000), rng.integers(0, 10, 1000)
    x_train = centres[y_train] + rng.normal(size=(2000, 20)) + 100  # offset: the probe standardises
    x_test = centres[y_test] + rng.normal(size=(1000, 20)) + 100
    assert linear_probe(x_train, y_train, x_test, y_test) == 1.0
    random_acc = linear_probe(x_train, rng.integers(0, 10, 2000), x_test, rng.integers(0, 10, 1000))
    assert abs(random_acc - 0.1) < 0.05


def test_probe_minimises_mean_cross_entropy_plus_the_ridge():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 300)
    feats = rng.normal(size=(300, 6)) + labels[:, None] * 0.7
    probe = fit_probe(feats, labels, steps=2000, l2=0.05)
    x = ((torch.from_numpy(feats) - probe.mean) / probe.std).requires_grad_(False)
    w = probe.weight[:, :3].clone().requires_grad_(True)
    b = probe.bias[:3].clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x @ w + b, torch.from_numpy(labels)) + 0.5 * 0.05 * w.pow(2).sum()
    loss.backward()  # at the optimum of that objective (the intercept is not penalised) the gradient is zero
    assert w.grad.abs().max() < 1e-3 and b.grad.abs().max() < 1e-3  # a wrong C leaves ~0.05
    assert (probe.bias[3:] == -np.inf).all()  # classes never seen are never predicted


def test_probe_with_two_classes_predicts_their_labels():
    rng = np.random.default_rng(5)
    labels = np.where(rng.random(200) < 0.5, 3, 7)
    feats = rng.normal(size=(200, 4)) + (labels[:, None] == 7) * 4.0
    probe = fit_probe(feats, labels)
    assert probe.weight.shape == (4, 10) and probe.accuracy(feats, labels) == 1.0
    with pytest.raises(ConfigError, match="at least 2 classes"):
        fit_probe(feats, np.full(200, 3))


def test_probe_layers_reports_pixels_and_every_hidden_layer():
    labels = np.arange(400) % 10
    train = Split.from_numpy(synthetic_images(labels, 5), labels)
    test = Split.from_numpy(synthetic_images(labels[:100], 6), labels[:100])
    results = probe_layers(model_of(hidden=(12, 6)), train, test, n_train=300, n_test=50)
    assert [(r.layer, r.name, r.width) for r in results] == [(0, "pixels", 784), (1, "layer 1", 12), (2, "layer 2", 6)]
    assert results[0].test_accuracy == 1.0  # the class blocks are linearly separable in pixel space
    assert all(0 <= r.test_accuracy <= 1 and 0 <= r.train_accuracy <= 1 for r in results)


def test_saliency_of_a_linear_model_is_its_weight_row():
    model = model_of(hidden=(), input_scale="standardize")
    model.set_standardization(0.1, 0.5)
    image = torch.randint(0, 256, (28, 28), dtype=torch.uint8)
    pred = int(model(image[None].float() / 255).argmax())
    w = model.layers[0].weight.detach().numpy()
    np.testing.assert_allclose(saliency_map(model, image), w[pred].reshape(28, 28) / 0.5, rtol=1e-5)
    np.testing.assert_allclose(saliency_map(model, image, target=(pred + 1) % 10),
                               w[(pred + 1) % 10].reshape(28, 28) / 0.5, rtol=1e-5)


def linear_two_class_model(seed: int, margin: float):
    """Logistic regression where class 0 wins by `margin` over class 1 and the rest sit 100 logits below.

    With the others out of play, sign(∇x CE) = sign(w_1 − w_0): FGSM is exactly the steepest L∞ step
    against the 0-vs-1 margin, so it flips at ε = (z_0 − z_1) / ‖w_0 − w_1‖₁.
    """
    model = model_of(hidden=())
    rng = np.random.default_rng(seed)
    image = rng.uniform(0.4, 0.6, size=(28, 28)).astype(np.float32)  # far from 0 and 1: clipping never binds
    linear = model.layers[0]
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(rng.normal(0, 0.01, size=(10, 784)).astype(np.float32)))
        z = linear.weight @ torch.from_numpy(image.reshape(-1))
        linear.bias.copy_(-z - 100)
        linear.bias[0] = -z[0] + margin
        linear.bias[1] = -z[1]
    return model, image


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fgsm_flips_a_linear_model_at_the_analytic_epsilon(seed):
    model, image = linear_two_class_model(seed, margin=0.5)
    w = model.layers[0].weight.detach().double().numpy()
    z = model(torch.from_numpy(image)[None]).detach().double().numpy()[0]
    analytic = min((z[0] - z[k]) / np.abs(w[0] - w[k]).sum() for k in range(1, 10))
    result = fgsm_flip(model, image, label=0)
    assert result.flipped and result.new_label == 1 and result.label == 0
    assert result.epsilon == pytest.approx(analytic, abs=1e-4)
    assert result.epsilon < 0.1  # clipping at 0.4 ± ε never bound
    assert result.perturbed_image.dtype == np.uint8 and result.perturbed_image.shape == (28, 28)
    # Just past the boundary: classes 0 and 1 are tied to float precision.
    assert result.new_probabilities.shape == (10,) and result.new_probabilities[[0, 1]] == pytest.approx(0.5, abs=1e-3)
    assert result.probabilities.argmax() == 0


def test_fgsm_reports_no_flip_and_an_already_wrong_prediction():
    model, image = linear_two_class_model(0, margin=50.0)  # needs ε ≈ 5.7 > 0.5
    result = fgsm_flip(model, image, label=0, eps_max=0.5)
    assert not result.flipped and result.epsilon is None and result.new_label == 0
    wrong = fgsm_flip(model, image, label=3)
    assert wrong.epsilon == 0.0 and wrong.new_label == 0 and wrong.label == 3
    with pytest.raises(ConfigError, match="eps_max"):
        fgsm_flip(model, image, eps_max=2)


def test_fgsm_on_a_hidden_layer_net_lands_just_past_the_decision_boundary():
    model = model_of(hidden=(32,), activation="sigmoid")
    image = torch.randint(0, 256, (28, 28), dtype=torch.uint8)
    result = fgsm_flip(model, image)  # label defaults to the model's own prediction
    assert result.flipped and 0 < result.epsilon <= 0.5 and result.new_label != result.label
