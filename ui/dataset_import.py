"""The Data page's import: your own dataset from an upload or a path on the server, and removing one.

Every check and sentence is the core's (`mnistlab.ingest`), as `python -m mnistlab data import` gives them.
"""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.ingest import DEFAULT_TEST_FRACTION, ImportReport, import_dataset, list_datasets, remove_dataset
from mnistlab.ingest.uploads import import_uploads
from ui import live, state

MAX_UPLOAD_MB = 128  # per file; mnist_train.csv is 105 MiB (server.maxUploadSize in .streamlit/config.toml)
UPLOAD, PATH = "Upload", "A path on this server"
REQUESTED = "import_requested"  # session_state: Import was clicked
REMOVE_ERROR = "remove_error"  # session_state: why the last Remove failed
IMPORTED = "imported_here"  # session_state: names this session imported (it may remove them on a shared server)
LOCAL = ("127.0.0.1", "localhost", "::1")
FRACTIONS = {"1/10": 0.1, "1/6": DEFAULT_TEST_FRACTION, "1/5": 0.2, "1/4": 0.25, "1/3": 1 / 3, "1/2": 0.5}
FORMATS_HELP = ("CSV (a label, then the pixels of each image, header optional, labels numbers or names), an "
                "IDX images file with its labels file (raw or .gz), a Keras-style .npz (x_train, y_train[, x_test, "
                "y_test]), or a .zip of one folder of images per class. Other sizes and colour are converted to "
                "28×28 grey.")


def _server_paths_allowed() -> bool:
    """Paths on the server are offered to its operator: a dashboard on this machine only, or MNISTLAB_ADMIN=1."""
    return live.admin() or str(st.get_option("server.address") or "127.0.0.1") in LOCAL


def _uploads(files) -> list[tuple[str, bytes]]:
    return [(f.name, f.getvalue()) for f in (files or [])]


def _report(report: ImportReport) -> None:
    m = report.manifest
    sizes = m.sizes
    st.success(f"Imported **{m.name}**: {sizes['train']:,} training and {sizes['test']:,} test images in "
               f"{len(m.classes)} classes ({', '.join(m.classes[:12])}{' …' if len(m.classes) > 12 else ''}).",
               icon=":material/check_circle:")
    for sentence in m.conversions:
        st.caption(f":material/transform: {sentence}")
    st.button(f"Switch to {m.name}", key="import_use", icon=":material/swap_horiz:", type="primary",
              on_click=state.set_dataset, args=(m.name,))


def _import(name: str, source: str, options: dict) -> None:
    try:
        if source == UPLOAD:
            report = import_uploads(name, _uploads(st.session_state.get("import_train")),
                                    _uploads(st.session_state.get("import_test")), **options)
        else:
            train = (st.session_state.get("import_train_path") or "").strip()
            test = (st.session_state.get("import_test_path") or "").strip() or None
            if not train:
                raise MnistlabError("type the path of the training file or folder on this server.")
            if test and "test_fraction" in options:
                options.pop("test_fraction")
            report = import_dataset(name, train, test=test, **options)
    except MnistlabError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.session_state.setdefault(IMPORTED, set()).add(name)
    _report(report)


def import_section() -> None:
    """Name, files (or paths), test part and class names, then Import."""
    name = st.text_input("Name of the new dataset", key="import_name", placeholder="e.g. kmnist or my-digits",
                         help="Lower-case letters, digits, '.', '_' or '-' (up to 40); it appears in the dataset "
                              "switch and in `--dataset NAME` on the command line.")
    sources = [UPLOAD, PATH] if _server_paths_allowed() else [UPLOAD]
    source = st.segmented_control("From", sources, key="import_source", default=UPLOAD, required=True)
    if source == UPLOAD:
        st.file_uploader("Training data", accept_multiple_files=True, key="import_train",
                         max_upload_size=MAX_UPLOAD_MB, help=FORMATS_HELP)
        st.file_uploader("Test data (optional)", accept_multiple_files=True, key="import_test",
                         max_upload_size=MAX_UPLOAD_MB, help="In any of the same formats. Without it, part of the "
                         "training data is held out for testing.")
        has_test = bool(st.session_state.get("import_test"))
    else:
        st.text_input("Training file or folder on this server", key="import_train_path", help=FORMATS_HELP)
        st.text_input("Test file (optional)", key="import_test_path")
        has_test = bool((st.session_state.get("import_test_path") or "").strip())
    options: dict = {"data_dir": state.data_dir()}
    if not has_test:
        share = st.select_slider("Held out for testing", list(FRACTIONS), value="1/6", key="import_fraction",
                                 help="A stratified share of every class, drawn with seed 0 (used only when the "
                                      "file has no test part of its own). 1/6 is MNIST's own proportion.")
        options["test_fraction"] = FRACTIONS[share]
    classes = st.text_input("Class names (optional)", key="import_classes", placeholder="e.g. cat,dog,bird",
                            help="Comma-separated, in label order (0, 1, 2…). Without them, folder names or string "
                                 "labels are used, else the label numbers.")
    if classes.strip():
        options["classes"] = classes
    # on_click, not the return value: a click is then acted on once even if the script reruns before this line
    st.button("Import", key="import_go", icon=":material/upload:", disabled=not name.strip(),
              on_click=st.session_state.update, kwargs={REQUESTED: True})
    if st.session_state.pop(REQUESTED, False) and name.strip():
        with st.spinner("Reading, checking and converting the images…"):
            _import(name.strip(), source, options)
    st.caption(f"Limits: {MAX_UPLOAD_MB} MiB per uploaded file (larger ones by a path or the command line: "
               "`python -m mnistlab data import NAME --train FILE`), 1,000,000 images, 2 to 62 classes.")


def _may_remove(name: str) -> bool:
    return _server_paths_allowed() or name in st.session_state.get(IMPORTED, set())


def _remove(name: str) -> None:
    """on_click of Remove (asked first with a checkbox)."""
    try:
        remove_dataset(name, state.data_dir())
    except MnistlabError as error:
        st.session_state[REMOVE_ERROR] = str(error)
        return
    if state.dataset() == name:
        state.set_dataset("mnist")


def manage_section() -> None:
    """Every imported dataset, with its counts and a Remove that asks first."""
    imported = [d for d in list_datasets(state.data_dir()) if d.imported]
    if not imported:
        st.caption("No imported datasets yet.")
        return
    for listed in imported:
        with st.container(border=True):
            if listed.error:
                st.warning(f"**{listed.name}**: {listed.error}", icon=":material/warning:")
            else:
                sizes = listed.sizes
                st.markdown(f"**{listed.name}** · {sizes.get('train', 0):,} train / {sizes.get('test', 0):,} test · "
                            f"{len(listed.classes)} classes ({', '.join(listed.classes[:10])}"
                            f"{' …' if len(listed.classes) > 10 else ''})")
            if not _may_remove(listed.name):
                continue
            sure = st.checkbox(f"Yes, remove {listed.name} and its files", key=f"remove_sure_{listed.name}")
            st.button("Remove", key=f"remove_{listed.name}", icon=":material/delete:", disabled=not sure,
                      on_click=_remove, args=(listed.name,))
    if REMOVE_ERROR in st.session_state:
        st.error(st.session_state.pop(REMOVE_ERROR), icon=":material/error:")
