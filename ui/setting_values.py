"""Between a config and the dashboard's widget values, generated from the settings' declarations.

`widget_values(config)` gives every control's key and value; `build_config(values, dataset)` is its
inverse and validates like every other door. Neither names a field: both walk `leaf_settings`.
"""

from __future__ import annotations

import math
from typing import Any

from mnistlab.data.datasets import DATASETS, dataset_info
from mnistlab.device import cuda_available
from mnistlab.errors import MnistlabError
from mnistlab.presets import PRESETS
from mnistlab.settings import Leaf, get_path, leaf_settings, set_paths
from mnistlab.train.config import Augment, TrainConfig

LAYERS_KEY, WIDTH_KEY = "cfg_layers", "cfg_width_{}"  # a widths setting: a count, then one width control each
DEFAULT_WIDTH = 128  # a layer added with the count control starts this wide


def _info(dataset: str):
    """The dataset's sizes and classes (the digits' when it cannot be read: the page says why elsewhere)."""
    try:
        return dataset_info(dataset)
    except MnistlabError:
        return DATASETS["mnist"]


def width_key(index: int) -> str:
    return WIDTH_KEY.format(index)


def leaves(config_cls: type = TrainConfig) -> list[Leaf]:
    """The settings the dashboard draws (those with a control), in declaration order."""
    return [leaf for leaf in leaf_settings(config_cls) if leaf.setting.widget != "none"]


def stops(leaf: Leaf) -> tuple:
    """A select_slider's stops: the declared ones plus every preset's value, so a preset shows exactly."""
    preset_values = {get_path(p.config, leaf.path) for p in PRESETS.values()}
    return tuple(sorted(set(leaf.setting.options) | preset_values))


def choices(leaf: Leaf) -> tuple:
    """The choices a control offers on this server: CUDA only where there is a GPU."""
    if leaf.path == ("device",) and not cuda_available():
        return tuple(c for c in leaf.setting.choices if c != "cuda")
    return leaf.setting.choices


def _snap(value: float, options: tuple) -> float:
    """The option nearest to `value` on a log scale (options are positive)."""
    return min(options, key=lambda o: abs(math.log(o) - math.log(max(value, 1e-12))))


def _shown(leaf: Leaf, config: Any) -> dict[str, Any]:
    """The widget key(s) and value(s) that show one setting of `config`."""
    s, value = leaf.setting, get_path(config, leaf.path)
    if s.widget == "widths":
        return {LAYERS_KEY: len(value), **{width_key(i): w for i, w in enumerate(value)}}
    if s.widget == "range":
        return {leaf.key: (float(value), float(get_path(config, (*leaf.path[:-1], s.pair))))}
    if s.widget == "select_slider":
        snapped = _snap(value, stops(leaf))
        return {leaf.key: int(snapped) if s.kind == "int" else snapped}
    if s.kind == "subset":
        size = _info(config.dataset).train_size
        return {leaf.key: 0 if value is None else int(value if isinstance(value, int) else round(value * size))}
    if s.kind == "choice" and value not in choices(leaf):
        return {leaf.key: choices(leaf)[0]}
    if s.optional:  # 0 stands for none ("all", "off"), typed like the control
        return {leaf.key: float(value or 0) if s.kind == "float" else value or 0}
    return {leaf.key: float(value) if s.kind == "float" else value}


def widget_values(config: TrainConfig) -> dict[str, Any]:
    """The widget keys and values that show `config` (the inverse of `build_config`)."""
    values: dict[str, Any] = {}
    for leaf in leaves(type(config)):
        values.update(_shown(leaf, config))
    return values


def _read(leaf: Leaf, values: dict[str, Any], fallback: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """The config path(s) and value(s) one control holds (a key not kept yet reads the default)."""
    s = leaf.setting
    if s.widget == "widths":
        count = int(values.get(LAYERS_KEY, fallback[LAYERS_KEY]))
        return {leaf.path: tuple(int(values.get(width_key(i), DEFAULT_WIDTH)) for i in range(count))}
    value = values.get(leaf.key, fallback[leaf.key])
    if s.widget == "range":
        return {leaf.path: value[0], (*leaf.path[:-1], s.pair): value[1]}
    if s.kind in ("int", "subset"):
        value = (int(value) or None) if s.optional else int(value)
    elif s.kind == "float" and s.optional:
        value = float(value) or None  # 0 = off, as the config's default None
    return {leaf.path: value}


def build_augment(values: dict[str, Any]) -> Augment:
    """The augmentation the controls hold, whatever the other controls say (the Data page previews it)."""
    fallback = widget_values(TrainConfig())
    changes: dict[tuple[str, ...], Any] = {}
    for leaf in leaves():
        if leaf.path[0] == "augment":
            changes.update({path[1:]: value for path, value in _read(leaf, values, fallback).items()})
    return Augment.from_dict(set_paths(Augment().to_dict(), changes))


def build_config(values: dict[str, Any], dataset: str, config_cls: type = TrainConfig) -> TrainConfig:
    """A validated config from widget values (ConfigError names the bad setting)."""
    defaults = config_cls()
    fallback = widget_values(defaults)
    changes: dict[tuple[str, ...], Any] = {("dataset",): dataset, ("model", "outputs"): _info(dataset).num_classes}
    for leaf in leaves(config_cls):
        changes.update(_read(leaf, values, fallback))
    return config_cls.from_dict(set_paths(defaults.to_dict(), changes))
