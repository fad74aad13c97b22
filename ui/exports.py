"""Results' downloads of a run beyond its files: its config for `runs import`, its training script, its ONNX model.

The ONNX file is made only when its button is clicked (Streamlit calls `onnx_maker`'s function then, on
another thread, so it calls only the core); the script and config are small and cached per run.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from mnistlab.export import config_json, run_script, run_to_onnx
from mnistlab.runs.store import RunStore
from ui import state
from ui.cache import store


def _stamp(run_id: str) -> tuple:
    return store().open(run_id).stamp("config.json", "run.json")


@st.cache_data(max_entries=64, ttl=600, show_spinner=False)
def _config(runs_dir: str, run_id: str, stamp: tuple) -> str:
    return config_json(RunStore(runs_dir).open(run_id))


def config(run_id: str) -> str:
    """The run's config JSON with its classes and id, as `python -m mnistlab runs import` takes it back."""
    return _config(str(state.runs_dir()), run_id, _stamp(run_id))


@st.cache_data(max_entries=64, ttl=600, show_spinner=False)
def _script(runs_dir: str, run_id: str, stamp: tuple) -> str:
    return run_script(RunStore(runs_dir).open(run_id))


def script(run_id: str) -> str:
    """The run's plain-PyTorch training script (`python -m mnistlab export RUN --format script`)."""
    return _script(str(state.runs_dir()), run_id, _stamp(run_id))


def _onnx(runs_dir: str, run_id: str) -> bytes:
    return run_to_onnx(RunStore(runs_dir).open(run_id))


def onnx_maker(run_id: str) -> Callable[[], bytes]:
    """A function that writes the run's model as ONNX bytes, for a download button to call when clicked."""
    return partial(_onnx, str(state.runs_dir()), run_id)
