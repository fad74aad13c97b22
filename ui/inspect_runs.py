"""Inspect tabs about whole runs: the MNIST / Fashion-MNIST twin side by side, and the diagnosis with fixes."""

from __future__ import annotations

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.insight import apply_fix, diagnose, find_twin, twin_config
from mnistlab.train.config import TrainConfig
from ui import cache, charts, live, state, widgets
from ui.inspect_views import PLOT, heading
from ui.widgets import config_diff

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


def _open_fix(config: TrainConfig, fix: dict) -> None:
    widgets.load_config(apply_fix(config, fix))
    state.go("pages/train.py")


def diagnose_tab(run_id: str, config: TrainConfig, history: list[dict], status: str) -> None:
    heading("Diagnosis", "diagnose")
    rows = [h for h in history if h.get("epoch", 0) >= 1]
    if not rows:
        st.info("This run has no finished epoch to diagnose yet.", icon=":material/hourglass_empty:")
        return
    hints = diagnose(config, rows, status=status)
    if not hints:
        st.success("Nothing looks wrong: the loss fell, gradients reached every layer and train and held-out "
                   "accuracy stay close.", icon=":material/check_circle:")
        return
    for i, hint in enumerate(hints):
        with st.container(border=True):
            st.markdown(f"**{hint.title}**")
            st.write(hint.explanation)
            if hint.fix:
                try:
                    changes = ", ".join(config_diff(apply_fix(config, hint.fix), config))
                except MnistlabError as error:
                    st.caption(f"The suggested fix does not apply here: {error}")
                    continue
                st.button(f"Try it: {changes}", key=f"fix_{i}", icon=":material/build:", on_click=_open_fix,
                          args=(config, hint.fix), help="Opens Train with this change applied, as a new run.")
