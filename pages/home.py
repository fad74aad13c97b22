"""Home: what mnistlab is, the state of the data (fetch it here), the latest runs and one-click presets."""

import pandas as pd
import streamlit as st

from mnistlab.data.datasets import DATASETS
from mnistlab.data.fetch import fetch_dataset
from mnistlab.errors import MnistlabError
from mnistlab.lessons import LESSONS
from mnistlab.presets import PRESETS
from ui import cache, live, pickers, state, widgets

TOUR = [
    ("pages/data.py", "Explore the data", ":material/grid_view:",
     "Browse the images, read one pixel by pixel, see each class's average and try augmentations."),
    ("pages/train.py", "Train live", ":material/model_training:",
     "Pick a preset or set every knob, press Start and watch loss and accuracy move epoch by epoch."),
    ("pages/results.py", "Understand the results", ":material/insights:",
     "Per-class accuracy, the confusion matrix, the images behind each mistake, every prediction."),
    ("pages/inspect.py", "Look inside", ":material/troubleshoot:",
     "Gradient flow, what each layer looks for, where the classes separate, what fools the net, and why it fails."),
    ("pages/draw.py", "Draw a digit", ":material/draw:",
     "Write with the mouse and see what the network sees and answers, with the pixels it looked at."),
    ("pages/compare.py", "Compare runs", ":material/compare_arrows:",
     "Every run from the dashboard and the CLI side by side: curves, per-class accuracy, timings."),
]


def fetch(dataset: str) -> None:
    """Download and verify `dataset` with a progress bar (runs in this script run, not a worker)."""
    bar = st.progress(0.0, text="Contacting the mirrors…")
    lines = st.empty()

    def progress(stem: str, done: int, total: int | None) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{stem}: {done / 2**20:.1f} MiB")

    try:
        fetch_dataset(dataset, state.data_dir(), progress=progress, log=lambda line: lines.caption(line))
    except MnistlabError as error:
        bar.empty()
        st.error(str(error), icon=":material/cloud_off:")
        return
    st.toast(f"{state.dataset_label(dataset)} is ready.", icon=":material/check_circle:")
    st.rerun()


def data_status(dataset: str) -> None:
    info, name = state.info(dataset), state.dataset_label(dataset)
    if info.imported:
        st.success(f"**{name}** is your imported dataset: {info.train_size:,} training and {info.test_size:,} test "
                   f"images in {info.num_classes} classes ({', '.join(info.classes[:12])}"
                   f"{' …' if info.num_classes > 12 else ''}).", icon=":material/upload_file:")
        return
    if not cache.present(dataset):
        st.info(f"**{info.title}** is not here yet: mnistlab looks for it in `{state.data_dir() / dataset}`. "
                "Fetch it (about 30 MB, checked against the published checksums) or point MNISTLAB_DATA_DIR at a "
                "folder that holds it.", icon=":material/cloud_download:")
        st.button(f"Fetch {name}", key="fetch", type="primary", icon=":material/download:",
                  on_click=lambda: st.session_state.update(fetch_dataset=dataset))
        if st.session_state.pop("fetch_dataset", None) == dataset:
            fetch(dataset)
        return
    train, test = cache.split(dataset, "train"), cache.split(dataset, "test")
    report = cache.verify(dataset)
    sizes = f"{len(train):,} training and {len(test):,} test images"
    if all(status == "ok" for status in report.values()):
        st.success(f"**{info.title}** is ready: {sizes}, checksums verified.", icon=":material/verified:")
    else:
        bad = ", ".join(f"{stem} ({status})" for stem, status in report.items() if status != "ok")
        st.warning(f"**{info.title}** is present ({sizes}) but differs from the official files: {bad}. "
                   "Training works; results may not match the published figures.", icon=":material/rule:")


