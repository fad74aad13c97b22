"""The Weights tab: the first layer's units as images, and weight and activation histograms per layer."""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from ui import cache as app_cache
from ui import charts as ui_charts
from ui.inspect import cache, charts
from ui.inspect.controls import PLOT, epoch_picker, heading

MAX_UNITS = 64  # first-layer units drawn at once


def weights_tab(run_id: str, dataset: str) -> None:
    epoch = epoch_picker(run_id, "weights_epoch")
    try:
        weights = cache.weights(run_id, epoch)
    except MnistlabError as error:
        st.info(str(error), icon=":material/block:")
        return
    shown = weights.images[:MAX_UNITS]
    heading(f"First-layer weights ({len(shown)} of {len(weights.images)} units)" if weights.layer != "output"
            else "Weights of each class (no hidden layer)", "first_layer")
    titles = ([f"unit {k}" for k in range(len(shown))] if weights.layer != "output"
              else list(app_cache.run_classes(run_id)))
    st.plotly_chart(ui_charts.image_panels(shown, titles, cols=8 if len(shown) > 10 else 5, colorscale="RdBu",
                                           zmid=0, zlimit=weights.limit), key="weights_grid", config=PLOT)
    hists = cache.histograms(run_id, epoch)
    heading("Weight histograms per layer", "weight_hist")
    st.plotly_chart(charts.histograms(hists.layers, [h.layer for h in hists.layers], None), key="weight_hist",
                    config=PLOT)
    if hists.activations:
        heading("Activation histograms per hidden layer", "act_hist")
        st.plotly_chart(charts.histograms(hists.activations, [h.layer for h in hists.activations], None),
                        key="act_hist", config=PLOT)
    elif len(hists.layers) > 1:
        st.caption("No recorded activation histograms for this epoch (the run predates them).")
