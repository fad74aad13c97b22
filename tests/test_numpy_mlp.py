"""NumPy engine: hand-written backprop against torch autograd, a tiny training run, torch weight exchange."""

import itertools

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from torch import nn

from mnistlab.models import MLP, MLPSpec, output_probabilities
from mnistlab.models.numpy_mlp import NumpyMLP
from mnistlab.train.losses import compute_loss

GRAD_TOL = 1e-6  # relative error in float64


def to_torch(state: dict) -> dict:
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def torch_twin(net: NumpyMLP) -> MLP:
    """A float64 torch MLP holding `net`'s weights."""
    model = MLP(net.spec).double()
    model.load_state_dict(to_torch(net.state_dict()))
    return model


def torch_forward(model: MLP, net: NumpyMLP, x: torch.Tensor) -> torch.Tensor:
    """Torch logits, applying the dropout masks the NumPy forward drew (identity where it drew none)."""
    h = x.reshape(len(x), -1)
    if model.spec.scales_inputs:
        h = (h - model.pixel_mean) / model.pixel_std
    for module, layer in zip(model.layers, net.layers, strict=True):
        if isinstance(module, nn.Dropout):
            h = h if layer.mask is None else h * torch.from_numpy(layer.mask)
        else:
            h = module(h)
    return h


def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-300))


