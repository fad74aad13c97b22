"""Rule-based hints: what went wrong in a run, in plain words, with a one-click config fix.

The likely cause comes first: a learning rate far outside its optimizer's usual range (or steps that blow
the weights up in epoch 1) also kills ReLUs and starves early layers of gradient, so when it fires the
dead-unit and vanishing-gradient hints, whose fixes would keep that learning rate, are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mnistlab.errors import ConfigError
from mnistlab.insight.gradflow import SQUASHING, VANISHING_RATIO, GradientFinding, gradient_finding
from mnistlab.models.spec import MLPSpec
from mnistlab.train.config import AUGMENT_NAMES, MAX_EPOCHS, TrainConfig
from mnistlab.train.lr_ranges import OPTIMIZER_TITLES, lower_lr, lr_outside, lr_phrase, lr_range
from mnistlab.train.stall import LOSS_BARELY, near_chance

LOSS_RISE = 1.10  # training loss ≥ 10% above its best and still rising at the end: steps overshoot
DEAD_FRACTION = 0.5  # more than half a layer's ReLUs never fire on the probe batch
OVERFIT_GAP = 0.03  # train accuracy more than 3 points above validation (or test) accuracy…
OVERFIT_GROWTH = 0.01  # …and the gap at least 1 point wider than its narrowest earlier value
UNDERFIT_RISE = 0.005  # train accuracy still climbing ≥ 0.5 points over the last epoch…
UNDERFIT_CEILING = 0.98  # …while below this: there is clearly more to learn
SMALL_MODEL_ACCURACY = 0.90  # train accuracy flat below this: the model may be too small
SLOW_DEEP_ACCURACY = 0.90  # deep sigmoid/tanh net below this with no gradient stats: likely vanishing
# One sampled step in epoch 1 changing a layer's weights by half their norm or more: healthy steps change
# them by 0.1–5% (Adam at lr 10 moves them by 20–500× their size in its first steps).
UPDATE_BLOWUP = 0.5


@dataclass(frozen=True)
class Hint:
    """One diagnosis: what it is, why we think so, and config changes that address it."""

    kind: str  # lr_too_high | lr_too_low | vanishing_gradients | dead_relu | no_learning | overfitting | underfitting
    title: str
    explanation: str
    fix: dict = field(default_factory=dict)  # TrainConfig / MLPSpec field → new value; see apply_fix


def apply_fix(config: TrainConfig | dict, fix: dict) -> TrainConfig:
    """A new, validated config: `config` with `fix` merged in (model fields by name, augment by name or dict)."""
    merged = config.to_dict() if isinstance(config, TrainConfig) else TrainConfig.from_dict(config).to_dict()
    model_fields = set(MLPSpec.__dataclass_fields__)
    for key, value in fix.items():
        if key in model_fields:
            merged["model"][key] = list(value) if isinstance(value, tuple) else value
        elif key == "augment" and isinstance(value, str):
            if value not in AUGMENT_NAMES:
                raise ConfigError(f"unknown augmentation {value!r}; choose one of {', '.join(AUGMENT_NAMES)}.")
            merged["augment"] = AUGMENT_NAMES[value].to_dict()
        elif key in TrainConfig.__dataclass_fields__ and key != "model":
            merged[key] = value
        else:
            raise ConfigError(f"a fix cannot set {key!r}: it is not a training or model setting.")
    return TrainConfig.from_dict(merged)


def _accuracies(history: list[dict]) -> tuple[list[float], list[float], str]:
    """Train accuracies and held-out accuracies (validation, else test) of the epochs that have both."""
    key = "val_accuracy" if any(h.get("val_accuracy") is not None for h in history) else "test_accuracy"
    rows = [h for h in history if h.get("train_accuracy") is not None and h.get(key) is not None]
    split = "validation" if key == "val_accuracy" else "test"
    return [h["train_accuracy"] for h in rows], [h[key] for h in rows], split


def _sentence(text: str) -> str:
    """First letter upper-cased, the rest as written (str.capitalize would turn 'Adam' into 'adam')."""
    return text[:1].upper() + text[1:]


def _and(items: list[str]) -> str:
    """['a', 'b', 'c'] → 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _first_update_blowup(history: list[dict]) -> tuple[str, float] | None:
    """(layer, ratio) when a sampled step of the first recorded epoch moved a layer's weights by ≥ UPDATE_BLOWUP of their norm."""
    rows = [h for h in history if h.get("epoch", 0) >= 1 and h.get("layers")]
    if not rows:
        return None
    ratios = [(la["name"], la["update_ratio"]) for la in rows[0]["layers"]
              if la.get("update_ratio") is not None and math.isfinite(la["update_ratio"])]
    name, ratio = max(ratios, key=lambda r: r[1], default=(None, 0.0))
    return (name, ratio) if ratio >= UPDATE_BLOWUP else None


