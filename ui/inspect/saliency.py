"""The Saliency tab: one test image, the pixels that drive its prediction, and the smallest FGSM step that fools it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import cache as ui_cache
from ui import charts, images
from ui.inspect import cache
from ui.inspect.controls import PLOT, from_url, heading, to_url


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
        evaluation = ui_cache.evaluation(run_id)
        mistakes = evaluation.mistakes() if evaluation is not None else []
        if len(mistakes):
            st.session_state[key] = int(np.random.default_rng().choice(mistakes))
    index = int(a.number_input("Test image #", 0, len(test) - 1, key=key, step=1,
                               help="Which test image to explain; kept in the URL (?image=) so the view can be linked."))
    to_url("image", index)
    return index


def saliency_tab(run_id: str, dataset: str, classes) -> None:
    test = cache.test_split(dataset)
    if test is None or not cache.has_model(run_id):
        st.info("Saliency needs the run's saved model and the test images.", icon=":material/block:")
        return
    shown = cache.saliency(run_id, _pick_image(run_id, test), dataset)
    predicted = classes[shown.prediction]
    cols = st.columns(3)
    with cols[0]:
        heading("Test image", "test_image")
        images.grid([images.Card(shown.image, f"{predicted} ({classes[shown.label]})",
                                 charts.GOOD if shown.prediction == shown.label else charts.BAD,
                                 note="prediction (truth)",
                                 bars=[(classes[c], p, charts.class_color(c)) for c, p in shown.top(3)])],
                    cell_px=180)
    with cols[1]:
        heading(f"Saliency of “{predicted}”", "saliency")
        st.plotly_chart(charts.signed_heatmap(shown.saliency), key="saliency_map", config=PLOT)
    with cols[2]:
        result = shown.fgsm
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