def check_against_torch(spec: MLPSpec, loss: str, smoothing: float = 0.0, batch: int = 6, seed: int = 0) -> None:
    """Loss and every parameter gradient equal torch autograd through the torch engine's `compute_loss`."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 28, 28))
    y = rng.integers(0, 10, batch)
    net = NumpyMLP(spec, seed=seed)
    if spec.scales_inputs:
        net.set_standardization(0.13, 0.31)
    model = torch_twin(net)
    value, grads = net.loss_and_grads(x, y, loss, rng=np.random.default_rng(seed + 1), label_smoothing=smoothing)
    logits = torch_forward(model, net, torch.from_numpy(x))
    ref = compute_loss(logits, torch.from_numpy(y), loss, spec.output, smoothing)
    ref.backward()
    assert abs(value - ref.item()) <= GRAD_TOL * abs(ref.item())
    params = list(model.named_parameters())
    assert len(grads) == len(params)
    for (p, g), (name, tp) in zip(grads, params, strict=True):
        assert p.shape == g.shape == tp.shape, name
        assert rel_err(g, tp.grad.numpy()) <= GRAD_TOL, name


OUTPUTS = ("none", "sigmoid", "softmax")
CASES = list(itertools.product(("relu", "sigmoid"), OUTPUTS, ("mse", "ce"), ((), (7,), (6, 5)), (0.0, 0.4)))


@pytest.mark.parametrize("activation, output, loss, hidden, dropout", CASES)
def test_gradients_match_torch(activation, output, loss, hidden, dropout):
    spec = MLPSpec(hidden=hidden, activation=activation, output=output, dropout=dropout)
    check_against_torch(spec, loss)


@pytest.mark.parametrize("activation, output, loss", itertools.product(("relu", "sigmoid"), OUTPUTS, ("mse", "ce")))
def test_gradients_with_label_smoothing(activation, output, loss):
    check_against_torch(MLPSpec(hidden=(7,), activation=activation, output=output), loss, smoothing=0.1)


def test_sgd_weight_decay_matches_torch():
    net = NumpyMLP(MLPSpec(hidden=(5,)))
    model = torch_twin(net)
    x, y = np.random.default_rng(0).random((4, 784)), np.array([1, 2, 3, 4])
    net.train_step(x, y, "ce", lr=0.3, weight_decay=0.01)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, weight_decay=0.01)
    compute_loss(model(torch.from_numpy(x)), torch.from_numpy(y), "ce", "none").backward()
    optimizer.step()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[key], value.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_gradients_dropout_first_standardize_glorot(loss):
    spec = MLPSpec(hidden=(8, 6), dropout=0.5, dropout_where="first", input_scale="standardize", init="glorot_uniform")
    net = NumpyMLP(spec)
    assert sum(type(layer).__name__ == "Dropout" for layer in net.layers) == 1
    check_against_torch(spec, loss, seed=3)


def test_dropout_masks_are_inverted_and_off_in_eval():
    spec = MLPSpec(hidden=(2000,), dropout=0.25)
    net = NumpyMLP(spec)
    x = np.random.default_rng(0).random((3, 784))
    net.forward(x, train=True, rng=np.random.default_rng(1))
    mask = net.layers[2].mask
    assert set(np.unique(mask)) == {0.0, 1 / 0.75}
    assert abs((mask == 0).mean() - 0.25) < 0.03
    eval_logits = net.forward(x)  # train=False: deterministic, and equal to torch in eval mode
    assert net.layers[2].mask is None
    model = torch_twin(net).eval()
    np.testing.assert_allclose(eval_logits, model(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_training_learns_separable_data():
    rng = np.random.default_rng(0)
    prototypes = rng.random((10, 784)) < 0.3  # one random binary "digit" per class
    y = rng.integers(0, 10, 300)
    flip = rng.random((300, 784)) < 0.1  # 10% of the pixels flipped
    x = (prototypes[y] ^ flip).astype(np.float32)
    net = NumpyMLP(MLPSpec(hidden=(32,), dropout=0.2), seed=0, dtype=np.float32)
    epoch_losses = []
    for _ in range(4):
        order = rng.permutation(len(x))
        losses = [net.train_step(x[i], y[i], "ce", lr=0.1, rng=rng) for i in np.array_split(order, 30)]
        epoch_losses.append(np.mean(losses))
    assert epoch_losses[-1] < 0.2 * epoch_losses[0]
    assert (net.predict_proba(x).argmax(axis=1) == y).mean() == 1.0
    assert all(p.dtype == np.float32 for p, _ in net.loss_and_grads(x[:2], y[:2], "ce")[1])


def test_per_sample_sgd_with_mse_sigmoid_learns():
    """The classic tutorial: sigmoid everywhere, quadratic cost, one sample per step."""
    rng = np.random.default_rng(1)
    prototypes = rng.random((10, 784)) < 0.3
    y = rng.integers(0, 10, 200)
    x = (prototypes[y] ^ (rng.random((200, 784)) < 0.1)).astype(np.float64)
    net = NumpyMLP(MLPSpec(hidden=(30,), activation="sigmoid", output="sigmoid"), seed=1)
    first = np.mean([net.loss_and_grads(x[i : i + 1], y[i : i + 1], "mse", train=False)[0] for i in range(200)])
    for _ in range(3):
        for i in rng.permutation(200):
            net.train_step(x[i : i + 1], y[i : i + 1], "mse", lr=3.0)
    last = net.loss_and_grads(x, y, "mse", train=False)[0]
    assert last < 0.5 * first
    assert (net.predict_proba(x).argmax(axis=1) == y).mean() == 1.0


@pytest.mark.parametrize("output", ["none", "sigmoid", "softmax"])
def test_predict_proba_matches_torch(output):
    net = NumpyMLP(MLPSpec(hidden=(5,), output=output))
    x = np.random.default_rng(0).random((4, 784))
    p = net.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    ref = output_probabilities(torch_twin(net)(torch.from_numpy(x)), output).detach().numpy()
    np.testing.assert_allclose(p, ref, rtol=1e-10)


def test_state_dict_matches_torch_keys_and_round_trips(tmp_path):
    spec = MLPSpec(hidden=(16, 8), dropout=0.5, dropout_where="first", input_scale="standardize")
    net = NumpyMLP(spec, seed=2)
    net.set_standardization(0.1307, 0.3081)
    state = net.state_dict()
    torch_state = MLP(spec).state_dict()
    assert list(state) == list(torch_state)
    assert all(state[k].shape == tuple(torch_state[k].shape) for k in state)
    x = np.random.default_rng(0).random((5, 28, 28))
    logits = net.forward(x)

    # NumPy → torch (float64) gives the same logits.
    model = torch_twin(net).eval()
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), logits, rtol=1e-6, atol=1e-9)

    # NumPy → safetensors → float32 torch MLP, as a saved run would travel.
    path = tmp_path / "model.safetensors"
    safetensors.numpy.save_file(state, path)
    model32 = MLP(spec).eval()
    model32.load_state_dict(safetensors.torch.load_file(path))
    assert model32.pixel_std.item() == pytest.approx(0.3081)
    np.testing.assert_allclose(model32(torch.from_numpy(x).float()).detach().numpy(), logits, atol=1e-5)

    # torch → NumPy gives torch's logits.
    torch.manual_seed(0)
    other = MLP(spec).double().eval()
    other.set_standardization(0.2, 0.4)
    back = NumpyMLP(spec, seed=9)
    back.load_state_dict(other.state_dict())
    assert (back.pixel_mean, back.pixel_std) == (pytest.approx(0.2), pytest.approx(0.4))
    np.testing.assert_allclose(back.forward(x), other(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-9)


def test_load_state_dict_rejects_other_architecture():
    net = NumpyMLP(MLPSpec(hidden=(16,)))
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict(NumpyMLP(MLPSpec(hidden=(8,))).state_dict())
    with pytest.raises(ValueError, match="missing"):
        net.load_state_dict(NumpyMLP(MLPSpec(hidden=(16, 4))).state_dict())


@pytest.mark.parametrize(
    "init, bound",
    [
        ("torch", lambda i, o: 1 / np.sqrt(i)),
        ("glorot_uniform", lambda i, o: np.sqrt(6 / (i + o))),
        ("he_uniform", lambda i, o: np.sqrt(6 / i)),
    ],
)
def test_uniform_inits_fill_their_range(init, bound):
    net = NumpyMLP(MLPSpec(hidden=(100,), init=init), seed=0)
    for layer in (net.layers[0], net.layers[2]):
        fan_out, fan_in = layer.weight.shape
        b = bound(fan_in, fan_out)
        assert np.abs(layer.weight).max() <= b and np.abs(layer.weight).max() > 0.95 * b
        assert (np.abs(layer.bias).max() > 0) == (init == "torch")


def test_he_normal_init_and_seeds():
    w = NumpyMLP(MLPSpec(hidden=(100,), init="he_normal")).layers[0].weight
    assert w.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    a, b, c = (NumpyMLP(MLPSpec(hidden=(4,)), seed=s).state_dict()["layers.0.weight"] for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_repr_and_parameter_count():
    spec = MLPSpec(hidden=(100,), dropout=0.5)
    net = NumpyMLP(spec, dtype=np.float32)
    assert net.parameter_count() == spec.parameter_count() == 79_510
    assert repr(net) == (
        "NumpyMLP(784-100-10 relu, dropout 0.5; output none, float32, 79,510 parameters)\n"
        "  (0): Linear(784, 100)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.5)\n"
        "  (3): Linear(100, 10)"
    )
    assert repr(NumpyMLP(MLPSpec(hidden=(), activation="sigmoid"))).endswith("(0): Linear(784, 10)")
