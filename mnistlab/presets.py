"""Presets: the classic tutorial recipes, each with the figure its source published, then the record recipes."""

from __future__ import annotations

from mnistlab.errors import ConfigError
from mnistlab.models.spec import MLPSpec
from mnistlab.preset import Preset as Preset  # re-exported: where presets are looked up
from mnistlab.record_presets import BEST_MLP_SHORT, RECORDS
from mnistlab.train.config import Augment, TrainConfig

KERAS = dict(init="glorot_uniform")  # Keras's Dense default: glorot-uniform weights, zero biases

VANISHING = Preset(
    "seed003-vanishing", "Vanishing gradients: 4×50 sigmoid on raw pixels, plain SGD",
    "Four sigmoid layers fed raw 0–255 pixels: the first layer saturates, gradients fade before reaching it, "
    "and for some 60 to 90 epochs the net only guesses the commonest digit before it starts to climb. The "
    "tutorial's code asks for SGD(lr=0.001), but Keras 2.11 and later drop the `lr=` keyword with a warning and "
    "train at SGD's default 0.01, which gives the tutorial's curve (a climb after about 60 epochs); this preset "
    "uses 0.01. At 0.001 it never leaves 11.35% in 100 epochs.",
    TrainConfig(model=MLPSpec(hidden=(50, 50, 50, 50), activation="sigmoid", output="softmax", input_scale="raw",
                              **KERAS),
                optimizer="sgd", lr=0.01, batch_size=256, epochs=100, train_subset=19_800, subset_mode="sklearn",
                subset_seed=7, val_split=0.3, val_mode="last"),
    0.2144, "Keras vanishing-gradient demonstration: raw 0–255 pixels, train_test_split(test_size=0.67, "
    "random_state=7) keeps 19,800 training images, validation_split 0.3 holds out their last 30%")


