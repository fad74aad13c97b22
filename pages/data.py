"""Data: a grid of samples, one image pixel by pixel, the classes, an augmentation preview, and a file check."""

import numpy as np
import streamlit as st
import torch

from mnistlab.data.augment import preview
from ui import cache, charts, dataset_import, images, state, upload, widgets

PER_PAGE = 60
ITEMS = {"mnist": "digit", "fashion-mnist": "garment"}  # what one image shows, for the captions


def sample_grid(split, classes: tuple[str, ...]) -> None:
    picked = st.pills("Classes", list(range(len(classes))), format_func=lambda c: classes[c], selection_mode="multi",
                      key="data_classes", help="Show only these classes (none selected: all).")
    a, b, c = st.columns([2, 1, 1])
    order = a.segmented_control("Order", ["in file order", "random draw"], key="data_order", required=True,
                                default="in file order")
    seed = b.number_input("Seed", 0, 2**31 - 1, 0, key="data_seed", disabled=order != "random draw",
                          help="The same seed draws the same images.")
    labels = split.labels.numpy()
    index = np.flatnonzero(np.isin(labels, picked)) if picked else np.arange(len(labels))
    if order == "random draw":
        index = np.random.default_rng(seed).permutation(index)
    pages = max(1, -(-len(index) // PER_PAGE))
    page = min(c.number_input("Page", 1, 10**6, 1, key="data_page"), pages)
    shown = index[(page - 1) * PER_PAGE: page * PER_PAGE]
    st.caption(f"{len(index):,} images match · page {page:,} of {pages:,} · the number under each image is its "
               "position in the split.")
    pixels = split.images[torch.from_numpy(shown)].numpy() if len(shown) else []
    images.grid([images.Card(img, classes[labels[i]], note=f"#{i:,}", swatch=charts.class_color(int(labels[i])))
                 for img, i in zip(pixels, shown, strict=True)], cell_px=84 if len(classes[0]) < 3 else 104,
                empty="No image of the chosen classes in this split.")


def pixel_view(split, classes: tuple[str, ...]) -> None:
    a, b = st.columns([1, 3])
    with a:
        i = st.number_input("Image number", 0, len(split) - 1, 0, key="data_index",
                            help="Its position in the split (the grid shows it under each image).")
        label = int(split.labels[i])
        st.markdown(f"### :material/label: {classes[label]}")
        st.caption(f"Class {label}. Pixels are 0 (black) to 255 (white); the network sees them divided by 255, "
                   "flattened into a vector of 784 numbers.")
        st.image(split.images[i].numpy(), width=140, clamp=True)
    with b:
        st.plotly_chart(charts.pixel_heatmap(split.images[i].numpy(), f"Image #{i:,}: {classes[label]}"),
                        key="pixel_heatmap", config={"displayModeBar": False})


def class_view(dataset: str, classes: tuple[str, ...]) -> None:
    counts = {which: cache.split(dataset, which).label_counts() for which in ("train", "test")}
    st.plotly_chart(charts.class_distribution(counts, classes), key="class_counts", config={"displayModeBar": False})
    thing = ITEMS.get(dataset, "image")
    st.markdown(f"**Average image of each class**: every training image of the class averaged pixel by pixel, a "
                f"blurry template of the typical {thing}. Bright where nearly every {thing} of the class covers the "
                "pixel, faint where they differ; classes whose templates look alike are often the ones networks "
                "confuse.")
    means = cache.mean_images(dataset, "train")
    st.plotly_chart(charts.image_panels(means, classes, cols=5, title_colors=charts.CLASS_COLORS),
                    key="class_means", config={"displayModeBar": False})


def augment_view(split, classes: tuple[str, ...]) -> None:
    st.caption("The same image under random draws of the current settings: these sliders are the Train page's "
               "augmentation, so what you set here is what training uses.")
    left, right = st.columns([2, 3])
    with left:
        i = st.number_input("Image number", 0, len(split) - 1, 0, key="aug_index")
        seed = st.number_input("Draw seed", 0, 2**31 - 1, 0, key="aug_seed")
        aug = widgets.augment_controls()
    with right:
        image = split.images[i]
        draws = preview(image, aug, n=14, seed=int(seed)).numpy()
        cards = [images.Card(image.numpy(), "original", swatch=charts.class_color(int(split.labels[i])))]
        cards += [images.Card(d, f"draw {k + 1}") for k, d in enumerate(draws)]
        images.grid(cards, cell_px=100)
        if not aug.active:
            st.info("Augmentation is off: every draw is the original. Move a slider or pick a recipe.",
                    icon=":material/tune:")


def main() -> None:
    dataset = state.dataset()
    name = state.dataset_label(dataset)
    state.page(f"Data: {name}", "Look at what the network will see, before it sees it.")
    with st.expander("Import your own dataset (CSV, IDX, .npz, folders of images)", icon=":material/upload:"):
        dataset_import.import_section()
    with st.expander("Your imported datasets", icon=":material/folder_managed:"):
        dataset_import.manage_section()
    with st.expander("Check a file of your own (IDX or CSV)", icon=":material/upload_file:"):
        upload.section()
    if not cache.present(dataset):
        st.info(f"{name} is not here yet (mnistlab looks in `{state.data_dir() / dataset}`). Fetch it on Home, "
                f"or run `python -m mnistlab data fetch --dataset {dataset}`.", icon=":material/cloud_download:")
        st.page_link("pages/home.py", label="Fetch it on Home", icon=":material/arrow_forward:")
        return
    which = st.segmented_control("Split", ["train", "test"], key="data_split", required=True, default="train",
                                 format_func=lambda s: f"{s} ({len(cache.split(dataset, s)):,} images)")
    split = cache.split(dataset, which)
    classes = split.classes
    samples, pixels, distribution, augment = st.tabs(
        [":material/grid_view: Samples", ":material/grid_on: Pixels", ":material/bar_chart: Classes",
         ":material/transform: Augmentation"])
    with samples:
        sample_grid(split, classes)
    with pixels:
        pixel_view(split, classes)
    with distribution:
        class_view(dataset, classes)
    with augment:
        augment_view(split, classes)


state.guard(main)
