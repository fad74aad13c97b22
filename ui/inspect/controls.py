"""What every Inspect tab shares: chart headings with their help, and epoch and image pickers kept in the URL."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui.help_texts import CHART_HELP
from ui.inspect import cache

PLOT = {"displayModeBar": False}
URL_WRITTEN = "_inspect_url"  # session key: param → the value this page last put in the URL


def heading(title: str, key: str) -> None:
    """A chart's title with its one-line help (what it is, what to look for)."""
    st.markdown(f"**{title}**", help=CHART_HELP[key])


def _int(raw: str) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def from_url(param: str, key: str, options: Sequence[int], what: str) -> int | None:
    """The link's `?param=` value for widget `key` on its first draw, if it is one of `options`.

    A value that is not (``?epoch=99``) is ignored with a one-line notice; the URL is then rewritten by `to_url`.
    """
    if key in st.session_state or param not in st.query_params:
        return None
    raw = st.query_params[param]
    value = _int(raw)
    if value is not None and value in options:
        return value
    if st.session_state.get(URL_WRITTEN, {}).get(param) != raw:  # a link's value, not one this page wrote
        st.caption(f":material/link_off: Ignored `?{param}={raw}` from the link: {what}.")
    return None


def to_url(param: str, value: int) -> None:
    """Keep the shown value in the URL (?epoch=3), so the view can be linked and reloaded."""
    st.query_params[param] = str(value)
    st.session_state.setdefault(URL_WRITTEN, {})[param] = str(value)


def epoch_label(epoch: int) -> str:
    return "initial" if epoch == 0 else f"epoch {epoch}"


def epoch_slider(label: str, options: Sequence[int], key: str, help: str, format_func=str) -> int:
    """A select slider over `options` (epochs) opened on the link's ?epoch= or the last one, kept in the URL."""
    linked = from_url("epoch", key, options, f"pick one of {', '.join(map(str, options))}")
    if st.session_state.get(key) not in options:  # seeded here, not with value=, so Session State owns it
        st.session_state[key] = linked if linked is not None else options[-1]
    epoch = st.select_slider(label, options, key=key, help=help, format_func=format_func)
    to_url("epoch", epoch)
    return epoch


def epoch_picker(run_id: str, key: str, label: str = "Epoch") -> int | None:
    """A slider over the run's saved epochs (None: it saved none, use the final model)."""
    saved = cache.epochs(run_id)
    if not saved:
        st.caption("This run saved no per-epoch weights (large models skip them): showing its final weights.")
        return None
    if len(saved) == 1:
        return saved[0]
    return epoch_slider(label, saved, f"{key}_{run_id}", format_func=epoch_label,
                        help="0 is the random initialisation; each later value is the end of that epoch.")
