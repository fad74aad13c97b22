"""Populations: K same-shape trials trained as one stacked model match K normal runs, member by member."""

import threading

import pytest
import torch

from mnistlab.errors import ConfigError
from mnistlab.evaluate import evaluate
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.population import run_population
from mnistlab.runs.store import RunStore
from mnistlab.train import stacked
from mnistlab.train.cancel import Stop
from mnistlab.train.config import Augment, TrainConfig
from mnistlab.train.events import EpochEnded, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.loop import train
from mnistlab.train.losses import compute_loss
from mnistlab.train.population import train_population
from mnistlab.train.population_key import check_population, group_by_shape, shape_key
from mnistlab.train.prepare import prepare_data
from mnistlab.train.stacked import StackedMLP, member_losses
from mnistlab.train.stacked_optim import StackedOptimizer
from mnistlab.train.torch_engine import make_optimizer

BASE = TrainConfig(model=MLPSpec(hidden=(32, 16)), optimizer="adam", lr=3e-3, batch_size=64, epochs=2, device="cpu",
                   val_split=0.2)
# Batched and per-model products round differently (~1e-7). Adam divides each gradient by its running RMS, so
# where a gradient is only rounding noise that noise becomes a step of ~lr: after 16 steps weights agree to ~2e-5.
WEIGHT_TOL = 1e-4
METRIC_TOL = 1e-5
SCALARS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr")


def members(base: TrainConfig) -> list[TrainConfig]:
    """Four trials of one shape that differ in everything a member may: lr, wd, dropout, smoothing, init, seed."""
    return [base.with_(seed=0),
            base.with_(seed=1, lr=base.lr * 3, weight_decay=1e-3, momentum=0.8),
            base.with_(seed=2, dropout=0.3, label_smoothing=0.1),
            base.with_(seed=2, dropout=0.2, dropout_where="first", init="he_normal", lr=base.lr / 2)]


def max_weight_diff(a, b) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def assert_same_run(pop, seq, events=None, seq_events=None):
    assert pop.status == seq.status and pop.message == seq.message
    assert max_weight_diff(pop.model, seq.model) < WEIGHT_TOL
    assert len(pop.history) == len(seq.history)
    for p, s in zip(pop.history, seq.history):
        assert p["epoch"] == s["epoch"] and p["partial"] == s["partial"] and p["test_confusion"] == s["test_confusion"]
        for key in SCALARS:
            assert p[key] == pytest.approx(s[key], abs=METRIC_TOL), key
        for lp, ls in zip(p["layers"], s["layers"], strict=True):
            assert lp["name"] == ls["name"] and lp["dead_fraction"] == pytest.approx(ls["dead_fraction"], abs=1e-6)
            for key in ("grad_norm", "update_ratio", "weight_norm", "act_mean", "act_std"):
                assert lp[key] == pytest.approx(ls[key], rel=1e-4, abs=1e-7), key
    if events is not None:
        assert [type(e) for e in events if not isinstance(e, StepProgress)] == \
               [type(e) for e in seq_events if not isinstance(e, StepProgress)]
        started, seq_started = events[0], seq_events[0]
        assert started.config == seq_started.config and started.steps_per_epoch == seq_started.steps_per_epoch
        assert (started.train_size, started.val_size, started.test_size) == \
               (seq_started.train_size, seq_started.val_size, seq_started.test_size)
        assert len(started.initial_layers) == len(seq_started.initial_layers) == 3
        assert events[-1].status == seq_events[-1].status and events[-1].epochs_done == seq_events[-1].epochs_done


def train_both(configs, data, **kw):
    """(population results, its events, sequential results, their events) on the same data."""
    events = [[] for _ in configs]
    pop = train_population(configs, data=data, subscribers=[[e.append] for e in events], **kw)
    seq_events = [[] for _ in configs]
    seq = [train(c, data=data, subscribers=[e.append]) for c, e in zip(configs, seq_events)]
    return pop, events, seq, seq_events


@pytest.fixture(scope="module")
def data(tiny_data_dir):
    return prepare_data(BASE, tiny_data_dir)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("momentum", 0.03), ("adam", 3e-3), ("adamw", 3e-3)])
