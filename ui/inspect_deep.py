"""Inspect tabs that run the network again: hidden representations, linear probes, saliency and FGSM."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnistlab.insight import fgsm_flip, representation_names, saliency_map
from mnistlab.predict import predict_image
from ui import cache, charts, images, insight_cache, insight_charts
from ui.inspect_views import PLOT, epoch_picker, from_url, heading, to_url

SELECTED_LIMIT = 48  # images shown for a lasso/box selection
# Selection is the point of this chart: show the mode bar (lasso, box, zoom, pan, reset), drop the rest.
SELECT_PLOT = {"displayModeBar": True, "displaylogo": False,
               "modeBarButtonsToRemove": ["toImage", "autoScale2d", "zoomIn2d", "zoomOut2d"]}


def representations_tab(run_id: str, dataset: str, classes) -> None:
    test = insight_cache.test_split(dataset)
    if test is None:
        st.info(f"The {dataset} test images are needed here: fetch them on Home.", icon=":material/cloud_download:")
        return
    epoch = epoch_picker(run_id, "repr_epoch")
    model = insight_cache.model_at(run_id, epoch)
    if model is None:
        st.info("This run saved no model.", icon=":material/block:")
        return
    names = representation_names(model)
    a, b = st.columns(2)
    layer = a.selectbox("Layer", range(len(names)), index=len(names) - 1, format_func=lambda i: names[i],
                        key=f"repr_layer_{run_id}", help="'pixels' is the raw input: the baseline every layer should "
                        "improve on.")
    method = b.segmented_control("Projection", ["pca", "tsne"], default="pca", required=True, key="repr_method",
                                 format_func={"pca": "PCA", "tsne": "t-SNE"}.get,
                                 help="PCA is instant and linear; t-SNE takes a few seconds and shows clusters.")
    points, labels, indices = insight_cache.projection(run_id, epoch, layer, method, dataset)
    heading(f"{names[layer]} of {len(points):,} test images, {'PCA' if method == 'pca' else 't-SNE'}", "projection")
    event = st.plotly_chart(insight_charts.scatter_2d(points, labels, classes, indices, None), key="projection",
                            on_select="rerun", selection_mode=("points", "box", "lasso"), config=SELECT_PLOT)
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
    rows = insight_cache.probes(run_id, epoch, dataset)
    cols = st.columns(len(rows))
    for col, (name, accuracy) in zip(cols, rows, strict=True):
        col.metric(name, f"{accuracy:.1%}", delta=None if name == "pixels" else f"{accuracy - rows[0][1]:+.1%} vs pixels",
                   delta_color="normal")
    saved = insight_cache.epochs(run_id)
    if len(saved) > 1 and st.toggle("Probe every saved epoch", key=f"probe_all_{run_id}",
                                    help="Fits one probe per layer per epoch (a few seconds each); results are kept."):
        bar = st.progress(0.0, text="Fitting probes…")
        table = []
        for i, e in enumerate(saved):
            table.append([acc for _, acc in insight_cache.probes(run_id, e, dataset)])
            bar.progress((i + 1) / len(saved), text=f"Fitting probes… epoch {e}")
        bar.empty()
        st.plotly_chart(insight_charts.probe_lines(saved, [n for n, _ in rows], np.array(table), None),
                        key="probe_lines", config=PLOT)


def _pick_image(run_id: str, test) -> int:
    key = f"saliency_index_{run_id}"
    linked = from_url("image", key, range(len(test)), f"a test image number is 0 to {len(test) - 1:,}")
    if linked is not None:
        st.session_state[key] = linked
    a, b, c = st.columns([2, 1, 1])
    if b.button("Random image", key="saliency_random", icon=":material/shuffle:", width="stretch"):
        st.session_state[key] = int(np.random.default_rng().integers(len(test)))
    if c.button("A mistake", key="saliency_mistake", icon=":material/report:", width="stretch",
                help="A random test image this model gets wrong."):
        mistakes = cache.evaluation(run_id).mistakes() if cache.evaluation(run_id) is not None else []
        if len(mistakes):
            st.session_state[key] = int(np.random.default_rng().choice(mistakes))
    index = int(a.number_input("Test image #", 0, len(test) - 1, key=key, step=1,
                               help="Which test image to explain; kept in the URL (?image=) so the view can be linked."))
    to_url("image", index)
    return index


def saliency_tab(run_id: str, dataset: str, classes) -> None:
    test = insight_cache.test_split(dataset)
    model = insight_cache.model_at(run_id, None)
    if test is None or model is None:
        st.info("Saliency needs the run's saved model and the test images.", icon=":material/block:")
        return
    index = _pick_image(run_id, test)
    image, label = test.images[index].numpy(), int(test.labels[index])
    prediction = predict_image(model, image, classes)
    right = prediction.label == label
    cols = st.columns(3)
    with cols[0]:
        heading("Test image", "test_image")
        images.grid([images.Card(image, f"{prediction.class_name} ({classes[label]})",
                                 charts.GOOD if right else charts.BAD, note="prediction (truth)",
                                 bars=[(n, p, charts.class_color(classes.index(n))) for n, p in prediction.top(3)])],
                    cell_px=180)
    with cols[1]:
        heading(f"Saliency of “{prediction.class_name}”", "saliency")
        st.plotly_chart(charts.signed_heatmap(saliency_map(model, image)), key="saliency_map", config=PLOT)
    with cols[2]:
        result = fgsm_flip(model, image, label)
        heading("Smallest FGSM step that fools it", "fgsm")
        if result.epsilon is None:
            st.success("No step up to ε = 0.5 changes the prediction.", icon=":material/shield:")
        elif result.epsilon == 0:
            st.info("Already misclassified: no step needed.", icon=":material/report:")
        else:
            new = classes[result.new_label]
            images.grid([images.Card(result.perturbed_image, f"ε = {result.epsilon:.3f} → {new}", charts.BAD,
                                     note=f"{result.new_probabilities[result.new_label]:.0%} sure")], cell_px=180)
            st.caption(f"Every pixel moved by at most {result.epsilon * 255:.0f} of 255 grey levels.")
