"""The run picker shared by Results, Inspect and Draw: newest first, remembered, named in the URL."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui import state


def run_label(info) -> str:
    acc = f" · {info.test_accuracy:.2%}" if info.test_accuracy is not None else ""
    return (f"{info.created[:16].replace('T', ' ')} · {info.dataset} · {info.preset or 'custom'} · "
            f"{info.description} · {info.status}{acc}")


def _picked(key: str) -> None:
    state.remember(key)
    st.query_params["run"] = st.session_state[key]


def pick_run(runs: Sequence, key: str = "run", label: str = "Run", default=None,
             help: str = "Newest first; runs from the CLI are listed too."):
    """A run selectbox over `runs`; `?run=` in the URL (or the last choice) preselects one, else `default`."""
    ids = [r.run_id for r in runs]
    wanted = st.query_params.get("run") or state.kept().get(key)  # a link (or reload) names the run
    fallback = default if default in ids else ids[0]  # the latest by default
    state.keep(**{key: wanted if wanted in ids else fallback})
    state.remembered(key, fallback)
    by_id = {r.run_id: r for r in runs}
    run_id = st.selectbox(label, ids, key=key, format_func=lambda i: run_label(by_id[i]), on_change=_picked,
                          args=(key,), help=help)
    st.query_params["run"] = run_id
    return by_id[run_id]
