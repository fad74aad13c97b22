"""Draw: write a digit (or upload a photo), see the 28×28 input the net gets, and its prediction."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnistlab.errors import MnistlabError
from mnistlab.imageprep import PreparedImage, prepare_array, prepare_image, style_for
from mnistlab.insight import saliency_map
from mnistlab.predict import predict_image
from ui import cache, charts, images, live, state
from ui.pickers import best_run, pick_run

CANVAS_PX = 280  # ten screen pixels per MNIST pixel


def usable_runs() -> list:
    """Runs with a saved model, newest first."""
    store = cache.store()
    return [r for r in store.list() if store.open(r.run_id).has_model]


def no_runs() -> None:
    st.info("No trained model yet. Train the `fast` preset (about ten seconds on a laptop) and come back to "
            "test it with your own handwriting.", icon=":material/draw:")
    st.page_link("pages/home.py", label="Train a preset on Home", icon=":material/arrow_forward:")


def drawing(dataset: str) -> PreparedImage | None:
    """The canvas (or an upload, or a test image); its MNIST-style 28×28 version, None while empty."""
    source = st.segmented_control("Input", ["Draw", "Upload", "Test image"], key="draw_source", default="Draw",
                                  required=True, help="Draw with the mouse or a finger, upload a photo or scan, "
                                  "or take a random image from the test set.")
    if source == "Upload":
        # No `type=` filter: Streamlit raises on a file the browser's picker let through (.svg, .ico); every file
        # is checked by prepare_image instead, which says in one sentence what it accepts.
        upload = st.file_uploader("A photo or scan of one digit or garment", key="draw_upload", max_upload_size=10,
                                  help="PNG, JPEG, GIF, BMP, WebP, TIFF or PPM; dark on light or light on dark. It is "
                                  "cropped, scaled and centred like MNIST.")
        return prepare_image(upload.getvalue(), upload.name, style_for(dataset)) if upload is not None else None
    if source == "Test image":
        if not cache.present(dataset):
            st.info("The test images are not downloaded yet: fetch them on Home.", icon=":material/cloud_download:")
            return None
        test = cache.split(dataset, "test")
        if st.button("Another test image", key="draw_next", icon=":material/shuffle:"):
            st.session_state["draw_index"] = int(np.random.default_rng().integers(len(test)))
        index = st.session_state.setdefault("draw_index", 0)
        st.caption(f"Test image #{index:,} (true class: **{test.classes[int(test.labels[index])]}**).")
        image = test.images[index].numpy()  # already the dataset's own 28×28: used as it is
        return PreparedImage(image, False, image)
    width = st.slider("Pen width", 8, 40, 22, key="draw_pen", help="MNIST strokes are about a tenth of the "
                      "digit's height: a width near 20 on this canvas matches them.")
    canvas = st_canvas(stroke_width=width, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_PX,
                       width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True, key="canvas")
    data = canvas.image_data if canvas is not None and canvas.json_data else None
    if data is None or not (canvas.json_data or {}).get("objects"):
        return None
    return prepare_array(np.asarray(data), "the drawing", style_for(dataset))


def show_input(prepared: PreparedImage, dataset: str) -> None:
    st.markdown("**What the network sees**")
    how = "cropped, 20 px, centred by mass" if style_for(dataset) == "digits" else "trimmed, 28 px, centred"
    images.grid([images.Card(prepared.image, "28 × 28 input", note=how)], cell_px=200)
    if prepared.inverted:
        st.caption("The background was light, so the image was inverted: MNIST digits are light on dark.")


def show_prediction(run_id: str, dataset: str, prepared: PreparedImage) -> None:
    model, classes = cache.model(run_id), cache.run_classes(run_id)
    prediction = predict_image(model, prepared.image, classes)
    confidence = prediction.probabilities[prediction.label]
    st.metric("Prediction", prediction.class_name, delta=f"{confidence:.0%} sure", delta_color="off")
    st.plotly_chart(charts.probability_bars(prediction.probabilities, classes), key="draw_probabilities",
                    config={"displayModeBar": False})
    saliency = saliency_map(model, prepared.image)
    st.plotly_chart(charts.signed_heatmap(saliency, f"Why “{prediction.class_name}”: saliency", height=280),
                    key="draw_saliency", config={"displayModeBar": False})
    st.caption("Blue pixels, made brighter, would raise the score of the predicted class; red ones would lower it.")


def main() -> None:
    state.page("Draw", "Write a digit, see what the network sees after MNIST-style preprocessing, and what it "
                       "answers. With a Fashion-MNIST run, draw or upload a garment: it is prepared as Fashion-MNIST "
                       "was.")
    live.owner_id()  # keep ?me= in the URL, so a reload stays the same owner
    runs = usable_runs()
    if not runs:
        no_runs()
        return
    best = best_run(runs, state.dataset())
    info = pick_run(runs, key="draw_run", label="Model", default=best.run_id if best else None,
                    help="Any run with a saved model; the most accurate recent finished run is preselected.")
    left, middle, right = st.columns([1.1, 0.9, 1.2], gap="large")
    with left:
        try:
            prepared = drawing(info.dataset)
        except MnistlabError as error:
            st.error(str(error), icon=":material/error:")
            prepared = None
    if prepared is None:
        with middle:
            st.info("Draw a digit in the black square (or pick another input) to get a prediction.",
                    icon=":material/gesture:")
        return
    with middle:
        show_input(prepared, info.dataset)
    with right:
        show_prediction(info.run_id, info.dataset, prepared)


state.guard(main)
