"""Results: one run's test accuracy, per-class accuracy, confusion matrix, its images, mistakes and files."""

import numpy as np
import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.experiment import RESUMABLE, continued_config
from mnistlab.insight import first_layer_images
from mnistlab.presets import PRESETS
from ui import cache, charts, confusion, exports, images, live, state, submission
from ui.pickers import pick_run

PER_PAGE = 36
FIRST_LAYER_UNITS = 32  # hidden units drawn on the First layer tab (Inspect shows more, with an epoch slider)


def outcome(info) -> None:
    text = info.message or ""
    if info.status == "running":
        st.info("This run is still training; these are its numbers so far.", icon=":material/autorenew:")
        st.page_link("pages/train.py", label="Watch it on Train", icon=":material/arrow_forward:")
    elif info.status == "stalled":
        st.warning(f"This run {text}" if text.startswith("did not learn") else
                   text or "This run did not learn: its accuracy stayed at chance.",
                   icon=":material/trending_flat:")
    elif info.status == "stopped":
        st.info("Stopped before its last epoch: the results are those of the model when it was stopped.",
                icon=":material/stop_circle:")
    elif info.status == "diverged":
        st.warning(text or "The loss became NaN; these results are from the last good epoch.", icon=":material/warning:")
    elif info.status in ("failed", "interrupted"):
        what = "failed" if info.status == "failed" else "was interrupted"
        st.error(f"This run {what}: {text.rstrip('.')}." if text else f"This run {what}.", icon=":material/error:")
    elif text:  # e.g. an imported run: where it came from and how it scored here
        st.info(text[0].upper() + text[1:], icon=":material/move_to_inbox:")


def benchmark(info) -> tuple[str, float] | None:
    """What to compare with, only for a run of a preset's recipe unchanged: its published figure or its target."""
    preset = PRESETS.get(info.preset or "")
    if preset is None or preset.config.dataset != info.dataset or not info.is_preset:
        return None
    if preset.published is not None:
        return "published", preset.published
    return ("target", preset.target) if preset.target is not None else None


def headline(info, ev) -> None:
    against = benchmark(info)
    cols = st.columns(5)
    cols[0].metric("Test accuracy", f"{ev.accuracy:.2%}",
                   delta=f"{ev.accuracy - against[1]:+.2%} vs {against[0]} {against[1]:.1%}" if against else None,
                   delta_color="normal" if against else "off",
                   help=None if against or not info.preset else
                   "Not compared with the preset's published figure or target: this run changed its recipe.")
    cols[1].metric("Test loss", f"{ev.loss:.4f}")
    cols[2].metric("Epochs", info.epochs_done)
    cols[3].metric("Training time", live.duration(info.train_seconds))
    cols[4].metric("Test images", f"{len(ev.labels):,}")


def downloads(info) -> None:
    cols = st.columns(5)
    weights = cache.run_file(info.run_id, "model.safetensors")
    cols[0].download_button("Weights (safetensors)", weights or b"", f"{info.run_id}.safetensors", key="dl_weights",
                            icon=":material/download:", disabled=weights is None, width="stretch",
                            help="With the config beside it, `python -m mnistlab runs import` (or Compare → Import) "
                                 "adds this run to another store.")
    cols[1].download_button("Config (JSON)", exports.config(info.run_id), f"{info.run_id}-config.json",
                            "application/json", key="dl_config", icon=":material/download:", width="stretch")
    history = cache.history(info.run_id)
    table = history.drop(columns=["layers", "test_confusion"], errors="ignore")  # nested: see `mnistlab inspect`
    cols[2].download_button("Metrics (CSV)", table.to_csv(index=False), f"{info.run_id}-metrics.csv", "text/csv",
                            key="dl_metrics", icon=":material/download:", disabled=history.empty, width="stretch")
    cols[3].download_button("Model (ONNX)", exports.onnx_maker(info.run_id), f"{info.run_id}.onnx",
                            "application/octet-stream", key="dl_onnx", icon=":material/download:",
                            disabled=weights is None, width="stretch",
                            help="For onnxruntime or Netron: (N, 784) pixels in [0, 1] → logits and probabilities; "
                                 "the class names are in its metadata.")
    cols[4].download_button("Script (PyTorch)", exports.script(info.run_id), f"{info.run_id}.py", "text/x-python",
                            key="dl_script", icon=":material/download:", width="stretch",
                            help="One plain-PyTorch file that trains this network again with the same settings and "
                                 "prints its test accuracy: yours to read and change.")


def _continue(run_id: str, preset: str | None) -> None:
    """on_click of Continue training: queue the continued config (the message is shown on the rerun)."""
    try:
        config = continued_config(cache.store(), run_id, int(st.session_state["resume_epochs"]))
    except MnistlabError as error:
        st.session_state["resume_result"] = ("error", str(error))
        return
    live.start(config, preset, resume_from=run_id)
    error = st.session_state.pop("train_error", None)
    st.session_state["resume_result"] = ("error", error) if error else (
        "success", f"Queued: a new run continues {run_id} to epoch {config.epochs}.")


