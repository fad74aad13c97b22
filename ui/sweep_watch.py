"""The Sweep page's watch view: a sweep's trials, charts and answer, redrawn while its worker runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.sweeps import summarize
from mnistlab.sweeps.explain import explain
from mnistlab.sweeps.summary import SweepSummary
from mnistlab.train.config import TrainConfig
from ui import live, state, sweep_charts, sweep_jobs, widgets

PLOT = {"displayModeBar": False}
LIVE_S = 2.0  # seconds between redraws while this server runs the sweep


def trials_table(summary: SweepSummary) -> pd.DataFrame:
    rows = []
    for t in summary.trials:
        rows.append({"Trial": t.number, "State": t.state, **{k: v for k, v in t.params.items()},
                     "Val accuracy": t.value, "± seeds": t.value_std, "Seconds": t.duration_s,
                     "Run": f"results?run={t.run_id}" if t.run_id else None, "Host": t.host})
    return pd.DataFrame(rows)


def _job_status(name: str) -> bool:
    """This server's job for the sweep, if any: its progress and Stop. True while it is active."""
    jobs = sweep_jobs.jobs(name)
    if not jobs:
        return False
    snap = jobs[0]
    if snap.active:
        left, right = st.columns([4, 1], vertical_alignment="center")
        done = f"{snap.units_done} of {snap.units_total} trials" if snap.units_total else ""
        left.progress(min(1.0, snap.units_done / snap.units_total) if snap.units_total else 0.0,
                      text=f"{snap.label}: {snap.status} · {done} · {snap.message or 'training'}")
        right.button("Stop", key="sweep_stop", icon=":material/stop:", on_click=live.stop, args=(snap.job_id,),
                     disabled=not live.may_stop(snap), width="stretch")
    else:
        st.caption(f"This server's last job for it: {snap.status} ({snap.message}).")
    return snap.active


def _charts(summary: SweepSummary) -> None:
    trials = [t.to_dict() for t in summary.trials]
    if not any(t["state"] == "complete" for t in trials):
        st.info("The charts appear as soon as the first trial finishes.", icon=":material/hourglass_top:")
        return
    names = [p["name"] for p in summary.definition.get("space", [])]
    left, right = st.columns(2)
    left.plotly_chart(sweep_charts.history(trials), key="sweep_history", config=PLOT)
    if summary.importances:
        right.plotly_chart(sweep_charts.importances(summary.importances), key="sweep_importances", config=PLOT)
    else:
        right.info(f"Importances: {summary.importances_note}.", icon=":material/hourglass_top:")
    if len(names) >= 2:
        a, b = st.columns(2)
        x = a.selectbox("Heatmap across", names, index=0, key="sweep_x")
        y = b.selectbox("and down", [n for n in names if n != x], index=0, key="sweep_y")
        st.plotly_chart(sweep_charts.heatmap(trials, x, y), key="sweep_heatmap", config=PLOT)
    for column, name in zip(st.columns(min(3, len(names)) or 1), names[:3], strict=False):
        column.plotly_chart(sweep_charts.one_parameter(trials, name), key=f"sweep_by_{name}", config=PLOT)
    if len(names) >= 2:
        st.plotly_chart(sweep_charts.parallel(trials, names), key="sweep_parallel", config=PLOT)


def _open_on_train(config: TrainConfig) -> None:
    """on_click: the best point in Train's controls, as a custom setting, and Train opened."""
    widgets.load_config(config)
    state.go("pages/train.py")


def _best(summary: SweepSummary) -> None:
    best = summary.best
    if best is None:
        return
    config = TrainConfig.from_dict(best.config) if best.config else None
    a, b = st.columns(2)
    if config is not None:
        a.button("Open the best on Train", key="sweep_open_best", icon=":material/open_in_new:", width="stretch",
                 on_click=_open_on_train, args=(config,))
        b.button("Retrain the best on all training images", key="sweep_retrain", icon=":material/replay:",
                 width="stretch", on_click=sweep_jobs.retrain, args=(summary.name, config),
                 help="Trains the best point once more without the validation split and reports its test "
                      "accuracy: the one number of a sweep to report.")
    if summary.retrained:
        r = summary.retrained
        st.success(f"Retrained the best (trial {r['trial']}) on all training images: test accuracy "
                   f"{r['test_accuracy']:.2%} (run {r['run_id']} on {r['host']}).", icon=":material/verified:")


def watch(name: str) -> None:
    """Everything about sweep `name`, live while this server's worker runs it."""

    @st.fragment(run_every=LIVE_S if any(s.active for s in sweep_jobs.jobs(name)) else None)
    def body() -> None:
        state.guard(lambda: _body(name))  # a fragment's rerun is not inside the page's guard

    body()


def _body(name: str) -> None:
    """The status, the answer in words, the best point, the charts and the trial table."""
    active = _job_status(name)
    try:
        summary = summarize(name, runs_dir=state.runs_dir())
    except MnistlabError as error:
        st.error(str(error), icon=":material/error:")
        return
    counts = summary.counts
    cols = st.columns(4)
    cols[0].metric("Trials", len(summary.trials))
    cols[1].metric("Finished", counts.get("complete", 0))
    cols[2].metric("Pruned / failed", f"{counts.get('pruned', 0)} / {counts.get('fail', 0)}")
    cols[3].metric("Best val accuracy", f"{summary.best.value:.2%}" if summary.best else "—")
    for line in explain(summary):
        st.markdown(f"- {line}")
    _best(summary)
    if summary.trials:
        _charts(summary)
        st.dataframe(trials_table(summary), hide_index=True, key="sweep_trials",
                     column_config={"Val accuracy": st.column_config.NumberColumn(format="percent"),
                                    "± seeds": st.column_config.NumberColumn(format="percent"),
                                    "Run": st.column_config.LinkColumn(display_text="open")})
    if not active and any(t.state == "running" for t in summary.trials):
        st.caption("Trials marked running are trained by workers elsewhere (the CLI or another machine).")
