"""Adversarial training (fgsm, vat): the push each computes, the gradients it adds, a run, and every door."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mnistlab.cli.main import main
from mnistlab.errors import ConfigError
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.train.adversarial import FGSM_SHARE, fgsm_backward, vat_backward
from mnistlab.train.config import TrainConfig
from mnistlab.train.fused_step import fused_supported
from mnistlab.train.loop import train
from mnistlab.train.population_key import unbatchable_reason
from mnistlab.train.prepare import prepare_data
from mnistlab.train.torch_engine import TorchStepper

CPU = torch.device("cpu")
BASE = TrainConfig(model=MLPSpec(hidden=(32,)), lr=0.1, batch_size=32, epochs=2, device="cpu")


def net_and_batch(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(MLPSpec(hidden=(16,))).double()
    x, y = torch.rand(8, 784, dtype=torch.float64), torch.arange(8) % 10
    return model, x, y


def grads(model) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def test_fgsm_adds_the_gradient_of_the_copy_pushed_eps_along_the_loss_gradients_sign():
    model, x, y = net_and_batch()
    loss_of = lambda logits: F.cross_entropy(logits, y)  # noqa: E731
    logits, loss = fgsm_backward(model, x, loss_of, eps=0.1)
    got = grads(model)
    assert torch.allclose(loss, F.cross_entropy(model(x), y)) and torch.allclose(logits, model(x))
    # By hand: the pixel gradient's sign, the pushed copy, then the two halves' weight gradients.
    xg = x.clone().requires_grad_(True)
    (pixel_grad,) = torch.autograd.grad(F.cross_entropy(model(xg), y), xg)
    pushed = x + 0.1 * pixel_grad.sign()
    assert (pushed - x).abs().max().item() == pytest.approx(0.1)
    model.zero_grad()
    ((1 - FGSM_SHARE) * F.cross_entropy(model(x), y) + FGSM_SHARE * F.cross_entropy(model(pushed), y)).backward()
    for mine, expected in zip(got, grads(model), strict=True):
        assert torch.allclose(mine, expected)
    assert F.cross_entropy(model(pushed), y) > loss  # the push hurts: that is its point


def test_vat_pushes_where_the_prediction_changes_most_and_adds_that_kl():
    model, x, y = net_and_batch(1)
    gen = torch.Generator().manual_seed(3)
    loss_of = lambda logits: F.cross_entropy(logits, y)  # noqa: E731
    _, loss = vat_backward(model, x, loss_of, eps=2.0, gen=gen)
    with_vat = grads(model)
    model.zero_grad()
    loss_of(model(x)).backward()  # the clean loss alone
    assert any(not torch.allclose(a, b) for a, b in zip(with_vat, grads(model), strict=True))  # the KL term adds

    def kl_at(r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            p = F.log_softmax(model(x), 1)
            return (p.exp() * (p - F.log_softmax(model(x + r), 1))).sum(1)

    # The power iteration's direction, at L2 length 2 per image, moves predictions more than random directions do.
    d = (0.1 * F.normalize(torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=x.dtype), dim=1))
    d.requires_grad_(True)
    p = F.log_softmax(model(x), 1).detach()
    (g,) = torch.autograd.grad((p.exp() * (p - F.log_softmax(model(x + d), 1))).sum(1).mean(), d)
    adversarial = kl_at(2.0 * F.normalize(g, dim=1))
    randoms = torch.stack([kl_at(2.0 * F.normalize(torch.randn_like(x), dim=1)) for _ in range(20)])
    assert (adversarial > randoms.max(0).values).all()


@pytest.mark.parametrize("kind, eps", [("fgsm", 0.1), ("vat", 2.0)])
def test_the_stepper_trains_with_it_and_draws_from_the_run_generator(tiny_data_dir, kind, eps):
    config = BASE.with_(adversarial=kind, adversarial_eps=eps, dropout=0.0)
    data = prepare_data(config, tiny_data_dir)
    runs = []
    for _ in range(2):
        stepper = TorchStepper(config, data.train, CPU)
        stepper.begin_epoch()
        for index in range(3):
            stepper.step(index)
        runs.append(stepper.model.state_dict())
    plain = TorchStepper(BASE.with_(dropout=0.0), data.train, CPU)
    plain.begin_epoch()
    for index in range(3):
        plain.step(index)
    for name, tensor in runs[0].items():
        assert torch.equal(tensor, runs[1][name]), name  # same seed, same run
    assert any(not torch.equal(t, plain.model.state_dict()[n]) for n, t in runs[0].items())  # and not the plain one


@pytest.mark.parametrize("kind, eps", [("fgsm", 0.1), ("vat", 2.0)])
def test_a_short_run_on_real_mnist_learns(real_data_dir, kind, eps):
    config = TrainConfig(model=MLPSpec(hidden=(128,)), adversarial=kind, adversarial_eps=eps, optimizer="adam",
                         lr=1e-3, batch_size=32, epochs=1, train_subset=2000, test_subset=2000, device="cpu")
    result = train(config, data_dir=real_data_dir, layer_stats=False)
    assert result.status == "finished"
    assert result.history[-1]["test_accuracy"] > 0.6  # chance is 10%; fgsm's pushed half slows the first epoch


def test_it_round_trips_and_is_refused_where_it_cannot_act():
    config = BASE.with_(adversarial="vat", adversarial_eps=1.5)
    assert TrainConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="adversarial vat compares softmax predictions, so it needs loss ce"):
        BASE.with_(adversarial="vat", loss="mse")
    with pytest.raises(ConfigError, match="needs loss ce and output none or softmax"):
        BASE.with_(adversarial="vat", output="sigmoid")
    BASE.with_(adversarial="fgsm", loss="mse")  # fgsm pushes along any loss
    with pytest.raises(ConfigError, match=r"the NumPy engine does not support adversarial 'fgsm' \(use none\)"):
        TrainConfig(model=MLPSpec(hidden=(16,)), engine="numpy", device="cpu", adversarial="fgsm")
    assert "adversarial copies are made per model" in unbatchable_reason(BASE.with_(adversarial="fgsm"))
    assert fused_supported(BASE) and not fused_supported(BASE.with_(adversarial="fgsm"))


@pytest.mark.parametrize("flags, allowed", [
    (("--adversarial", "pgd"), "one of none, fgsm, vat"), (("--adversarial-eps", "0"), "adversarial eps must be in (0, 100]"),
    (("--adversarial", "vat", "--loss", "mse"), "adversarial vat compares softmax predictions")])
def test_the_cli_refuses_an_impossible_value_in_one_sentence(flags, allowed, tiny_data_dir, runs_dir, capsys):
    assert main(["train", *flags, "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and allowed in err, err


def test_train_help_explains_both_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--adversarial {none,fgsm,vat}" in text and "--adversarial-eps" in text
    assert "Goodfellow" in text and "Miyato" in text


def test_the_memory_check_counts_vats_second_graph_and_the_emas_copy():
    from mnistlab.memory import FLOAT_BYTES, model_bytes, training_bytes

    spec = MLPSpec(hidden=(1024, 1024))
    plain = training_bytes(spec, 128)
    activations = 3 * 128 * sum(spec.sizes) * FLOAT_BYTES
    assert training_bytes(spec, 128, graphs=2) == plain + activations  # clean and pushed batch alive at once
    assert training_bytes(spec, 128, extra_copies=1) == plain + model_bytes(spec)  # the moving average
