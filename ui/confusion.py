"""The confusion matrix of a run's test evaluation, with the images of the cell the user picks."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import charts, images

CELL_LIMIT = 60  # images shown for one confusion cell


def confusion_view(ev, test, classes, run_id: str) -> None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.plotly_chart(charts.confusion_heatmap(ev.confusion, classes), key="confusion",
                        config={"displayModeBar": False})
    with right:
        off = ev.confusion.copy()
        np.fill_diagonal(off, -1)
        worst = np.unravel_index(int(off.argmax()), off.shape)
        options = list(range(len(classes)))
        a, b = st.columns(2)
        true = a.selectbox("True class", options, index=int(worst[0]), format_func=lambda c: classes[c],
                            key=f"cell_true_{run_id}")  # per run: each opens on its own worst cell
        pred = b.selectbox("Predicted as", options, index=int(worst[1]), format_func=lambda c: classes[c],
                           key=f"cell_pred_{run_id}")
        cell = ev.cell(true, pred)
        st.caption(f"{len(cell):,} test images of **{classes[true]}** predicted as **{classes[pred]}** "
                   f"(the most common mistake is preselected).")
        if test is not None:
            shown = cell[:CELL_LIMIT]
            color = charts.GOOD if true == pred else charts.BAD
            images.grid([images.Card(test.images[int(i)].numpy(), f"#{int(i):,}", color,
                                     note=f"{ev.confidence[int(i)]:.0%} sure") for i in shown], cell_px=76,
                        empty="No test image falls in this cell.")
            if len(cell) > len(shown):
                st.caption(f"Showing the first {len(shown)} of {len(cell):,}.")
