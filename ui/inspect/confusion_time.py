"""The Confusion over time tab: the test confusion matrix after each epoch, and the images behind one cell."""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from ui import charts, confusion, images
from ui.inspect import cache
from ui.inspect.controls import epoch_slider, heading

CELL_LIMIT = confusion.CELL_LIMIT


def confusion_tab(run_id: str, classes, dataset: str) -> None:
    try:
        latest = cache.confusion(run_id, None)
    except MnistlabError as error:
        st.info(str(error), icon=":material/history:")
        return
    recorded = latest.epochs
    epoch = recorded[-1] if len(recorded) == 1 else epoch_slider(
        "Epoch", recorded, f"confusion_epoch_{run_id}", help="Slide to watch the mistakes move onto the diagonal.")
    matrix = (latest if epoch == latest.epoch else cache.confusion(run_id, epoch)).matrix
    keys = (f"time_true_{run_id}", f"time_pred_{run_id}")  # kept while the epoch slides: follow one cell
    left, right = st.columns([3, 2], gap="large")
    with left:
        heading(f"Test confusion after epoch {epoch}", "confusion_time")
        confusion.heatmap(matrix, classes, keys, "confusion_time")
    with right:
        true, pred = confusion.cell_boxes(matrix, classes, keys)
        st.caption(f"{int(matrix[true, pred]):,} test images of **{classes[true]}** predicted as **{classes[pred]}** "
                   f"after epoch {epoch} ({confusion.cell_note(matrix, classes, (true, pred))}).")
        test = cache.test_split(dataset)
        if test is None or epoch not in cache.epochs(run_id):
            st.caption("Images need the test set and this epoch's saved weights.")
            return
        cell = cache.epoch_evaluation(run_id, epoch, dataset).cell(true, pred)
        color = charts.GOOD if true == pred else charts.BAD
        images.grid([images.Card(test.images[int(i)].numpy(), f"#{int(i):,}", color) for i in cell[:CELL_LIMIT]],
                    cell_px=72, empty="No test image falls in this cell.")
