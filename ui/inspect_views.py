"""Inspect tabs drawn from what training recorded: gradient flow, weights and histograms, confusion over time."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from mnistlab.data.datasets import dataset_info
from mnistlab.errors import MnistlabError
from mnistlab.evaluate import cell_indices
from mnistlab.insight import confusion_at, confusion_epochs, diagnose_gradients, first_layer_images, gradient_flow
from ui import charts, confusion, images, insight_cache, insight_charts
from ui.help_texts import CHART_HELP

MAX_UNITS = 64  # first-layer units drawn at once
CELL_LIMIT = confusion.CELL_LIMIT
PLOT = {"displayModeBar": False}
URL_WRITTEN = "_inspect_url"  # session key: param → the value this page last put in the URL


def heading(title: str, key: str) -> None:
    """A chart's title with its one-line help (what it is, what to look for)."""
    st.markdown(f"**{title}**", help=CHART_HELP[key])


def gradient_tab(run_id: str, history: list[dict], activation: str) -> None:
    try:
        flow = gradient_flow(history)
    except MnistlabError as error:
        st.info(str(error), icon=":material/history:")
        return
    if len(flow.layers) < 2:
        st.info("This model has no hidden layer: there is only one layer's gradient, nothing for it to vanish "
                "through.", icon=":material/info:")
    finding = diagnose_gradients(history, activation)
    if finding:
        st.warning(finding, icon=":material/trending_down:")
    elif len(flow.layers) >= 2:
        st.success(f"Gradients reach every layer: at the last epoch the first layer's gradient is "
                   f"{_relative(flow.first_to_last())} the output layer's.", icon=":material/check_circle:")
    heading("Gradient size per layer over epochs", "gradflow")
    st.plotly_chart(insight_charts.gradient_flow(flow.epochs, flow.layers, flow.grad_norm, None, "‖∂loss/∂W‖"),
                    key="gradflow", config=PLOT)
    left, right = st.columns(2)
    with left:
        heading("Gradient size per layer at the last epoch", "gradflow_epoch")
        st.plotly_chart(insight_charts.layer_bars(flow.layers, flow.grad_norm[-1], None, "‖∂loss/∂W‖"),
                        key="gradflow_last", config=PLOT)
    with right:
        heading("Update size relative to the weights", "update_ratio")
        st.plotly_chart(insight_charts.gradient_flow(flow.epochs, flow.layers, flow.update_ratio, None, "‖ΔW‖ / ‖W‖"),
                        key="update_ratio", config=PLOT)
    heading("Dead and saturated units", "units")
    last = next(h["layers"] for h in reversed(history) if h.get("layers"))
    st.dataframe(pd.DataFrame([{"Layer": la["name"], "Units": (la.get("shape") or [None])[0], "Dead": la.get("dead_fraction"),
                                "Saturated": la.get("saturated_fraction"), "Activation mean": la.get("act_mean"),
                                "Activation std": la.get("act_std")} for la in last if la["name"] != "output"]),
                 hide_index=True, key="units_table", column_config={
                     "Dead": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
                     "Saturated": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})


def _relative(ratio: float) -> str:
    """'about the same size as' / '1/40 of' / '3× the' for last-layer / first-layer gradient `ratio`."""
    if not math.isfinite(ratio):
        return "none of"
    if ratio <= 0:
        return "far larger than"
    if 0.5 <= ratio <= 2:
        return "about the same size as"
    return f"1/{ratio:,.0f} of" if ratio > 2 else f"{1 / ratio:,.1f}× the size of"


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
    saved = insight_cache.epochs(run_id)
    if not saved:
        st.caption("This run saved no per-epoch weights (large models skip them): showing its final weights.")
        return None
    if len(saved) == 1:
        return saved[0]
    return epoch_slider(label, saved, f"{key}_{run_id}", format_func=epoch_label,
                        help="0 is the random initialisation; each later value is the end of that epoch.")


def weights_tab(run_id: str, history: list[dict], dataset: str) -> None:
    epoch = epoch_picker(run_id, "weights_epoch")
    model = insight_cache.model_at(run_id, epoch)
    if model is None:
        st.info("This run saved no model.", icon=":material/block:")
        return
    weights = first_layer_images(model)
    shown = weights.images[:MAX_UNITS]
    heading(f"First-layer weights ({len(shown)} of {len(weights.images)} units)" if weights.layer != "output"
            else "Weights of each class (no hidden layer)", "first_layer")
    titles = ([f"unit {k}" for k in range(len(shown))] if weights.layer != "output"
              else list(dataset_info(dataset).classes))
    st.plotly_chart(charts.image_panels(shown, titles, cols=8 if len(shown) > 10 else 5, colorscale="RdBu",
                                        zmid=0, zlimit=weights.limit), key="weights_grid", config=PLOT)
    row = next((h for h in history if h.get("epoch") == (epoch if epoch is not None else history[-1].get("epoch"))
                and h.get("layers")), None)
    if row is None:
        st.caption("No recorded histograms for this epoch (the run predates them).")
        return
    layers = row["layers"]
    heading("Weight histograms per layer", "weight_hist")
    st.plotly_chart(insight_charts.histograms([la.get("weight_hist") for la in layers], [la["name"] for la in layers],
                                              None), key="weight_hist", config=PLOT)
    hidden = [la for la in layers if la.get("act_hist")]
    if hidden:
        heading("Activation histograms per hidden layer", "act_hist")
        st.plotly_chart(insight_charts.histograms([la["act_hist"] for la in hidden], [la["name"] for la in hidden],
                                                  None), key="act_hist", config=PLOT)


def confusion_tab(run_id: str, history: list[dict], classes, dataset: str) -> None:
    recorded = confusion_epochs(history)
    if not recorded:
        st.info("This run has no per-epoch confusion matrices (it was trained before they were recorded).",
                icon=":material/history:")
        return
    epoch = recorded[-1] if len(recorded) == 1 else epoch_slider(
        "Epoch", recorded, f"confusion_epoch_{run_id}", help="Slide to watch the mistakes move onto the diagonal.")
    matrix = confusion_at(history, epoch)
    keys = (f"time_true_{run_id}", f"time_pred_{run_id}")  # kept while the epoch slides: follow one cell
    left, right = st.columns([3, 2], gap="large")
    with left:
        heading(f"Test confusion after epoch {epoch}", "confusion_time")
        confusion.heatmap(matrix, classes, keys, "confusion_time")
    with right:
        true, pred = confusion.cell_boxes(matrix, classes, keys)
        st.caption(f"{int(matrix[true, pred]):,} test images of **{classes[true]}** predicted as **{classes[pred]}** "
                   f"after epoch {epoch} ({confusion.cell_note(matrix, classes, (true, pred))}).")
        test = insight_cache.test_split(dataset)
        if test is None or epoch not in insight_cache.epochs(run_id):
            st.caption("Images need the test set and this epoch's saved weights.")
            return
        n = int(matrix.sum())  # the run may have scored only the first n test images
        predicted = insight_cache.predictions_at(run_id, epoch, dataset)[:n]
        labels = test.labels[:n].numpy()
        cell = cell_indices(labels, predicted, true, pred)
        color = charts.GOOD if true == pred else charts.BAD
        images.grid([images.Card(test.images[int(i)].numpy(), f"#{int(i):,}", color) for i in cell[:CELL_LIMIT]],
                    cell_px=72, empty="No test image falls in this cell.")