def _symptoms(history: list[dict], status: str | None, layers: list[dict],
              gradients: GradientFinding | None) -> list[str]:
    """What a run shows that a learning rate far outside its range explains (empty: it learned fine)."""
    found = []
    held = _accuracies(history)[1]
    if status == "stalled" or (held and near_chance(held[-1])):
        found.append(f"its accuracy stayed at chance ({held[-1]:.0%})" if held else "it never beat guessing")
    dead = [(la["name"], la["dead_fraction"]) for la in layers
            if la.get("dead_fraction") is not None and la["dead_fraction"] > DEAD_FRACTION]
    if dead:
        name, share = max(dead, key=lambda d: d[1])
        found.append(f"{share:.0%} of the units in {name} died (they never fire again)")
    if gradients and gradients.kind == "vanishing":
        found.append("almost no gradient reaches layer 1")
    losses = [h["train_loss"] for h in history if h.get("train_loss") is not None]
    poor = bool(held) and held[-1] < SMALL_MODEL_ACCURACY  # a converged run's loss is flat too: not a symptom
    if not found and poor and len(losses) >= 2 and losses[-1] > LOSS_BARELY * losses[0]:
        found.append(f"its training loss barely fell ({losses[0]:.3f} → {losses[-1]:.3f})")
    return found


def _lr_hint(config: TrainConfig, history: list[dict], status: str | None, layers: list[dict],
             gradients: GradientFinding | None) -> Hint | None:
    rows = [h for h in history if h.get("train_loss") is not None]
    losses = [h["train_loss"] for h in rows]
    outside, blowup = lr_outside(config), _first_update_blowup(history)
    symptoms = _symptoms(history, status, layers, gradients) if outside else []
    if outside == "below" and symptoms:
        usual = lr_range(config.optimizer)
        why = (f"{_sentence(lr_phrase(config))}, and {_and(symptoms)}: the steps are too small to move the weights. "
               f"Try {usual.typical:g}.")
        return Hint("lr_too_low", "Learning rate too low", why, {"lr": usual.typical})
    if status == "diverged" or any(not math.isfinite(x) for x in losses):
        why = "The loss became NaN: the updates overshot until the numbers overflowed."
    elif outside == "above" and symptoms:
        why = f"{_sentence(lr_phrase(config))}, and {_and(symptoms)}."
    elif blowup:
        name, ratio = blowup
        why = (f"In epoch 1 the sampled steps changed the weights of {name} by {ratio:.3g}× their own size (healthy "
               "steps change them by 0.1–5%): each update throws the weights far from where they were.")
    elif gradients and gradients.kind == "exploding":
        why = gradients.evidence
    elif len(losses) >= 3 and losses[-1] > LOSS_RISE * min(losses) and losses[-1] > losses[-2]:
        best = rows[losses.index(min(losses))]["epoch"]
        why = (f"The training loss rose from {min(losses):.3g} (epoch {best}) to {losses[-1]:.3g}: "
               "the steps are so large they jump past the minimum.")
    else:
        return None
    lr = lower_lr(config)
    smaller = "ten times smaller" if lr == config.lr / 10 else f"in {OPTIMIZER_TITLES[config.optimizer]}'s usual range"
    return Hint("lr_too_high", "Learning rate too high", f"{why} Try a learning rate {smaller} ({lr:g}).",
                {"lr": lr})


