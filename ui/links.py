"""Train's configuration in the URL, TensorFlow Playground style: `?preset=fast&epochs=5&hidden=256,128`.

Only the settings that differ from the preset are written, under their config field names (model and
augmentation fields flattened: `activation`, `rotation`). A reload or a shared link restores them in a
fresh session; every value goes through `TrainConfig`, and one that it refuses is left out with a notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from mnistlab.errors import ConfigError
from mnistlab.presets import PRESETS
from mnistlab.settings import Leaf, get_path, leaf_settings, set_paths
from mnistlab.train.config import TrainConfig
from ui import state, widgets

PRESET = "preset"
# Other parts of the app own these parameters: no notice for them, and `write` leaves every parameter it does not own.
NOT_OURS = ("job", "me", "run", "tab", "embed", "embed_options")
NOTICE = "link_notice"  # session_state: the sentence about what a link could not restore
WANTED = "link_config"  # session_state: the config a link asked for, to compare with what the controls show


FIELDS: dict[str, Leaf] = {leaf.path[-1]: leaf for leaf in leaf_settings(TrainConfig)}  # URL name → setting


def _flat(config: TrainConfig) -> dict[str, Any]:
    return {name: get_path(config, leaf.path) for name, leaf in FIELDS.items()}


def base(preset: str) -> TrainConfig:
    """The configuration a link's changes apply to: the preset's, or the library defaults for 'custom'."""
    return PRESETS[preset].config if preset in PRESETS else TrainConfig()


def format_value(value: Any) -> str:
    """A short, readable URL value: 'true', 'none', '256,128', '0.002', '30'."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        short = f"{value:.6g}"
        return short if float(short) == value else repr(value)
    return str(value)


def parse_value(text: str, leaf: Leaf) -> Any:
    """The URL text as the setting's kind; text that does not parse is passed on as is, so that TrainConfig
    refuses it with its own message (the range, the choices)."""
    text, kind = text.strip(), leaf.setting.kind
    try:
        if kind == "bool":
            return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
                text.lower(), text)
        if kind == "widths":
            return () if text.lower() in ("", "none", "0") else tuple(int(w) for w in text.split(","))
        if leaf.setting.optional and text.lower() in ("", "none", "all", "0"):
            return None
        if kind in ("int", "subset"):  # counts; a subset may also be a fraction
            return int(text) if text.lstrip("-").isdigit() else float(text) if kind == "subset" else text
        if kind == "float":
            return float(text)
    except ValueError:
        return text
    return text


def _apply(config: TrainConfig, name: str, value: Any) -> TrainConfig:
    return TrainConfig.from_dict(set_paths(config.to_dict(), {FIELDS[name].path: value}))


def encode(config: TrainConfig, preset: str) -> dict[str, str]:
    """`preset` and every setting of `config` that differs from it, as URL parameters."""
    new, old = _flat(config), _flat(base(preset))
    return {PRESET: preset, **{name: format_value(v) for name, v in new.items() if v != old[name]}}


def decode(params: Mapping[str, str]) -> tuple[str, TrainConfig, list[str]]:
    """(preset, config, what was ignored) from URL parameters; never raises on bad input."""
    ignored = []
    preset = params.get(PRESET, widgets.DEFAULT_PRESET)
    if preset not in PRESETS and preset != widgets.CUSTOM:
        ignored.append(f"preset={preset} (no such preset)")
        preset = widgets.DEFAULT_PRESET
    pending = {}
    for name, text in params.items():
        if name in FIELDS:
            pending[name] = text
        elif name != PRESET and name not in NOT_OURS:
            ignored.append(f"{name}={text} (not a Train setting)")
    config = base(preset)
    errors: dict[str, str] = {}
    while pending:  # a value may be valid only next to another one (engine=numpy&optimizer=sgd): retry
        progress = False
        for name, text in list(pending.items()):
            try:
                config = _apply(config, name, parse_value(text, FIELDS[name]))
            except (ConfigError, TypeError, ValueError) as error:
                errors[name] = str(error)
                continue
            del pending[name]
            errors.pop(name, None)
            progress = True
        if not progress:
            break
    ignored += [f"{name}={pending[name]} ({errors[name].rstrip('.')})" for name in pending]
    return preset, config, ignored


def _config_params() -> dict[str, str]:
    return {k: v for k, v in st.query_params.to_dict().items() if k not in NOT_OURS}


def _owned(name: str) -> bool:
    return name == PRESET or name in FIELDS


def restore() -> None:
    """In a fresh session (a reload, a shared link), load the settings the URL names into Train's controls."""
    if "preset" in state.kept() or st.session_state.get("load_preset") or not _config_params():
        return
    preset, config, ignored = decode(_config_params())
    state.keep(preset=preset, **widgets.widget_values(config))
    state.set_dataset(config.dataset)
    st.session_state[WANTED] = config
    if ignored:
        st.session_state[NOTICE] = "Ignored from the link: " + "; ".join(ignored) + "."


def notice(shown: TrainConfig | None) -> None:
    """Say (once) what the link asked for that the page could not restore or show exactly."""
    wanted = st.session_state.pop(WANTED, None)
    text = st.session_state.pop(NOTICE, None)
    if wanted is not None and shown is not None and shown != wanted:
        changes = ", ".join(widgets.config_diff(shown, wanted))
        text = (text + " " if text else "") + f"Set to the nearest value the controls offer: {changes}."
    if text:
        st.info(text, icon=":material/link_off:")


def write(config: TrainConfig, preset: str) -> dict[str, str]:
    """Keep the URL in step with the controls (and the watched job); return the shareable parameters."""
    params = encode(config, preset)
    job = state.watched_job()
    others = {k: v for k, v in st.query_params.to_dict().items() if not _owned(k) and k != "job"}
    wanted = {**params, **({"job": job} if job else {}), **others}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    return params


def share(params: dict[str, str]) -> None:
    """'Copy link': the full address of these settings in a code block (it has a copy button)."""
    query = urlencode(params, safe=",")
    here = st.context.url  # the browser's address of this page, without its query (None outside a browser)
    st.code(f"{here}?{query}" if here else f"?{query}", language=None, wrap_lines=True)
    st.caption("Opens Train with exactly these settings, ready to start, in any browser that reaches this "
               "server; on another machine's mnistlab, keep the part from `?` and put that machine's address "
               "before it. A reload of this page keeps them too.")
