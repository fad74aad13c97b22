"""The Diagnose tab: what went wrong in the run, in plain words, each with a one-click fix that opens on Train."""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.insight import apply_fix
from mnistlab.train.config import TrainConfig
from ui import state, widgets
from ui.inspect import cache
from ui.inspect.controls import heading
from ui.widgets import config_diff


def _open_fix(config: TrainConfig, fix: dict) -> None:
    widgets.load_config(apply_fix(config, fix))
    state.go("pages/train.py")


def diagnose_tab(run_id: str, config: TrainConfig) -> None:
    heading("Diagnosis", "diagnose")
    found = cache.diagnosis(run_id)
    if not found.epochs:
        st.info("This run has no finished epoch to diagnose yet.", icon=":material/hourglass_empty:")
        return
    if not found.hints:
        st.success("Nothing looks wrong: the loss fell, gradients reached every layer and train and held-out "
                   "accuracy stay close.", icon=":material/check_circle:")
        return
    for i, hint in enumerate(found.hints):
        with st.container(border=True):
            st.markdown(f"**{hint.title}**")
            st.write(hint.explanation)
            if hint.fix:
                try:
                    changes = ", ".join(config_diff(apply_fix(config, hint.fix), config))
                except MnistlabError as error:
                    st.caption(f"The suggested fix does not apply here: {error}")
                    continue
                st.button(f"Try it: {changes}", key=f"fix_{i}", icon=":material/build:", on_click=_open_fix,
                          args=(config, hint.fix), help="Opens Train with this change applied, as a new run.")
