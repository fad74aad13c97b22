"""Results' Kaggle submission: an uploaded unlabelled CSV predicted by the run, offered as ImageId,Label."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from mnistlab.data.idx import Blob
from mnistlab.errors import MnistlabError
from mnistlab.submission import write_submission
from ui import cache

MAX_UPLOAD_MB = 128  # Kaggle's test.csv is 51 MiB
MEMO = "submission_result"  # session_state: (upload id, run id, CSV text or error sentence, rows)


def _predict(run_id: str, name: str, data: bytes) -> tuple[str | None, str | None, int]:
    """(submission CSV text, None, rows) or (None, the core's sentence, 0)."""
    with tempfile.TemporaryDirectory(prefix="mnistlab-submission-") as tmp:
        out = Path(tmp) / "submission.csv"
        try:
            done = write_submission(cache.store(), run_id, Blob.from_bytes(data, name), out)
        except MnistlabError as error:
            return None, str(error), 0
        return out.read_text(encoding="utf-8"), None, done.rows


def section(run_id: str) -> None:
    """Upload Kaggle's test.csv (or any CSV of 784 pixel values per row); download the predictions."""
    upload = st.file_uploader("An unlabelled CSV of images (Kaggle's test.csv)", key="submission_csv",
                              max_upload_size=MAX_UPLOAD_MB, help="An optional header (pixel0,…,pixel783), then "
                              "one row of 784 pixel values 0–255 per image. Every image is classified by this run.")
    if upload is None:
        st.caption("Kaggle's Digit Recognizer scores a file of ImageId,Label rows: this writes it, the same as "
                   "`python -m mnistlab predict --run RUN --csv test.csv --out submission.csv`.")
        return
    memo = st.session_state.get(MEMO)
    if memo is None or memo[:2] != (upload.file_id, run_id):
        with st.spinner("Classifying every image of the file…"):
            memo = st.session_state[MEMO] = (upload.file_id, run_id, *_predict(run_id, upload.name, upload.getvalue()))
    _, _, text, error, rows = memo
    if error:
        st.error(error, icon=":material/error:")
        return
    st.success(f"Predicted {rows:,} images.", icon=":material/check_circle:")
    st.download_button("Download submission.csv", text, "submission.csv", "text/csv", key="dl_submission",
                       icon=":material/download:", type="primary")
