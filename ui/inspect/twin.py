"""The Side by side tab: the same configuration on MNIST and on Fashion-MNIST, and a button to train the missing twin."""

from __future__ import annotations

import streamlit as st

from mnistlab.insight import find_twin, twin_config
from mnistlab.train.config import TrainConfig
from ui import cache, charts, live, state
from ui.inspect.controls import PLOT, heading

TITLES = {"mnist": "MNIST (digits)", "fashion-mnist": "Fashion-MNIST (clothes)"}


def _start_twin(config: TrainConfig) -> None:
    live.start(config, None)
    if "train_error" not in st.session_state:
        state.go("pages/train.py", anchor="live")


def _run_column(run_id: str, dataset: str, key: str, zoom: bool) -> None:
    st.markdown(f"#### {TITLES[dataset]}")
    history = cache.history(run_id)
    ev = cache.evaluation(run_id)
    if ev is not None:
        st.metric("Test accuracy", f"{ev.accuracy:.2%}")
    if not history.empty:
        _, accuracy = charts.curves(history, classes=len(ev.classes) if ev is not None else 10, zoom=zoom)
        st.plotly_chart(accuracy, key=f"twin_curve_{key}", config=PLOT)
    if ev is not None:
        st.plotly_chart(charts.per_class_bar(ev.per_class_accuracy, ev.classes, zoom=zoom), key=f"twin_class_{key}",
                        config=PLOT)
        st.plotly_chart(charts.confusion_heatmap(ev.confusion, ev.classes), key=f"twin_conf_{key}", config=PLOT)


def twin_tab(run_id: str, config: TrainConfig, runs) -> None:
    heading("The same network on digits and on clothes", "twin")
    twin = twin_config(config)
    stored = [{"run_id": r.run_id, "status": r.status, "config": cache.run_config(r.run_id).get("config", {})}
              for r in runs]
    found = find_twin(stored, config, statuses=("finished", "running"))
    queued = any(job.active and job.config == twin for job in cache.job_queue().jobs())
    if found is not None and next(r for r in runs if r.run_id == found).status == "running" or (
            found is None and queued):
        st.info(f"The {TITLES[twin.dataset]} twin is training; come back when it has finished.",
                icon=":material/autorenew:")
        st.page_link("pages/train.py", label="Watch it on Train", icon=":material/arrow_forward:")
        return
    if found is None:
        st.info(f"No finished run of this configuration on {TITLES[twin.dataset]} yet.", icon=":material/compare:")
        ready = cache.present(twin.dataset)
        st.button(f"Train the {TITLES[twin.dataset]} twin", key="start_twin", type="primary",
                  icon=":material/play_arrow:", on_click=_start_twin, args=(twin,), disabled=not ready,
                  help="Queues the same configuration on the other dataset; come back here when it has finished."
                  if ready else f"Fetch {TITLES[twin.dataset]} on Home first.")
        if "train_error" in st.session_state:
            st.error(st.session_state.pop("train_error"), icon=":material/error:")
        return
    pair = {config.dataset: run_id, twin.dataset: found}
    zoom = st.toggle(charts.ZOOM_LABEL, key="twin_zoom", help=charts.ZOOM_HELP)
    cols = st.columns(2, gap="large")
    for col, dataset in zip(cols, ("mnist", "fashion-mnist"), strict=True):
        with col:
            _run_column(pair[dataset], dataset, dataset, zoom)