def _relu_twin(vanishing: Preset) -> Preset:
    """seed003-vanishing with ReLU instead of sigmoid and nothing else changed: the contrast on Inspect."""
    return Preset("seed003-relu", "The same 4×50 net with ReLU, nothing else changed",
                  "Only the activation changes from seed003-vanishing. Open both on Inspect → Gradient flow: here "
                  "the first layer's gradient stays as large as the last's, and the net learns within a few "
                  "epochs. On raw 0–255 pixels the first steps are huge, though: with some seeds all of the first "
                  "layer's ReLUs die and it never learns (seed 0: Inspect → Diagnose finds 100% dead units). Try "
                  "unit inputs.",
                  vanishing.config.with_(activation="relu"), None,
                  "mnistlab: seed003-vanishing with ReLU instead of sigmoid, for the contrast (no figure published)")


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("seed000-mlp", "PyTorch tutorial MLP 784-512-10",
           "The classic first MLP: one ReLU layer, plain SGD. Watch the test accuracy pass 97% in a few epochs. "
           "Like the tutorial's DataLoader (no shuffle=True) it sees the images in the files' order every epoch; "
           "turn on Shuffle each epoch to compare.",
           TrainConfig(model=MLPSpec(hidden=(512,)), optimizer="sgd", lr=0.1, batch_size=20, epochs=10,
                       shuffle=False),
           0.97, "PyTorch MNIST MLP tutorial (torchvision + DataLoader without shuffle, batch 20, SGD 0.1)"),
    Preset("seed000-augment", "Same MLP trained on original + augmented copies",
           "Augmentation (rotation, shift, zoom) doubles the data the network sees: slower epochs, better generalisation.",
           TrainConfig(model=MLPSpec(hidden=(512,)), optimizer="sgd", lr=0.1, batch_size=20, epochs=10,
                       augment=Augment(rotation=25, translate=0.1, scale_min=0.8, scale_max=1.2,
                                       concat_original=True)),
           0.98, "PyTorch MNIST MLP tutorial, augmented variant (RandomRotation 25° + RandomAffine, copy concatenated)"),
    Preset("seed000-net2-adam", "Deeper net 784-512-120-84-10 with dropout and Adam",
           "More layers, dropout after the first one and Adam: a smoother, faster climb than plain SGD.",
           TrainConfig(model=MLPSpec(hidden=(512, 120, 84), dropout=0.3, dropout_where="first"),
                       optimizer="adam", lr=1e-3, batch_size=64, epochs=10),
           0.98, "PyTorch MNIST tutorial, second network (Adam 1e-3)"),
    Preset("seed000-keras-dropout", "Keras 784-128-10 with dropout and augmentation",
           "A small net with dropout 0.2 and light augmentation: robust to shifted and rotated digits.",
           TrainConfig(model=MLPSpec(hidden=(128,), dropout=0.2, **KERAS), optimizer="adam", lr=1e-3,
                       batch_size=32, epochs=10,
                       augment=Augment(rotation=15, translate=0.1, scale_min=0.9, scale_max=1.1)),
           None, "Keras Sequential MLP tutorial with ImageDataGenerator (no figure published)"),
    Preset("seed001-sigmoid-mse", "'Make your own neural network' 784-200-10 sigmoid + MSE",
           "The textbook network: sigmoid everywhere, squared error, one image per step. Slow but it learns.",
           TrainConfig(model=MLPSpec(hidden=(200,), activation="sigmoid", output="sigmoid"), loss="mse",
                       optimizer="sgd", lr=0.01, batch_size=1, epochs=3),
           None, "'Make Your Own Neural Network' in PyTorch, first version (no figure published)"),
    Preset("seed001-improved", "The same network improved: LeakyReLU, LayerNorm, Adam, BCE",
           "Swap sigmoid for LeakyReLU, add LayerNorm, use Adam and binary cross-entropy: each fix speeds learning.",
           TrainConfig(model=MLPSpec(hidden=(200,), activation="leaky_relu", leaky_slope=0.02, norm="layer",
                                     output="sigmoid"),
                       loss="bce", optimizer="adam", lr=1e-3, batch_size=1, epochs=3),
           None, "'Make Your Own Neural Network' in PyTorch, improved version (no figure published)"),
    Preset("seed002-numpy", "From scratch in NumPy: 784-100-10 ReLU with dropout",
           "Every gradient written by hand. Only 1,000 training images: watch train accuracy race ahead of test. "
           "It follows numpy.org's tutorial to the digit (its seed, init, one random stream, fixed order, and its "
           "two quirks: the ReLU derivative is 1 everywhere and the hidden error is not doubled), so its test "
           "accuracy reads 0.582, 0.641, 0.679 … 0.784 as the tutorial printed.",
           TrainConfig(engine="numpy", numpy_recipe="numpy-tutorial", model=MLPSpec(hidden=(100,), dropout=0.5),
                       loss="mse", optimizer="sgd", lr=0.005, batch_size=1, epochs=20, train_subset=1000,
                       test_subset=1000, shuffle=False, seed=884736743, device="cpu"),
           0.784, "numpy.org tutorial 'Deep learning on MNIST' (seed 884736743; first 1,000 train / 1,000 test images)"),
    VANISHING,
    _relu_twin(VANISHING),
    Preset("seed004-fashion", "Fashion-MNIST 784-256-128-10",
           "The same kind of MLP on clothes: harder classes (shirt vs T-shirt vs pullover) cap the accuracy lower.",
           TrainConfig(dataset="fashion-mnist", model=MLPSpec(hidden=(256, 128), input_scale="standardize"), optimizer="sgd", lr=0.01,
                       batch_size=64, epochs=30),
           None, "PyTorch Fashion-MNIST MLP tutorial, inputs normalised as its transforms.Normalize (no figure published)"),
    Preset("fast", "Fast: 98% on MNIST in 2 epochs",
           "mnistlab's own recipe: a wide ReLU layer, Adam with a one-cycle schedule and large batches.",
           TrainConfig(model=MLPSpec(hidden=(1024,)), optimizer="adam", lr=2e-3, schedule="onecycle",
                       batch_size=128, epochs=3, label_smoothing=0.1),
           None, "mnistlab"),
    *RECORDS,
    BEST_MLP_SHORT,
]}


def get_preset(name: str) -> Preset:
    """Look a preset up by name, listing the known ones on a miss."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.") from None


def _flat(data: dict, prefix: str = "") -> dict:
    """{'model': {'hidden': [512]}} → {'model.hidden': [512]}."""
    out = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def _show(value) -> str:
    """A setting's value as a learner reads it: [512, 128] → '512,128', None → 'none'."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


RECIPE_IGNORES = ("device",)  # where a recipe runs changes its speed, not the experiment


def preset_changes(config: TrainConfig | dict, preset_name: str) -> list[str]:
    """What `config` changes from the preset's recipe, e.g. ['epochs 3 → 1', 'activation relu → tanh']; [] when it is the recipe.

    A dict config is compared on the settings it holds (an old run's config may lack a newer field).
    """
    ours = _flat(config.to_dict() if isinstance(config, TrainConfig) else config)
    recipe = _flat(get_preset(preset_name).config.to_dict())
    return [f"{key.split('.')[-1]} {_show(recipe[key])} → {_show(value)}" for key, value in ours.items()
            if key in recipe and key not in RECIPE_IGNORES and value != recipe[key]]
