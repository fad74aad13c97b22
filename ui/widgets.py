"""The training controls: one widget per `TrainConfig`/`MLPSpec` field, returning a validated config.

Widget values live in the kept store (see `ui.state`), so a preset loaded on Home, augmentation
tried on Data and settings made on Train are one and the same configuration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import streamlit as st
import torch

from mnistlab.data.datasets import DATASETS
from mnistlab.device import cuda_available, device_name
from mnistlab.models.spec import ACTIVATIONS, DROPOUT_WHERE, INITS, NORMS, OUTPUTS, MLPSpec
from mnistlab.presets import PRESETS
from mnistlab.train.config import (
    AUGMENT_NAMES,
    ENGINES,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    SUBSET_MODES,
    VAL_MODES,
    Augment,
    TrainConfig,
)
from ui import state
from ui.help_texts import CONTROL_HELP, width_help

DEFAULT_PRESET = "fast"
CUSTOM = "custom"
MAX_LAYERS = 6
LR_OPTIONS = tuple(sorted({float(f"{m}e{e}") for e in range(-5, 1) for m in (1, 2, 3, 5)} | {10.0}
                          | {p.config.lr for p in PRESETS.values()}))
BATCH_OPTIONS = tuple(sorted({1, 2, 4, 8, 16, 20, 32, 50, 64, 100, 128, 256, 512, 1024, 2048, 4096}
                             | {p.config.batch_size for p in PRESETS.values()}))
LABELS = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "leaky_relu": "LeakyReLU", "gelu": "GELU",
          "none": "none", "layer": "LayerNorm", "batch": "BatchNorm", "softmax": "softmax", "sgd": "SGD",
          "momentum": "SGD + momentum", "adam": "Adam", "adamw": "AdamW", "step": "step decay", "cosine": "cosine",
          "onecycle": "one-cycle", "ce": "cross-entropy", "mse": "mean squared error", "bce": "binary cross-entropy",
          "auto": "auto", "cpu": "CPU", "cuda": "CUDA", "torch": "PyTorch", "numpy": "NumPy (from scratch)",
          "affine": "affine (rotate, shift, zoom)", "flip": "flip", "elastic": "elastic", CUSTOM: "custom"}


def label(value: Any) -> str:
    return LABELS.get(value, str(value)) if isinstance(value, str) else str(value)


def preset_label(name: str) -> str:
    return "Custom (library defaults)" if name == CUSTOM else f"{PRESETS[name].title}  ·  {name}"


def _snap(value: float, options: tuple) -> float:
    """The option nearest to `value` on a log scale (options are positive)."""
    return min(options, key=lambda o: abs(math.log(o) - math.log(max(value, 1e-12))))


def widget_values(config: TrainConfig) -> dict[str, Any]:
    """The widget keys and values that show `config` (the inverse of `build_config`)."""
    m, a = config.model, config.augment
    subset = config.train_subset
    values = {
        "cfg_layers": len(m.hidden), "cfg_activation": m.activation, "cfg_leaky_slope": float(m.leaky_slope),
        "cfg_dropout": float(m.dropout), "cfg_dropout_where": m.dropout_where, "cfg_norm": m.norm,
        "cfg_output": m.output, "cfg_init": m.init, "cfg_standardize": m.standardize, "cfg_engine": config.engine,
        "cfg_epochs": config.epochs, "cfg_batch_size": int(_snap(config.batch_size, BATCH_OPTIONS)),
        "cfg_optimizer": config.optimizer, "cfg_lr": _snap(config.lr, LR_OPTIONS), "cfg_momentum": float(config.momentum),
        "cfg_weight_decay": float(config.weight_decay), "cfg_schedule": config.schedule,
        "cfg_step_epochs": config.step_epochs, "cfg_step_gamma": float(config.step_gamma), "cfg_loss": config.loss,
        "cfg_label_smoothing": float(config.label_smoothing),
        "cfg_train_subset": 0 if subset is None else int(subset if isinstance(subset, int) else round(subset * DATASETS[config.dataset].train_size)),
        "cfg_subset_mode": config.subset_mode, "cfg_test_subset": config.test_subset or 0,
        "cfg_val_split": float(config.val_split), "cfg_val_mode": config.val_mode, "cfg_seed": config.seed,
        "cfg_device": config.device if config.device != "cuda" or cuda_available() else "auto",
        "aug_rotation": float(a.rotation), "aug_translate": float(a.translate),
        "aug_scale": (float(a.scale_min), float(a.scale_max)), "aug_shear": float(a.shear), "aug_hflip": a.hflip,
        "aug_elastic_alpha": float(a.elastic_alpha), "aug_elastic_sigma": float(a.elastic_sigma),
        "aug_concat": a.concat_original, "aug_recipe": recipe_name(a),
    }
    values.update({f"cfg_width_{i}": w for i, w in enumerate(m.hidden)})
    return values


def build_augment(v: dict[str, Any]) -> Augment:
    return Augment(rotation=v["aug_rotation"], translate=v["aug_translate"], scale_min=v["aug_scale"][0],
                   scale_max=v["aug_scale"][1], shear=v["aug_shear"], hflip=v["aug_hflip"],
                   elastic_alpha=v["aug_elastic_alpha"], elastic_sigma=v["aug_elastic_sigma"],
                   concat_original=v["aug_concat"])


def build_config(v: dict[str, Any], dataset: str) -> TrainConfig:
    """A validated TrainConfig from widget values (ConfigError names the bad setting)."""
    model = MLPSpec(hidden=tuple(int(v.get(f"cfg_width_{i}", 128)) for i in range(v["cfg_layers"])),
                    activation=v["cfg_activation"], leaky_slope=v["cfg_leaky_slope"], dropout=v["cfg_dropout"],
                    dropout_where=v["cfg_dropout_where"], norm=v["cfg_norm"], output=v["cfg_output"],
                    init=v["cfg_init"], standardize=v["cfg_standardize"])
    return TrainConfig(dataset=dataset, model=model, engine=v["cfg_engine"], epochs=int(v["cfg_epochs"]),
                       batch_size=int(v["cfg_batch_size"]), optimizer=v["cfg_optimizer"], lr=float(v["cfg_lr"]),
                       momentum=v["cfg_momentum"], weight_decay=v["cfg_weight_decay"], schedule=v["cfg_schedule"],
                       step_epochs=int(v["cfg_step_epochs"]), step_gamma=v["cfg_step_gamma"], loss=v["cfg_loss"],
                       label_smoothing=v["cfg_label_smoothing"], augment=build_augment(v),
                       train_subset=int(v["cfg_train_subset"]) or None, subset_mode=v["cfg_subset_mode"],
                       test_subset=int(v["cfg_test_subset"]) or None, val_split=v["cfg_val_split"],
                       val_mode=v["cfg_val_mode"], seed=int(v["cfg_seed"]), device=v["cfg_device"])


def recipe_name(aug: Augment) -> str:
    """The AUGMENT_NAMES recipe `aug` matches (copy-concatenation aside), else 'custom'."""
    plain = Augment(**{**aug.to_dict(), "concat_original": False})
    return next((name for name, recipe in AUGMENT_NAMES.items() if recipe == plain), CUSTOM)


# -- loading presets ---------------------------------------------------------------------------

def load_preset(name: str, switch_dataset: bool = True) -> None:
    """Put preset `name` (or the defaults for 'custom') into every control, and its dataset in the switch."""
    config = PRESETS[name].config if name in PRESETS else TrainConfig(dataset=state.dataset())
    state.keep(preset=name, **widget_values(config))
    if switch_dataset:
        state.set_dataset(config.dataset)


def load_config(config: TrainConfig) -> None:
    """Put any config (e.g. a diagnosis's fix) into every control as a custom setting, its dataset in the switch."""
    state.keep(preset=CUSTOM, **widget_values(config))
    state.set_dataset(config.dataset)


def ensure_loaded() -> None:
    """First visit: the default preset; a preset asked for from Home (`load_preset` key): that one."""
    pending = st.session_state.pop("load_preset", None)
    if pending:
        load_preset(pending)
    elif "preset" not in state.kept():
        load_preset(DEFAULT_PRESET, switch_dataset=False)  # a first visit keeps the dataset already chosen


def current_values() -> dict[str, Any]:
    ensure_loaded()
    return dict(state.kept())


def current_augment() -> Augment:
    return build_augment(current_values())


# -- drawing ----------------------------------------------------------------------------------------

def _clamp(key: str, low: Any, high: Any) -> None:
    """A kept value outside a control's range (from a link or a fix: epochs 5000, 7 layers) would make
    Streamlit refuse the whole page; show the nearest value instead (Train then says it differs)."""
    value = state.kept().get(key)
    if value is None or (low is None and high is None):
        return
    low, high = -math.inf if low is None else low, math.inf if high is None else high
    fitted = (tuple(min(max(v, low), high) for v in value) if isinstance(value, tuple)  # a range slider
              else min(max(value, low), high))
    if fitted != value:
        state.keep(**{key: fitted})


def _w(widget: Callable, text: str, key: str, default: Any = None, on_change: Callable | None = None, **kw) -> Any:
    """Draw `widget` bound to the kept value of `key` (brought into the control's range first)."""
    _clamp(key, kw.get("min_value"), kw.get("max_value"))
    state.remembered(key, default)
    kw.setdefault("help", CONTROL_HELP.get(key) or (width_help(int(key.rsplit("_", 1)[1])) if key.startswith("cfg_width_")
                                                     else None))
    return widget(text, key=key, on_change=on_change or state.remember, args=(key,), **kw)


def _pick(text: str, key: str, options, **kw) -> Any:
    return _w(st.selectbox, text, key, options[0], options=list(options), format_func=label, **kw)


def _on_preset(key: str) -> None:
    load_preset(st.session_state[key])


def preset_picker() -> str:
    """The preset selectbox; choosing one loads it into every control."""
    ensure_loaded()
    name = _w(st.selectbox, "Preset", "preset", DEFAULT_PRESET, on_change=_on_preset, options=[*PRESETS, CUSTOM],
              format_func=preset_label)
    return name


def _on_augment(key: str) -> None:
    state.remember(key)
    state.keep(aug_recipe=recipe_name(current_augment()))


def _on_recipe(key: str) -> None:
    state.remember(key)
    recipe = AUGMENT_NAMES.get(st.session_state[key])
    if recipe is not None:
        values = widget_values(TrainConfig(augment=recipe))
        state.keep(**{k: v for k, v in values.items() if k.startswith("aug_") and k not in ("aug_concat", "aug_recipe")})


def augment_controls() -> Augment:
    """Rotation, shift, zoom, shear, flip and elastic sliders (shared by Train and Data)."""
    ensure_loaded()
    _w(st.selectbox, "Recipe", "aug_recipe", CUSTOM, on_change=_on_recipe, options=[*AUGMENT_NAMES, CUSTOM],
       format_func=label)
    a, b = st.columns(2)
    with a:
        _w(st.slider, "Rotation (± degrees)", "aug_rotation", 0.0, _on_augment, min_value=0.0, max_value=45.0, step=1.0)
        _w(st.slider, "Shift (± fraction of the side)", "aug_translate", 0.0, _on_augment, min_value=0.0,
           max_value=0.3, step=0.01)
        _w(st.slider, "Zoom range", "aug_scale", (1.0, 1.0), _on_augment, min_value=0.5, max_value=1.5, step=0.05)
        _w(st.slider, "Shear (± degrees)", "aug_shear", 0.0, _on_augment, min_value=0.0, max_value=30.0, step=1.0)
    with b:
        _w(st.slider, "Elastic strength (pixels)", "aug_elastic_alpha", 0.0, _on_augment, min_value=0.0,
           max_value=60.0, step=1.0)
        _w(st.slider, "Elastic smoothness (sigma)", "aug_elastic_sigma", 4.0, _on_augment, min_value=1.0,
           max_value=10.0, step=0.5)
        _w(st.toggle, "Mirror left-right", "aug_hflip", False, _on_augment)
        _w(st.toggle, "Original + augmented copy", "aug_concat", False, _on_augment)
    return current_augment()


def model_controls() -> None:
    layers = _w(st.number_input, "Hidden layers", "cfg_layers", 1, min_value=0, max_value=MAX_LAYERS, step=1)
    if layers:
        for i, col in enumerate(st.columns(layers)):
            with col:
                _w(st.number_input, f"Width {i + 1}", f"cfg_width_{i}", 128, min_value=1, max_value=8192, step=16)
    _pick("Activation", "cfg_activation", ACTIVATIONS)
    _w(st.slider, "Dropout", "cfg_dropout", 0.0, min_value=0.0, max_value=0.9, step=0.05)
    _pick("Normalisation", "cfg_norm", NORMS)


def optimisation_controls() -> None:
    _pick("Optimizer", "cfg_optimizer", OPTIMIZERS)
    _w(st.select_slider, "Learning rate (log scale)", "cfg_lr", 0.1, options=list(LR_OPTIONS),
       format_func=lambda v: f"{v:g}")
    _pick("Schedule", "cfg_schedule", SCHEDULES)
    _w(st.select_slider, "Batch size", "cfg_batch_size", 64, options=list(BATCH_OPTIONS))
    _w(st.number_input, "Epochs", "cfg_epochs", 4, min_value=1, max_value=1000, step=1)
    _pick("Loss", "cfg_loss", LOSSES)


def data_controls() -> None:
    _w(st.number_input, "Train subset (images, 0 = all)", "cfg_train_subset", 0, min_value=0,
       max_value=DATASETS[state.dataset()].train_size,
       step=1000)
    _w(st.slider, "Validation split", "cfg_val_split", 0.0, min_value=0.0, max_value=0.5, step=0.05)
    _w(st.number_input, "Seed", "cfg_seed", 0, min_value=0, max_value=2**31 - 1, step=1)
    gpu = cuda_available()
    devices = ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"]
    if state.kept().get("cfg_device") not in devices:
        state.keep(cfg_device="auto")
    _w(st.segmented_control, "Device", "cfg_device", "auto", options=devices, format_func=label, required=True)
    name = device_name(torch.device("cuda" if gpu else "cpu"))
    st.caption(f"GPU: **{name}**" if gpu else f"No CUDA GPU on this server: training runs on the {name}.")


def advanced_controls() -> None:
    a, b, c = st.columns(3)
    with a:
        _pick("Engine", "cfg_engine", ENGINES)
        _pick("Output activation", "cfg_output", OUTPUTS)
        _pick("Weight init", "cfg_init", INITS)
        _pick("Dropout after", "cfg_dropout_where", DROPOUT_WHERE)
        _w(st.number_input, "LeakyReLU slope", "cfg_leaky_slope", 0.01, min_value=0.0, max_value=1.0, step=0.01)
    with b:
        _w(st.number_input, "Momentum", "cfg_momentum", 0.9, min_value=0.0, max_value=0.999, step=0.01)
        _w(st.number_input, "Weight decay", "cfg_weight_decay", 0.0, min_value=0.0, max_value=1.0, step=1e-4,
           format="%g")
        _w(st.number_input, "Step schedule: every N epochs", "cfg_step_epochs", 10, min_value=1, max_value=1000)
        _w(st.number_input, "Step schedule: multiply by", "cfg_step_gamma", 0.1, min_value=0.01, max_value=1.0, step=0.05)
        _w(st.number_input, "Label smoothing", "cfg_label_smoothing", 0.0, min_value=0.0, max_value=0.5, step=0.05)
    with c:
        _pick("Subset draw", "cfg_subset_mode", SUBSET_MODES)
        _w(st.number_input, "Test subset (first N, 0 = all)", "cfg_test_subset", 0, min_value=0, max_value=10_000,
           step=1000)
        _pick("Validation taken from", "cfg_val_mode", VAL_MODES)
        _w(st.toggle, "Standardise pixels", "cfg_standardize", False)


def config_diff(config: TrainConfig, reference: TrainConfig) -> list[str]:
    """'epochs 4 → 2' for every field where `config` differs from `reference`."""
    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    new, old = flat(config.to_dict()), flat(reference.to_dict())
    return [f"{k.split('.')[-1]} {old[k]} → {new[k]}" for k in new if new[k] != old.get(k)]
