"""Compare's import: a run downloaded from Results (its weights and config) added to this store.

Every check and sentence is the core's (`mnistlab.runs.importing`), as `python -m mnistlab runs import` gives them.
"""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.runs.importing import import_uploads
from ui import cache, state

KEY = "run_import_files"
RESULT = "run_import_result"  # session_state: (True, [messages]) or (False, the core's sentence)
MAX_UPLOAD_MB = 128  # per file (server.maxUploadSize); larger models by `python -m mnistlab runs import`


def _import(owner: str) -> None:
    """on_click of Import: acted on once, whatever reruns follow."""
    files = [(f.name, f.getvalue()) for f in st.session_state.get(KEY) or []]
    try:
        done = import_uploads(cache.store(), files, state.data_dir(), owner=owner)
    except MnistlabError as error:
        st.session_state[RESULT] = (False, str(error))
        return
    st.session_state[RESULT] = (True, [f"**{r.run_id}**: {r.message}" for r in done])


def section(owner: str) -> None:
    """The uploader, an Import button and the verdict."""
    with st.expander("Import a downloaded run", icon=":material/upload_file:"):
        files = st.file_uploader(
            "A run's weights (.safetensors) and config (.json)", accept_multiple_files=True, key=KEY,
            max_upload_size=MAX_UPLOAD_MB, help="The two files Results → Downloads gives (Weights and Config), e.g. "
            "from a teacher. They are checked like any untrusted file; a pickle (.pt) file is never opened.")
        st.button("Import", key="run_import_go", icon=":material/upload:", disabled=not files, on_click=_import,
                  args=(owner,))
        st.caption("The same as `python -m mnistlab runs import RUN.safetensors RUN-config.json`. The run is "
                   "evaluated on this machine's test set of its dataset when that is here.")
    result = st.session_state.pop(RESULT, None)
    if result is None:
        return
    ok, said = result
    if not ok:
        st.error(said, icon=":material/error:")
        return
    for line in said:
        st.success(f"Imported {line}", icon=":material/check_circle:")