def latest_runs() -> None:
    runs = cache.store().list()[:5]
    if not runs:
        st.info("No runs yet. Start a preset below, or train from a terminal with "
                "`python -m mnistlab train --preset fast`: runs from both show up here.", icon=":material/history:")
        return
    table = pd.DataFrame([{"Created": r.created[5:16].replace("T", " "), "Status": r.status,
                           "Test accuracy": r.test_accuracy, "Dataset": r.dataset, "Recipe": pickers.recipe(r),
                           "Model": r.description, "Training": live.duration(r.train_seconds), "Run": r.run_id}
                          for r in runs])
    st.dataframe(table, hide_index=True, key="latest_runs", column_config={
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
    st.page_link("pages/compare.py", label="All runs on Compare", icon=":material/arrow_forward:")


def preset_card(name: str) -> None:
    preset = PRESETS[name]
    config = preset.config
    ready = cache.present(config.dataset)
    with st.container(border=True, height="stretch"):
        st.markdown(f"**{preset.title}**")
        colour = "green" if preset.published is not None else "orange" if preset.target is not None else "gray"
        figure = f":{colour}-badge[{preset.figure()}]"
        st.markdown(f"{figure} :blue-badge[{state.dataset_label(config.dataset)}] "
                    f":violet-badge[{config.epochs} epochs]")
        st.caption(preset.lesson)
        st.caption(f"{config.model.describe()} · {widgets.label(config.optimizer)} lr {config.lr:g} · "
                   f"batch {config.batch_size}")
        left, right = st.columns(2)
        left.button("Train now", key=f"run_{name}", type="primary", icon=":material/play_arrow:", on_click=train_now,
                    args=(name,), disabled=not ready, width="stretch",
                    help=None if ready else f"Fetch {state.dataset_label(config.dataset)} first.")
        right.button("Customise", key=f"open_{name}", icon=":material/tune:", on_click=customise, args=(name,),
                     width="stretch")


PAGE_FILES = {"train": "pages/train.py", "results": "pages/results.py", "inspect": "pages/inspect.py",
              "draw": "pages/draw.py", "compare": "pages/compare.py"}


def guided_path() -> None:
    """The tutorials' lessons in order: a preset to train, what to watch, what it teaches."""
    # Measured (README, Performance): a `fast` epoch is 3.0-3.6 s of training on the project's 2-core CPU VM.
    st.caption("New to neural networks? Follow these steps in order. Each button says how many epochs it trains: "
               "`fast`'s 3 epochs take about 10 s on a 2-core CPU; the 100-epoch and one-image-per-step lessons "
               "take minutes.")
    for number, lesson in enumerate(LESSONS, start=1):
        with st.expander(f"**{number}. {lesson.title}**", expanded=number == 1):
            left, right = st.columns([3, 1])
            with left:
                st.markdown(f"**Train** {' then '.join(f'`{p}`' for p in lesson.presets)}  \n"
                            f"**Watch** {lesson.watch}  \n**It teaches** {lesson.teaches}")
            with right:
                for name in lesson.presets:
                    ready = cache.present(PRESETS[name].config.dataset)
                    epochs = PRESETS[name].config.epochs
                    st.button(f"Train {name} · {epochs} epochs", key=f"lesson_{number}_{name}",
                              icon=":material/play_arrow:", on_click=train_now, args=(name,), disabled=not ready,
                              width="stretch", help=f"Queues `{name}` and opens Train on its live view.")
                st.page_link(PAGE_FILES[lesson.page], label=f"Open {lesson.page.title()}",
                             icon=":material/arrow_forward:")


def train_now(name: str) -> None:
    """on_click: load the preset into Train's controls, queue it, and go and watch it (scrolled to Live)."""
    widgets.load_preset(name)
    live.start(PRESETS[name].config, name)
    started = "train_error" not in st.session_state  # if not, Train shows why, next to its Start button
    state.go("pages/train.py", anchor="live" if started else None)


def customise(name: str) -> None:
    st.session_state["load_preset"] = name
    state.go("pages/train.py")


def main() -> None:
    state.page("mnistlab", "See how a multi-layer perceptron learns to read handwritten digits and clothes.")
    for row in range(0, len(TOUR), 3):
        for col, (path, title, icon, text) in zip(st.columns(3), TOUR[row:row + 3], strict=False):
            with col.container(border=True, height="stretch"):
                st.page_link(path, label=title, icon=icon)
                st.caption(text)

    st.subheader("Data", anchor=False)
    data_status(state.dataset())
    other = next(d for d in DATASETS if d != state.dataset())  # the other built-in
    st.caption(f"{state.dataset_label(other)}: {'present' if cache.present(other) else 'not fetched'} "
               "(switch dataset in the sidebar).")

    active = [s for s in cache.job_queue().jobs() if s.active]
    if active:
        st.info(f"{len(active)} training job(s) running or waiting on this server.", icon=":material/autorenew:")
        st.page_link("pages/train.py", label="Watch on Train", icon=":material/arrow_forward:")

    st.subheader("Guided path", anchor=False)
    guided_path()

    st.subheader("Latest runs", anchor=False)
    latest_runs()

    st.subheader("Presets", anchor=False)
    st.caption("Classic tutorial recipes with the test accuracy their authors published, and the record MLPs "
               "(`best-mlp`, its 4-epoch short version, `best-mlp-augment`, `best-fashion`) with what each measured "
               "here. **Train now** starts one at once; **Customise** opens it on Train.")
    names = ["fast", *(n for n in PRESETS if n != "fast")]  # the quickest first
    for row in range(0, len(names), 3):
        for col, name in zip(st.columns(3), names[row:row + 3], strict=False):
            with col:
                preset_card(name)


state.guard(main)