def _vanishing_hint(config: TrainConfig, history: list[dict], gradients: GradientFinding | None) -> Hint | None:
    spec, train_acc = config.model, _accuracies(history)[0]
    if gradients and gradients.kind == "vanishing":
        why = gradients.evidence.removeprefix("Vanishing gradients: ").capitalize()  # the title says it already
    elif (gradients is None and not any(h.get("layers") for h in history) and spec.activation in SQUASHING
          and len(spec.hidden) >= 3 and spec.norm == "none" and train_acc and train_acc[-1] < SLOW_DEEP_ACCURACY):
        why = (f"{len(spec.hidden)} {spec.activation} layers and training accuracy only {train_acc[-1]:.0%}: "
               f"each {spec.activation} shrinks the gradient on its way back, so the first layers barely learn "
               f"(this run has no per-layer statistics to confirm it; a ratio ≥ {VANISHING_RATIO:g}× would).")
    else:
        return None
    if spec.activation in SQUASHING:
        # ReLU alone is not enough with PyTorch's default init: its weights shrink the signal at every layer,
        # so a deep ReLU net starts as slowly. He initialisation is the one made for ReLU.
        advice, fix = ("Try ReLU with He initialisation: ReLU's slope is 1 wherever it is active, and He's weights "
                       "keep the signal's size through every layer.", {"activation": "relu", "init": "he_normal"})
    elif config.engine == "torch" and spec.norm == "none":
        advice, fix = "Try batch normalisation: it rescales each layer's signal.", {"norm": "batch"}
    else:
        advice, fix = "Try fewer layers.", {}
    return Hint("vanishing_gradients", "Vanishing gradients", f"{why} {advice}", fix)


def _dead_hint(config: TrainConfig, layers: list[dict]) -> Hint | None:
    if config.model.activation != "relu":
        return None
    dead = [(layer["name"], layer["dead_fraction"]) for layer in layers if layer.get("dead_fraction") is not None
            and layer["dead_fraction"] > DEAD_FRACTION]
    if not dead:
        return None
    name, share = max(dead, key=lambda d: d[1])
    why = (f"{share:.0%} of the units in {name} never fire (output 0 for every input), so they pass no gradient "
           "and can never recover. A large learning rate knocks them there; LeakyReLU keeps a small slope for "
           "negative inputs so they can.")
    if config.engine == "torch":
        return Hint("dead_relu", f"Dead ReLUs in {name}", why + " Try LeakyReLU.", {"activation": "leaky_relu"})
    lr = config.lr / 10
    return Hint("dead_relu", f"Dead ReLUs in {name}", why + f" Try a smaller learning rate ({lr:g}).", {"lr": lr})


def _overfit_hint(config: TrainConfig, history: list[dict]) -> Hint | None:
    train, held, split = _accuracies(history)
    gaps = [t - h for t, h in zip(train, held)]
    if len(gaps) < 2 or gaps[-1] <= OVERFIT_GAP or gaps[-1] - min(gaps[:-1]) < OVERFIT_GROWTH:
        return None
    why = (f"Training accuracy {train[-1]:.1%} vs {split} {held[-1]:.1%}: a gap of {100 * gaps[-1]:.1f} points "
           f"that widened from {100 * min(gaps[:-1]):.1f}. The network is memorising the training images.")
    spec = config.model
    if spec.hidden and spec.dropout < 0.2:
        return Hint("overfitting", "Overfitting", why + " Try dropout 0.3.", {"dropout": 0.3})
    if config.train_subset is not None:
        return Hint("overfitting", "Overfitting", why + " Train on all the training images.", {"train_subset": None})
    if config.engine == "torch" and not config.augment.active:
        return Hint("overfitting", "Overfitting", why + " Try augmentation (small rotations, shifts and zooms).",
                    {"augment": "affine"})
    wd = max(config.weight_decay * 10, 5e-4)
    return Hint("overfitting", "Overfitting", why + f" Try weight decay {wd:g}.", {"weight_decay": min(wd, 1.0)})


