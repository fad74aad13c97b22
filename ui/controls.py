"""Draw the training controls from the settings' declarations: one widget per setting, in its section.

A declared setting (`mnistlab.settings`) names its widget, range, step, section and column; `draw_section`
draws every setting of a section, bound to the kept store (`ui.state`) so pages share one configuration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from mnistlab.settings import Leaf
from mnistlab.train.config import TrainConfig
from ui import state
from ui.help_texts import width_help
from ui.labels import label
from ui.setting_values import DEFAULT_WIDTH, LAYERS_KEY, choices, leaves, stops, widget_values, width_key

MAX_LAYERS = 6  # the count control's top: deeper nets come from a preset or a config file


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


def bound(widget: Callable, text: str, key: str, default: Any = None, on_change: Callable | None = None,
          **kw) -> Any:
    """Draw `widget` bound to the kept value of `key` (brought into the control's range first)."""
    _clamp(key, kw.get("min_value"), kw.get("max_value"))
    state.remembered(key, default)
    return widget(text, key=key, on_change=on_change or state.remember, args=(key,), **kw)


def _numbers(leaf: Leaf, values: dict) -> dict[str, Any]:
    """min/max/step keywords for a number control, typed like the setting (Streamlit refuses a mix)."""
    s = leaf.setting
    low, high = s.control_range
    if s.kind == "subset":
        low, high = 0, state.info().train_size
    elif s.optional:
        low = 0  # 0 stands for "all"
    cast = float if s.kind == "float" else int
    kw = {"min_value": None if low is None else cast(low), "max_value": None if high is None else cast(high)}
    if s.step is not None:
        kw["step"] = cast(s.step)
    if s.kind == "float":
        kw["format"] = "%g"
    return kw


def _widths(leaf: Leaf, defaults: dict) -> None:
    """A count of hidden layers, then one width control per layer, side by side."""
    s = leaf.setting
    layers = bound(st.number_input, s.label, LAYERS_KEY, defaults[LAYERS_KEY], min_value=0, max_value=MAX_LAYERS,
                   step=1, help=s.help)
    low, high = s.control_range
    for i, col in enumerate(st.columns(layers) if layers else []):
        with col:
            bound(st.number_input, f"Width {i + 1}", width_key(i), DEFAULT_WIDTH, min_value=int(low),
                  max_value=int(high), step=int(s.step or 1), help=width_help(i))


def draw(leaf: Leaf, defaults: dict, on_change: Callable | None = None) -> None:
    """The control that one setting declares."""
    s, key = leaf.setting, leaf.key
    common = {"help": s.help, "on_change": on_change}
    if s.widget == "widths":
        _widths(leaf, defaults)
    elif s.widget == "select":
        bound(st.selectbox, s.label, key, defaults[key], options=list(choices(leaf)), format_func=label, **common)
    elif s.widget == "segmented":
        bound(st.segmented_control, s.label, key, defaults[key], options=list(choices(leaf)), format_func=label,
              required=True, **common)
    elif s.widget == "select_slider":
        bound(st.select_slider, s.label, key, defaults[key], options=list(stops(leaf)),
              format_func=lambda v: f"{v:g}", **common)
    elif s.widget == "toggle":
        bound(st.toggle, s.label, key, defaults[key], **common)
    elif s.widget in ("slider", "range"):
        low, high = s.control_range
        bound(st.slider, s.label, key, defaults[key], min_value=float(low), max_value=float(high),
              step=float(s.step or 0.01), **common)
    else:
        bound(st.number_input, s.label, key, defaults[key], **_numbers(leaf, defaults), **common)


def draw_section(section: str, column: int | None = None, config_cls: type = TrainConfig,
                 on_change: Callable | None = None) -> None:
    """Every setting declared for `section` (and `column`), in declaration order."""
    defaults = widget_values(config_cls())
    for leaf in leaves(config_cls):
        if leaf.setting.section == section and (column is None or leaf.setting.column == column):
            draw(leaf, defaults, on_change)