def continue_training(info) -> None:
    """Continue training: queue a new run that carries on from this one's last saved epoch."""
    if info.status not in RESUMABLE or not (saved := cache.store().open(info.run_id).saved_states):
        return
    with st.expander(f"Continue training from epoch {saved[-1]}", icon=":material/resume:"):
        st.number_input("More epochs", min_value=1, max_value=1000, value=5, key="resume_epochs")
        st.button("Continue training", key="resume_start", icon=":material/play_arrow:", on_click=_continue,
                  args=(info.run_id, info.preset))
        kind, text = st.session_state.pop("resume_result", (None, ""))
        if kind == "error":
            st.error(text, icon=":material/error:")
        elif kind == "success":
            st.success(text, icon=":material/check:")
            st.page_link("pages/train.py", label="Watch it on Train", icon=":material/arrow_forward:")


def prediction_cards(ev, test, index, classes) -> list:
    cards = []
    for i in index:
        pred, true = int(ev.predictions[i]), int(ev.labels[i])
        bars = [(classes[c], p, charts.class_color(c)) for c, p in ev.top_k(int(i), 3)]
        cards.append(images.Card(test.images[int(i)].numpy(), f"{classes[pred]} ({classes[true]})",
                                 charts.GOOD if pred == true else charts.BAD, f"#{int(i):,}", bars))
    return cards


def browse(ev, test, classes, index, key: str, empty: str) -> None:
    pages = max(1, -(-len(index) // PER_PAGE))
    page = min(st.number_input("Page", 1, 10**6, 1, key=key), pages)
    st.caption(f"{len(index):,} images · page {page} of {pages} · green: right, red: wrong; bars: the top-3 "
               "probabilities.")
    images.grid(prediction_cards(ev, test, index[(page - 1) * PER_PAGE: page * PER_PAGE], classes),
                cell_px=124 if len(classes[0]) < 3 else 148,
                empty=empty)


def first_layer(info) -> None:
    model = cache.model(info.run_id)
    if model is None:
        st.info("This run saved no model.", icon=":material/block:")
        return
    weights = first_layer_images(model).images[:FIRST_LAYER_UNITS]
    hidden = bool(model.spec.hidden)
    st.caption(("Each square is one hidden unit's 784 input weights laid out as an image: blue pixels push it "
                "up, red pixels push it down. Units of a trained net look like strokes and blobs.") if hidden else
               "With no hidden layer the weights of each class form a template of that class.")
    st.plotly_chart(charts.image_panels(weights, [f"unit {k}" for k in range(len(weights))], cols=8,
                                        colorscale="RdBu", zmid=0), key="first_layer", config={"displayModeBar": False})


def main() -> None:
    state.page("Results", "What one run learned, class by class and image by image.")
    live.owner_id()  # keep ?me= in the URL, so a reload stays the same owner
    runs = cache.store().list()
    if not runs:
        st.info("No runs yet. Train one on the Train page (or `python -m mnistlab train --preset fast` in a terminal) "
                "and its results appear here.", icon=":material/history:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
        return
    info = pick_run(runs)
    outcome(info)
    ev = cache.evaluation(info.run_id)
    history = cache.history(info.run_id)
    if ev is None:
        st.info("This run has no test evaluation" + ("." if cache.model(info.run_id) is not None else
                ": it ended before a model was saved."), icon=":material/block:")
    else:
        headline(info, ev)
    downloads(info)
    continue_training(info)
    if ev is not None:
        with st.expander("Predict a CSV of images: a Kaggle submission", icon=":material/upload_file:"):
            submission.section(info.run_id)
    if not history.empty:
        smoothing = (cache.run_config(info.run_id).get("config") or {}).get("label_smoothing") or 0.0
        loss, acc = charts.curves(history, classes=len(ev.classes) if ev is not None else 10,
                                  label_smoothing=float(smoothing))
        left, right = st.columns(2)
        left.plotly_chart(loss, key="loss_curve", config={"displayModeBar": False})
        right.plotly_chart(acc, key="accuracy_curve", config={"displayModeBar": False})
    if ev is None:
        return
    classes = ev.classes
    test = None
    if cache.present(info.dataset):
        full = cache.split(info.dataset, "test")
        if (len(full) >= len(ev.labels) and tuple(full.classes) == tuple(classes)
                and np.array_equal(full.labels[:len(ev.labels)].numpy(), ev.labels)):
            test = full
    if test is None:
        st.info(f"The {info.dataset} test images are not available here (or changed since this run), so image "
                "grids are hidden; the numbers above are from the run's files.", icon=":material/image_not_supported:")
    st.plotly_chart(charts.per_class_bar(ev.per_class_accuracy, classes), key="per_class",
                    config={"displayModeBar": False})
    tabs = st.tabs([":material/grid_on: Confusion", ":material/photo_library: Predictions",
                    ":material/report: Mistakes", ":material/blur_on: First layer"])
    with tabs[0]:
        confusion.confusion_view(ev, test, classes, info.run_id)
    with tabs[1]:
        if test is not None:
            browse(ev, test, classes, np.arange(len(ev.labels)), "pred_page", "No test images.")
    with tabs[2]:
        if test is not None:
            browse(ev, test, classes, ev.mistakes(), "mistake_page", "No mistakes at all: every test image is right.")
    with tabs[3]:
        first_layer(info)


state.guard(main)