def _underfit_hint(config: TrainConfig, history: list[dict]) -> Hint | None:
    train = _accuracies(history)[0] or [h["train_accuracy"] for h in history if h.get("train_accuracy") is not None]
    if len(train) < 2 or train[-1] >= UNDERFIT_CEILING:
        return None
    if train[-1] - train[-2] >= UNDERFIT_RISE:
        epochs = min(config.epochs * 2, MAX_EPOCHS)
        why = (f"Training accuracy was still climbing at the end ({train[-2]:.1%} → {train[-1]:.1%} in the last "
               f"epoch). Train longer ({epochs} epochs), or use a wider network.")
        return Hint("underfitting", "Still learning when training stopped", why, {"epochs": epochs})
    if train[-1] < SMALL_MODEL_ACCURACY:
        hidden = tuple(2 * w for w in config.model.hidden) or (128,)
        why = (f"Training accuracy levelled off at {train[-1]:.1%}: the network cannot even fit the training "
               f"images. Try a bigger one (hidden layers {', '.join(map(str, hidden))}).")
        return Hint("underfitting", "Model too small", why, {"hidden": hidden})
    return None


RELUS = ("relu", "leaky_relu", "gelu")


def _chance_hint(config: TrainConfig, history: list[dict], status: str | None) -> Hint | None:
    """A run at chance that no learning-rate or gradient rule explains: a bigger model would not help either."""
    held = _accuracies(history)[1]
    if status != "stalled" and not (held and near_chance(held[-1])):
        return None
    seen = f"Held-out accuracy stayed at chance ({held[-1]:.0%})" if held else "The run never beat guessing"
    spec, usual = config.model, lr_range(config.optimizer)
    if spec.activation in RELUS and spec.init == "torch" and len(spec.hidden) >= 2:
        # kaiming_uniform(a=√5) has std 1/√(3·fan_in), He has √(2/fan_in): 0.41× as large.
        why = (f"{seen}: PyTorch's default initialisation draws weights about 0.4× the size ReLU layers need, so "
               f"across {len(spec.hidden)} layers the signal, and the gradient, shrink to almost nothing. "
               "Try He initialisation.")
        return Hint("no_learning", "Not learning", why, {"init": "he_normal"})
    if config.lr < usual.typical:
        why = (f"{seen}: the steps may be too small to leave the starting point. Try a learning rate of "
               f"{usual.typical:g}, typical for {OPTIMIZER_TITLES[config.optimizer]}.")
        return Hint("no_learning", "Not learning", why, {"lr": usual.typical})
    why = f"{seen}: check that the labels match the images, and try another initialisation or optimizer."
    return Hint("no_learning", "Not learning", why, {})


def diagnose(config: TrainConfig | dict, history: list[dict], layers: list[dict] | None = None,
             status: str | None = None) -> list[Hint]:
    """Hints for a run, most urgent first.

    Args:
        config: the run's TrainConfig (or its dict).
        history: per-epoch dicts (EpochEnded fields, plus 'layers' where recorded).
        layers: per-layer stats to judge dead units by; default the last epoch's 'layers'.
        status: the run's status; "diverged" means its loss became NaN, "stalled" that it never beat guessing.
    """
    config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    if layers is None:
        layers = next((h["layers"] for h in reversed(history) if h.get("layers")), [])
    gradients = gradient_finding(history, config.model.activation)
    lr = _lr_hint(config, history, status, layers, gradients)
    # The learning rate explains dead units and starved early layers too; their fixes would keep it.
    hints = [lr] if lr else [_vanishing_hint(config, history, gradients), _dead_hint(config, layers)]
    if not any(hints):
        hints.append(_chance_hint(config, history, status))  # at chance, "train longer" or "go bigger" misleads
    overfit = _overfit_hint(config, history)
    hints.append(overfit)
    if overfit is None and not any(h and h.kind in ("lr_too_high", "lr_too_low", "vanishing_gradients", "no_learning")
                                   for h in hints):
        hints.append(_underfit_hint(config, history))
    return [h for h in hints if h is not None]
