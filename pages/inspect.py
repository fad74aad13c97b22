"""Inspect: look inside a run's network: gradient flow, weights, representations, confusion over time,
saliency, its twin on the other dataset, and a diagnosis with one-click fixes."""

import streamlit as st

from mnistlab.train.config import TrainConfig
from ui import cache, state
from ui.inspect.confusion_time import confusion_tab
from ui.inspect.diagnose import diagnose_tab
from ui.inspect.gradient import gradient_tab
from ui.inspect.representations import representations_tab
from ui.inspect.saliency import saliency_tab
from ui.inspect.twin import twin_tab
from ui.inspect.weights import weights_tab
from ui.pickers import pick_run

# Plain labels: the open tab is kept in the URL (?tab=Saliency), so a view can be linked and reloaded.
TABS = ["Gradient flow", "Weights", "Representations", "Confusion over time", "Saliency", "Side by side", "Diagnose"]


def main() -> None:
    state.page("Inspect", "See why a network learns or fails: how far the gradients reach, what each layer looks "
                          "for, where the classes separate and what fools it.")
    runs = cache.store().list()
    if not runs:
        st.info("No runs yet. Train `seed003-vanishing` and `seed003-relu` (Home → Guided path) and compare their "
                "gradient flow here.", icon=":material/troubleshoot:")
        st.page_link("pages/home.py", label="Go to Home", icon=":material/arrow_forward:")
        return
    info = pick_run(runs, key="inspect_run")
    config = TrainConfig.from_dict(cache.run_config(info.run_id)["config"])
    classes = cache.run_classes(info.run_id)
    if info.status == "running":
        st.info("This run is still training: what you see is up to its last finished epoch.",
                icon=":material/autorenew:")
    linked = st.query_params.get("tab")
    if linked is not None and linked not in TABS:  # read before st.tabs, which drops an unknown value silently
        st.caption(f":material/link_off: Ignored `?tab={linked}` from the link: the tabs are {', '.join(TABS)}.")
    views = [lambda: gradient_tab(info.run_id),
             lambda: weights_tab(info.run_id, info.dataset),
             lambda: representations_tab(info.run_id, info.dataset, classes),
             lambda: confusion_tab(info.run_id, classes, info.dataset),
             lambda: saliency_tab(info.run_id, info.dataset, classes),
             lambda: twin_tab(info.run_id, config, runs),
             lambda: diagnose_tab(info.run_id, config)]
    for tab, view in zip(st.tabs(TABS, key="tab", bind="query-params"), views, strict=True):
        if tab.open:  # only the open tab computes: projections and probes take seconds
            with tab:
                view()


state.guard(main)
