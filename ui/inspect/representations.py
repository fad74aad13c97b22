"""The Representations tab: a 2-D map of a layer's activations (select dots to see their images), and linear
probes per layer."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnistlab.errors import MnistlabError
from ui import images
from ui.inspect import cache, charts
from ui.inspect.controls import PLOT, epoch_picker, heading

SELECTED_LIMIT = 48  # images shown for a lasso/box selection
# Selection is the point of this chart: show the mode bar (lasso, box, zoom, pan, reset), drop the rest.
SELECT_PLOT = {"displayModeBar": True, "displaylogo": False,
               "modeBarButtonsToRemove": ["toImage", "autoScale2d", "zoomIn2d", "zoomOut2d"]}


def representations_tab(run_id: str, dataset: str, classes) -> None:
    test = cache.test_split(dataset)
    if test is None:
        st.info(f"The {dataset} test images are needed here: fetch them on Home.", icon=":material/cloud_download:")
        return
    epoch = epoch_picker(run_id, "repr_epoch")
    try:
        names = cache.representations(run_id, epoch)
    except MnistlabError as error:
        st.info(str(error), icon=":material/block:")
        return
    a, b = st.columns(2)
    layer = a.selectbox("Layer", range(len(names)), index=len(names) - 1, format_func=lambda i: names[i],
                        key=f"repr_layer_{run_id}", help="'pixels' is the raw input: the baseline every layer should "
                        "improve on.")
    method = b.segmented_control("Projection", ["pca", "tsne"], default="pca", required=True, key="repr_method",
                                 format_func={"pca": "PCA", "tsne": "t-SNE"}.get,
                                 help="PCA is instant and linear; t-SNE takes a few seconds and shows clusters.")
    shown = cache.projection(run_id, epoch, layer, method, dataset)
    heading(f"{shown.name} of {len(shown.points):,} test images, {'PCA' if method == 'pca' else 't-SNE'}",
            "projection")
    event = st.plotly_chart(charts.scatter_2d(shown.points, shown.labels, classes, shown.indices, None),
                            key="projection", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config=SELECT_PLOT)
    picked = [int(p["customdata"]) for p in (event.selection.points if event else []) if "customdata" in p]
    if picked:
        st.caption(f"{len(picked):,} selected test images (box or lasso more to change the selection):")
        images.grid([images.Card(test.images[i].numpy(), classes[int(test.labels[i])], note=f"#{i:,}")
                     for i in picked[:SELECTED_LIMIT]], cell_px=72)
    else:
        st.caption("Drag a lasso around some dots (or click one) to see those images; the bar above the chart "
                   "switches to box selection, zoom and pan, and double-click clears.")
    probes_section(run_id, dataset, epoch)


def probes_section(run_id: str, dataset: str, epoch: int | None) -> None:
    heading("Where do the classes become separable? Linear probes per layer", "probes")
    shown = cache.probes(run_id, epoch, dataset)
    pixels = shown.probes[0].test_accuracy
    for col, probe in zip(st.columns(len(shown.probes)), shown.probes, strict=True):
        col.metric(probe.name, f"{probe.test_accuracy:.1%}", delta_color="normal",
                   delta=None if probe.layer == 0 else f"{probe.test_accuracy - pixels:+.1%} vs pixels")
    st.caption(f"Each probe is fitted on {shown.train_images:,} training images and scored on "
               f"{shown.test_images:,} test images, the same class-balanced samples for every run and epoch.")
    saved = cache.epochs(run_id)
    if len(saved) > 1 and st.toggle("Probe every saved epoch", key=f"probe_all_{run_id}",
                                    help="Fits one probe per layer per epoch (a few seconds each); results are kept."):
        bar = st.progress(0.0, text="Fitting probes…")
        table = []
        for i, e in enumerate(saved):
            table.append([p.test_accuracy for p in cache.probes(run_id, e, dataset).probes])
            bar.progress((i + 1) / len(saved), text=f"Fitting probes… epoch {e}")
        bar.empty()
        st.plotly_chart(charts.probe_lines(saved, [p.name for p in shown.probes], np.array(table), None),
                        key="probe_lines", config=PLOT)
