"""The run picker shared by Results, Inspect and Draw: newest first, remembered, named in the URL.

Each choice names the run's status and test accuracy beside its time and recipe, so a failed or
stalled run is visible before it is opened.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from mnistlab.runs.pick import best_recent_run
from ui import state

NOTHING_TO_SHOW = ("failed", "interrupted")  # ended without a model: never preselected while another run exists


def recipe(info) -> str:
    """'fast' for a preset run as published, 'fast (changed)' for one with changed settings, else 'custom'."""
    if not info.preset:
        return "custom"
    return info.preset if info.is_preset else f"{info.preset} (changed)"


def run_label(info) -> str:
    """'2024-05-01 14:02 · mnist · fast · 784→1024→10 · finished · 98.12%'."""
    acc = f" · {info.test_accuracy:.2%}" if info.test_accuracy is not None else ""
    return (f"{info.created[:16].replace('T', ' ')} · {info.dataset} · {recipe(info)} · "
            f"{info.description} · {info.status}{acc}")


def best_run(runs: Sequence, dataset: str | None = None):
    """The most accurate recent finished (or stopped) run, of `dataset` if it has one; never a failed or
    chance-level run. None when there is no such run."""
    return (best_recent_run(list(runs), dataset=dataset) if dataset else None) or best_recent_run(list(runs))


def best_runs(runs: Sequence, n: int = 3, dataset: str | None = None) -> list:
    """Up to `n` best recent finished runs, most accurate first (of `dataset` if it has any); see `best_run`."""
    pool, picked = list(runs), []
    if dataset and best_recent_run(pool, dataset=dataset) is None:
        dataset = None
    while len(picked) < n and (best := best_recent_run(pool, dataset=dataset)) is not None:
        picked.append(best)
        pool.remove(best)
    return picked


def newest_with_results(runs: Sequence):
    """The newest run that has something to show (not failed or interrupted), else the newest."""
    return next((r for r in runs if r.status not in NOTHING_TO_SHOW), runs[0])


def _picked(key: str) -> None:
    state.remember(key)
    st.query_params["run"] = st.session_state[key]


def pick_run(runs: Sequence, key: str = "run", label: str = "Run", default=None,
             help: str = "Newest first; runs from the CLI are listed too."):
    """A run selectbox over `runs` (newest first); `?run=` in the URL (or the last choice) preselects one, else
    `default` (a run id), else the newest run with results."""
    ids = [r.run_id for r in runs]
    wanted = st.query_params.get("run") or state.kept().get(key)  # a link (or reload) names the run
    fallback = default if default in ids else newest_with_results(runs).run_id
    state.keep(**{key: wanted if wanted in ids else fallback})
    state.remembered(key, fallback)
    by_id = {r.run_id: r for r in runs}
    run_id = st.selectbox(label, ids, key=key, format_func=lambda i: run_label(by_id[i]), on_change=_picked,
                          args=(key,), help=help)
    st.query_params["run"] = run_id
    return by_id[run_id]
