"""The training controls by section, presets and recipes loaded into them, and the config they hold.

Widget values live in the kept store (see `ui.state`), so a preset loaded on Home, augmentation
tried on Data and settings made on Train are one and the same configuration.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from mnistlab.device import cuda_available, device_name
from mnistlab.presets import PRESETS
from mnistlab.train.config import AUGMENT_NAMES, Augment, TrainConfig
from ui import state
from ui.controls import MAX_LAYERS as MAX_LAYERS  # re-exported: tests and links know it from here
from ui.controls import bound, draw_section
from ui.help_texts import CONTROL_HELP
from ui.labels import CUSTOM as CUSTOM
from ui.labels import label as label
from ui.setting_values import build_augment as build_augment
from ui.setting_values import build_config as build_config
from ui.setting_values import leaves, stops
from ui.setting_values import widget_values as setting_widget_values

DEFAULT_PRESET = "fast"
_LEAF = {leaf.path: leaf for leaf in leaves()}
LR_OPTIONS = stops(_LEAF[("lr",)])  # the learning-rate slider's stops (presets' values included)
BATCH_OPTIONS = stops(_LEAF[("batch_size",)])


def preset_label(name: str) -> str:
    return "Custom (library defaults)" if name == CUSTOM else f"{PRESETS[name].title}  ·  {name}"


def widget_values(config: TrainConfig) -> dict[str, Any]:
    """Every control's key and value that show `config`, the augmentation recipe picker's included."""
    return {**setting_widget_values(config), "aug_recipe": recipe_name(config.augment)}


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

def _on_preset(key: str) -> None:
    load_preset(st.session_state[key])


def preset_picker() -> str:
    """The preset selectbox; choosing one loads it into every control."""
    ensure_loaded()
    return bound(st.selectbox, "Preset", "preset", DEFAULT_PRESET, on_change=_on_preset, options=[*PRESETS, CUSTOM],
                 format_func=preset_label, help=CONTROL_HELP["preset"])


def _on_augment(key: str) -> None:
    state.remember(key)
    state.keep(aug_recipe=recipe_name(current_augment()))


def _on_recipe(key: str) -> None:
    state.remember(key)
    recipe = AUGMENT_NAMES.get(st.session_state[key])
    if recipe is not None:
        values = widget_values(TrainConfig(augment=recipe))
        copy_key = next(leaf.key for leaf in leaves() if leaf.path == ("augment", "concat_original"))
        state.keep(**{leaf.key: values[leaf.key] for leaf in leaves()
                      if leaf.path[0] == "augment" and leaf.key != copy_key})


def augment_controls() -> Augment:
    """Rotation, shift, zoom, shear, flip and elastic sliders (shared by Train and Data)."""
    ensure_loaded()
    bound(st.selectbox, "Recipe", "aug_recipe", CUSTOM, on_change=_on_recipe, options=[*AUGMENT_NAMES, CUSTOM],
          format_func=label, help=CONTROL_HELP["aug_recipe"])
    for column, col in enumerate(st.columns(2)):
        with col:
            draw_section("augment", column, on_change=_on_augment)
    return current_augment()


def model_controls(config_cls: type = TrainConfig) -> None:
    draw_section("model", config_cls=config_cls)


def optimisation_controls(config_cls: type = TrainConfig) -> None:
    draw_section("optimisation", config_cls=config_cls)


def data_controls(config_cls: type = TrainConfig) -> None:
    draw_section("data", config_cls=config_cls)
    gpu = cuda_available()
    name = device_name(torch.device("cuda" if gpu else "cpu"))
    st.caption(f"GPU: **{name}**" if gpu else f"No CUDA GPU on this server: training runs on the {name}.")


def advanced_controls(config_cls: type = TrainConfig) -> None:
    for column, col in enumerate(st.columns(3)):
        with col:
            draw_section("advanced", column, config_cls=config_cls)


def config_diff(config: TrainConfig, reference: TrainConfig) -> list[str]:
    """'epochs 4 → 2' for every field where `config` differs from `reference`."""
    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    new, old = flat(config.to_dict()), flat(reference.to_dict())
    return [f"{k.split('.')[-1]} {old[k]} → {new[k]}" for k in new if new[k] != old.get(k)]
