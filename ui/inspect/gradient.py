"""The Gradient flow tab: how far the gradients reach, how big the updates are, and dead or saturated units."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnistlab.errors import MnistlabError
from ui.inspect import cache, charts
from ui.inspect.controls import PLOT, heading


def gradient_tab(run_id: str) -> None:
    try:
        flow = cache.gradflow(run_id)
    except MnistlabError as error:
        st.info(str(error), icon=":material/history:")
        return
    if len(flow.layers) < 2:
        st.info("This model has no hidden layer: there is only one layer's gradient, nothing for it to vanish "
                "through.", icon=":material/info:")
    if flow.diagnosis:
        st.warning(flow.diagnosis, icon=":material/trending_down:")
    elif flow.reach:
        st.success(flow.reach, icon=":material/check_circle:")
    heading("Gradient size per layer over epochs", "gradflow")
    st.plotly_chart(charts.gradient_flow(flow.epochs, flow.layers, flow.grad_norm, None, "‖∂loss/∂W‖"),
                    key="gradflow", config=PLOT)
    left, right = st.columns(2)
    with left:
        heading("Gradient size per layer at the last epoch", "gradflow_epoch")
        st.plotly_chart(charts.layer_bars(flow.layers, flow.grad_norm[-1], None, "‖∂loss/∂W‖"),
                        key="gradflow_last", config=PLOT)
    with right:
        heading("Update size relative to the weights", "update_ratio")
        st.plotly_chart(charts.gradient_flow(flow.epochs, flow.layers, flow.update_ratio, None, "‖ΔW‖ / ‖W‖"),
                        key="update_ratio", config=PLOT)
    heading("Dead and saturated units", "units")
    st.dataframe(pd.DataFrame([{"Layer": u.layer, "Units": u.units, "Dead": u.dead_fraction,
                                "Saturated": u.saturated_fraction, "Activation mean": u.act_mean,
                                "Activation std": u.act_std} for u in flow.units]),
                 hide_index=True, key="units_table", column_config={
                     "Dead": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
                     "Saturated": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
