"""The Data page's file check: uploaded bytes validated in memory by the core reader, then shown.

Nothing is written to disk: the bytes go to `mnistlab.data.inspect.examine` as a `Blob`, so an
upload gets exactly the checks and the sentences of `python -m mnistlab data inspect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from mnistlab.data.idx import Blob
from mnistlab.data.inspect import examine
from mnistlab.errors import DataError
from ui import charts, images

KEY = "upload_file"
MAX_UPLOAD_MB = 10  # a file check holds the upload in memory: MNIST's largest (gzip'd) file is 9.5 MiB
SAMPLES = 12  # sample images shown for a valid file
MAX_UNPACKED = 128 * 2**20  # bytes an upload may inflate to: MNIST's largest file is 45 MiB
FORMATS = {"idx-images": "IDX images", "idx-labels": "IDX labels", "csv": "CSV (a label, then 784 pixels per row)"}


@dataclass(frozen=True)
class UploadView:
    """What the page shows for one upload: an error sentence, or a summary and sample cards."""

    error: str | None = None
    summary: str = ""
    labels: str = ""  # the label histogram as text, for files that hold labels
    cards: list[images.Card] = field(default_factory=list)


def check_upload(name: str, data: bytes, samples: int = SAMPLES) -> UploadView:
    """Validate the uploaded file `name` as `inspect_file` would, in memory; a DataError becomes `error`."""
    try:
        found = examine(Blob.from_bytes(data, name, max_unpacked=MAX_UNPACKED))
    except DataError as error:
        return UploadView(error=str(error))
    info = found.info
    shape = "×".join(map(str, info["shape"]))
    summary = (f"**{name}** is valid: {FORMATS[info['format']]}, {info['count']:,} items of shape {shape}"
               + (" (gzip)" if info["compressed"] else "") + ".")
    histogram = info["label_histogram"]
    labels = "Labels: " + " · ".join(f"{c}: {n:,}" for c, n in enumerate(histogram)) if histogram else ""
    cards = []
    for i, image in enumerate([] if found.images is None else found.images[:samples]):
        if found.labels is None:
            cards.append(images.Card(image, f"#{i}"))
        else:
            label = int(found.labels[i])
            cards.append(images.Card(image, str(label), note=f"#{i}", swatch=charts.class_color(label)))
    return UploadView(summary=summary, labels=labels, cards=cards)


def show(view: UploadView) -> None:
    """An error box with the core's sentence, or the summary and a few sample images."""
    if view.error:
        st.error(view.error, icon=":material/error:")
        return
    st.success(view.summary, icon=":material/check_circle:")
    if view.labels:
        st.caption(view.labels)
    if view.cards:
        images.grid(view.cards, cell_px=84)


def section() -> None:
    """The uploader and its verdict, checked once per uploaded file."""
    upload = st.file_uploader(
        "Check a file", key=KEY, max_upload_size=MAX_UPLOAD_MB, help="An MNIST-style IDX file (images or labels, raw or .gz) or a CSV of "
        "label,pixel rows. Any name is accepted, since MNIST's own files have no extension; nothing is saved.")
    if upload is None:
        st.caption("Drop a file to see whether mnistlab can read it, what it holds, and a few of its images.")
        return
    memo = st.session_state.get("upload_view")
    if memo is None or memo[0] != upload.file_id:
        memo = st.session_state["upload_view"] = (upload.file_id, check_upload(upload.name, upload.getvalue()))
    show(memo[1])