def test_members_end_as_their_normal_runs(data, optimizer, lr):
    # Dropout masks too: on the CPU each member replays the global generator stream its normal run draws from.
    configs = members(BASE.with_(optimizer=optimizer, lr=lr))
    pop, events, seq, seq_events = train_both(configs, data)
    for p, e, s, se in zip(pop, events, seq, seq_events):
        assert p.status == "finished"
        assert_same_run(p, s, e, se)


@pytest.mark.parametrize("changes", [
    dict(schedule="onecycle"), dict(schedule="step", step_epochs=1, step_gamma=0.5), dict(schedule="cosine"),
    dict(norm="layer"), dict(output="sigmoid", loss="mse", optimizer="sgd", lr=0.5),
    dict(output="softmax", loss="bce"), dict(output="sigmoid", activation="tanh"), dict(hidden=()),
    dict(input_scale="standardize", activation="leaky_relu", leaky_slope=0.1), dict(activation="gelu", label_smoothing=0.2),
    dict(warmup_epochs=0.5), dict(schedule="cosine", warmup_epochs=1.5),
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_batchable_setting_matches_the_normal_trainer(data, changes, monkeypatch):
    monkeypatch.setattr(stacked, "EVAL_BYTES", 4 * 2 * 32 * 64)  # evaluate in chunks of 64 images
    configs = [BASE.with_(seed=0, **changes), BASE.with_(seed=5, **{**changes, "lr": BASE.with_(**changes).lr * 2})]
    pop, _, seq, _ = train_both(configs, data)
    for p, s in zip(pop, seq):
        assert_same_run(p, s)


def test_batched_dropout_masks_are_statistically_those_of_dropout(data):
    torch.manual_seed(0)
    models = [build_model(BASE.model.with_(dropout=p)) for p in (0.0, 0.3, 0.6)]
    stack = StackedMLP(models)  # no generators: one batched draw for every member (the GPU's way)
    masks = stack._masks(20_000, torch.Generator().manual_seed(1))
    for k, p in enumerate((0.0, 0.3, 0.6)):
        for site in (0, 1):
            mask = masks[site][k]
            assert (mask == 0).float().mean().item() == pytest.approx(p, abs=0.01)
            assert all(v == 0 or v == pytest.approx(1 / (1 - p)) for v in mask.unique().tolist())
    configs = [BASE.with_(seed=s, dropout=0.3, epochs=3) for s in (0, 1)]
    pop = train_population(configs, data=data, dropout_masks="batched")
    seq = [train(c, data=data) for c in configs]
    for p, s in zip(pop, seq):  # other masks, so other weights, but the same learning
        assert p.status == "finished" and max_weight_diff(p.model, s.model) > WEIGHT_TOL
        assert p.history[-1]["test_accuracy"] == pytest.approx(s.history[-1]["test_accuracy"], abs=0.05)


def test_member_losses_are_compute_loss_per_member():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 8, 10), torch.randint(0, 10, (3, 8))
    smoothing = torch.tensor([0.0, 0.1, 0.3])
    for loss, output in [("ce", "none"), ("ce", "softmax"), ("ce", "sigmoid"), ("mse", "none"), ("mse", "sigmoid"),
                         ("bce", "none"), ("bce", "softmax")]:
        for s in (None, smoothing):
            got = member_losses(logits, labels, loss, output, s)
            want = [compute_loss(logits[k], labels[k], loss, output, float(s[k]) if s is not None else 0.0)
                    for k in range(3)]
            assert torch.allclose(got, torch.stack(want), atol=1e-6), (loss, output, s)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("fused", [False, True])
def test_stacked_optimizer_is_torch_optim_per_member(kind, fused):
    torch.manual_seed(0)
    shapes = [(5, 4), (4,)]
    hyper = [(1e-2, 0.0, 0.9), (3e-2, 0.1, 0.5), (1e-3, 0.01, 0.0)]  # (lr, weight decay, momentum) per member
    singles = [[torch.randn(*s, requires_grad=True) for s in shapes] for _ in hyper]
    optims = [make_optimizer(BASE.with_(optimizer=kind, lr=lr, weight_decay=wd, momentum=m), ps)
              for ps, (lr, wd, m) in zip(singles, hyper)]
    stacked_params = [torch.stack([ps[i].detach() for ps in singles]).requires_grad_() for i in range(len(shapes))]
    opt = StackedOptimizer(kind, stacked_params, *map(list, zip(*hyper)), fused=fused)
    for _ in range(5):
        grads = [torch.randn(len(hyper), *s) for s in shapes]
        for k, (ps, o) in enumerate(zip(singles, optims)):
            for p, g in zip(ps, grads):
                p.grad = g[k].clone()
            o.step()
        for p, g in zip(stacked_params, grads):
            p.grad = g.clone()
        opt.step(stacked_params)
    for k, ps in enumerate(singles):
        for p, s in zip(ps, stacked_params):
            assert torch.allclose(p, s[k], atol=1e-6, rtol=1e-6), (kind, fused, k)


def test_shape_key_groups_what_can_train_together():
    same = [BASE, BASE.with_(lr=0.5, seed=3, weight_decay=0.1), BASE.with_(dropout=0.5, init="he_uniform")]
    assert len({shape_key(c) for c in same}) == 1
    other = BASE.with_(batch_size=32)
    numpy_run = BASE.with_(engine="numpy", optimizer="sgd", val_split=0.0)
    batch_norm = BASE.with_(norm="batch")
    augmented = BASE.with_(augment=Augment(rotation=10.0))
    configs = [*same, other, numpy_run, batch_norm, augmented, BASE.with_(seed=9), batch_norm]
    assert group_by_shape(configs, 16) == [[0, 1, 2, 7], [3], [4], [5], [6], [8]]
    assert group_by_shape(configs, 2) == [[0, 1], [2, 7], [3], [4], [5], [6], [8]]
    assert group_by_shape(configs, 1) == [[i] for i in range(9)]
    # Data drawn with the seed: a random subset (or validation split) ties the seed into the key.
    first = BASE.with_(train_subset=300)
    assert shape_key(first.with_(seed=1)) == shape_key(first.with_(seed=2))
    drawn = first.with_(subset_mode="random")
    assert shape_key(drawn.with_(seed=1)) != shape_key(drawn.with_(seed=2))
    with pytest.raises(ConfigError, match="trial 1 has batch_size 32 where trial 0 has 64"):
        check_population([BASE, other])
    with pytest.raises(ConfigError, match="trial 1 cannot train in a population .batch norm"):
        check_population([BASE, batch_norm])
    with pytest.raises(ConfigError, match="augmentation"):
        train_population([BASE, augmented])
    # Each training extra that acts per model trains on its own; a warm-up (a learning rate) trains with its shape.
    extras = [BASE.with_(input_dropout=0.2), BASE.with_(norm="layer", norm_where="after"), BASE.with_(max_norm=3.0),
              BASE.with_(ema=0.99), BASE.with_(mixup=0.2)]
    assert group_by_shape([BASE, *extras, BASE.with_(warmup_epochs=1.0, seed=4)], 16) == [[0, 6], [1], [2], [3], [4], [5]]
    with pytest.raises(ConfigError, match=r"trial 1 cannot train in a population \(max-norm is applied per model\)"):
        check_population([BASE, extras[2]])


class StopAfter(Stop):
    """A Stop that reads as set from its `calls`-th check on (the trainers check once per step and epoch end)."""

    def __init__(self, calls: int, prune: str = ""):
        super().__init__()
        self.calls = calls
        if prune:
            self.status, self.message = "pruned", prune

    def is_set(self) -> bool:
        self.calls -= 1
        return self.calls < 0 or super().is_set()


@pytest.mark.parametrize("prune", ["", "hopeless"])
def test_a_cancelled_member_stops_mid_epoch_and_the_others_finish(data, prune):
    configs = members(BASE)
    # 8 steps an epoch: 8 checks + 1 at its end, then 3 more steps of epoch 2 before the 13th check says stop.
    pop_events = [[] for _ in configs]
    pop = train_population(configs, data=data, subscribers=[[e.append] for e in pop_events],
                           cancel=[None, StopAfter(12, prune), None, threading.Event()])
    seq = [train(c, data=data, cancel=StopAfter(12, prune) if i == 1 else None) for i, c in enumerate(configs)]
    stopped = pop[1]
    assert stopped.status == ("pruned" if prune else "stopped") and stopped.message == prune
    assert [h["partial"] for h in stopped.history] == [False, True]
    assert_same_run(stopped, seq[1])  # frozen where its normal run stops: same weights, same partial epoch
    assert isinstance(pop_events[1][-1], RunFinished) and pop_events[1][-1].epochs_done == 2
    for i in (0, 2, 3):
        assert pop[i].status == "finished"
        assert_same_run(pop[i], seq[i])


def test_a_member_cancelled_before_starting_keeps_its_initial_weights(data):
    cancel = threading.Event()
    cancel.set()
    pop = train_population(members(BASE)[:2], data=data, cancel=[cancel, None])
    seq = train(members(BASE)[0], data=data, cancel=cancel)
    assert pop[0].status == seq.status == "stopped" and pop[0].history == [] and seq.history == []
    assert max_weight_diff(pop[0].model, seq.model) == 0
    assert pop[1].status == "finished" and len(pop[1].history) == 2


def test_one_diverging_member_does_not_touch_the_others(data):
    base = BASE.with_(optimizer="sgd", loss="mse", hidden=(256, 256), epochs=4)  # lr 10 diverges (test_train)
    configs = [base.with_(lr=0.5), base.with_(lr=10.0, seed=1), base.with_(lr=0.2, seed=2)]
    pop, events, seq, seq_events = train_both(configs, data)
    assert pop[1].status == seq[1].status == "diverged" and pop[1].message == seq[1].message
    assert isinstance(events[1][-1], RunFailed) and events[1][-1].epoch == seq_events[1][-1].epoch
    assert len(pop[1].history) == len(seq[1].history)
    # The last good epoch's weights, as the normal run keeps them (exploding by then: rounding grows with them).
    assert (pop[1].model is None) == (seq[1].model is None)
    assert pop[1].model is None or all(torch.isfinite(p).all() for p in pop[1].model.parameters())
    for i in (0, 2):
        assert pop[i].status == "finished"
        assert_same_run(pop[i], seq[i], events[i], seq_events[i])
        assert all(isinstance(e, (RunStarted, StepProgress, EpochEnded, RunFinished)) for e in events[i])


def test_run_population_stores_one_reloadable_run_per_member(data, tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    configs = members(BASE)[:3]
    seen = [[] for _ in configs]
    outcomes = run_population(configs, store=store, data_dir=tiny_data_dir, subscribers=[[s.append] for s in seen],
                              tags=[{"sweep": "s", "trial": i} for i in range(3)], owner="tester")
    assert len({o.run_id for o in outcomes}) == 3
    for i, (config, outcome) in enumerate(zip(configs, outcomes)):
        run = store.open(outcome.run_id)
        assert run.status == "finished" and run.config == config and run.tags == {"sweep": "s", "trial": i}
        assert [h["epoch"] for h in run.history()] == [1, 2] and run.history(layer_stats=True)[0]["layers"]
        assert run.saved_epochs == [0, 1, 2]
        model = run.model()
        assert max_weight_diff(model, outcome.result.model) == 0
        again = evaluate(model, data.test, config.loss)
        assert again.accuracy == outcome.evaluation.accuracy == run.evaluation().accuracy
        assert isinstance(seen[i][0], RunStarted) and seen[i][0].run_id == outcome.run_id
    with pytest.raises(ConfigError, match="hidden"):
        run_population([BASE, BASE.with_(hidden=(8,))], store=store, data_dir=tiny_data_dir)
    assert len(store.list()) == 3  # refused before any run was created


def test_run_population_marks_every_run_failed_when_training_raises(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)

    def explode(event):
        if isinstance(event, EpochEnded):
            raise RuntimeError("subscriber broke")

    with pytest.raises(RuntimeError, match="subscriber broke"):
        run_population(members(BASE)[:2], store=store, data_dir=tiny_data_dir, subscribers=[[explode], []])
    assert [r.status for r in store.list()] == ["failed", "failed"]
    assert all("subscriber broke" in r.message for r in store.list())
