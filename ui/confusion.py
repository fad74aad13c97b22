"""The confusion matrix of a run's test evaluation, with the images of the cell the user clicks or picks.

A cell is picked two ways that stay in step: a click on the heat map (a Plotly selection event whose
callback sets the two selectboxes before they are drawn), or the selectboxes themselves (the keyboard path).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from functools import partial

import numpy as np
import streamlit as st

from mnistlab.evaluate import worst_cell as worst_cell  # re-exported: the pages' picker
from ui import charts, images

CELL_LIMIT = 60  # images shown for one confusion cell
PLOT = {"displayModeBar": False}
CELL_LAYER = 1  # confusion_heatmap's trace of invisible cell markers, the one a click selects


def clicked_cell(event: Mapping | None) -> tuple[int, int] | None:
    """(true, predicted) of the cell a click selected, from a `st.plotly_chart` selection state (None: none)."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    for point in points:
        data = point.get("customdata")
        if point.get("curve_number", CELL_LAYER) == CELL_LAYER and data is not None and len(data) >= 2:
            return int(data[0]), int(data[1])
    return None


def apply_click(state: MutableMapping, chart_key: str, keys: tuple[str, str]) -> tuple[int, int] | None:
    """Copy the clicked cell of chart `chart_key` into the selectboxes `keys` (true, predicted) in `state`."""
    cell = clicked_cell(state.get(chart_key))
    if cell is not None:
        state[keys[0]], state[keys[1]] = cell
    return cell


def _on_click(chart_key: str, keys: tuple[str, str]) -> None:
    apply_click(st.session_state, chart_key, keys)


def _seed(keys: tuple[str, str], worst: tuple[int, int], n: int) -> tuple[int, int]:
    """Open the selectboxes on the worst cell the first time; keep the user's pick afterwards."""
    for key, value in zip(keys, worst, strict=True):
        if not 0 <= st.session_state.get(key, -1) < n:
            st.session_state[key] = value
    return st.session_state[keys[0]], st.session_state[keys[1]]


def heatmap(matrix: np.ndarray, classes: Sequence[str], keys: tuple[str, str], chart_key: str) -> None:
    """The heat map with the picked cell outlined; clicking a cell picks it (sets the selectboxes `keys`)."""
    cell = _seed(keys, worst_cell(matrix), len(classes))
    st.plotly_chart(charts.confusion_heatmap(matrix, classes, selected=cell), key=chart_key,
                    on_select=partial(_on_click, chart_key, keys), selection_mode=("points",), config=PLOT)


def cell_boxes(matrix: np.ndarray, classes: Sequence[str], keys: tuple[str, str]) -> tuple[int, int]:
    """The keyboard path: 'True class' and 'Predicted as' selectboxes; returns the picked (true, predicted)."""
    _seed(keys, worst_cell(matrix), len(classes))
    options = list(range(len(classes)))
    a, b = st.columns(2)
    true = a.selectbox("True class", options, format_func=lambda c: classes[c], key=keys[0],
                       help="The class the images really are (a row of the matrix). Or click a cell.")
    pred = b.selectbox("Predicted as", options, format_func=lambda c: classes[c], key=keys[1],
                       help="The class the network answered (a column of the matrix). Or click a cell.")
    return int(true), int(pred)


def cell_note(matrix: np.ndarray, classes: Sequence[str], cell: tuple[int, int]) -> str:
    """Says whether `cell` is the preselected most common mistake, or names that mistake once another is picked."""
    worst = worst_cell(matrix)
    if worst[0] == worst[1]:
        return "no mistakes at all; click a cell or pick the classes to see others"
    if cell == worst:
        return "the most common mistake is preselected; click a cell to see another"
    return f"you picked this cell; the most common mistake is **{classes[worst[0]]}** → **{classes[worst[1]]}**"


def confusion_view(ev, test, classes, run_id: str) -> None:
    keys = (f"cell_true_{run_id}", f"cell_pred_{run_id}")  # per run: each opens on its own worst cell
    left, right = st.columns([3, 2], gap="large")
    with left:
        heatmap(ev.confusion, classes, keys, "confusion")
    with right:
        true, pred = cell_boxes(ev.confusion, classes, keys)
        cell = ev.cell(true, pred)
        st.caption(f"{len(cell):,} test images of **{classes[true]}** predicted as **{classes[pred]}** "
                   f"({cell_note(ev.confusion, classes, (true, pred))}).")
        if test is not None:
            shown = cell[:CELL_LIMIT]
            color = charts.GOOD if true == pred else charts.BAD
            images.grid([images.Card(test.images[int(i)].numpy(), f"#{int(i):,}", color,
                                     note=f"{ev.confidence[int(i)]:.0%} sure") for i in shown], cell_px=76,
                        empty="No test image falls in this cell.")
            if len(cell) > len(shown):
                st.caption(f"Showing the first {len(shown)} of {len(cell):,}.")
