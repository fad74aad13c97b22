"""The live training view: a fragment that polls a job snapshot once a second and draws it, and a second one
that redraws its curves every CHART_S (building plotly figures is the costly part of a frame, and the training
thread shares this process with every watching browser).

Workers never call Streamlit; this fragment only reads `JobQueue` snapshots. Start and Stop are
`on_click` callbacks, so a click acts before the page redraws.

Owners: a browser's owner id lives in the URL (`?me=web-…`, see `owner_id`), so a reload, or a
second tab opened from the same address, is the same owner; `?job=<id>` only says what to watch.
Anyone may watch any job; only its owner may stop it, and only a run's owner may delete it. The
server's operator starts it with MNISTLAB_ADMIN=1 to stop and delete anything (a teacher's server).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import traceback

import pandas as pd
import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.jobs import ACTIVE, JobSnapshot
from mnistlab.train.config import TrainConfig
from ui import cache, charts, state, widgets

log = logging.getLogger("mnistlab.ui")
POLL_S = 1.0  # refresh period of the live view's bar and numbers, seconds
CHART_S = 3.0  # refresh period of its curves, seconds
ADMIN_ENV = "MNISTLAB_ADMIN"  # "1" on the server: every session may stop any job and delete any run
STEER_KEY, STEER_JOB = "steer_lr", "steer_lr_job"  # the live learning-rate slider, and the job it shows
NOT_YOURS = "Watching another session's job: only its owner can stop it."
STATUS_ICONS = {"queued": ":material/hourglass_top:", "running": ":material/autorenew:",
                "finished": ":material/check_circle:", "stalled": ":material/trending_flat:",
                "stopped": ":material/stop_circle:", "diverged": ":material/warning:", "failed": ":material/error:",
                "cancelled": ":material/block:",
                "interrupted": ":material/link_off:"}  # for markdown; tables show the plain status word


def owner_id() -> str:
    """This browser's owner id: the URL's `?me=` (a reload keeps it), else this session's, written to the URL."""
    me = state.owner()  # reads ?me= in a fresh session
    if st.query_params.get(state.OWNER_PARAM) != me:
        st.query_params[state.OWNER_PARAM] = me
    return me


def admin() -> bool:
    """True when the server was started with MNISTLAB_ADMIN=1: its users may stop and delete anything."""
    return os.environ.get(ADMIN_ENV, "").strip().lower() in ("1", "true", "yes")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    return str(dt.timedelta(seconds=seconds)) if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def start(config: TrainConfig, preset: str | None, resume_from: str | None = None) -> None:
    """on_click of Start training (or Continue training: `resume_from`): queue the job and follow it."""
    st.session_state.pop("train_error", None)
    try:
        cache.prepared(config)  # bad subsets fail here, in the page; the job cuts its own copy when it starts
        job_id = cache.job_queue().submit(config, preset=preset, owner=owner_id(), data_dir=state.data_dir(),
                                          runs_dir=state.runs_dir(), data=cache.preparer(config),
                                          resume_from=resume_from)
    except MnistlabError as error:
        st.session_state["train_error"] = str(error)
        return
    except Exception as error:  # noqa: BLE001 - a callback's traceback would reach the page
        log.error("could not start training:\n%s", traceback.format_exc())
        st.session_state["train_error"] = f"Could not start training: {type(error).__name__}: {error}."
        return
    state.my_jobs().add(job_id)
    state.watch_job(job_id)


def stop(job_id: str) -> None:
    """on_click of Stop: a running job stops within one step and keeps what it learned (owner or admin only)."""
    try:
        cache.job_queue().stop(job_id, owner=owner_id(), admin=admin())
    except MnistlabError as error:
        st.session_state["stop_error"] = str(error)


def _steer(action: str, job_id: str) -> None:
    """on_click/on_change of the live controls: pause, resume, or the learning-rate slider's new value."""
    queue = cache.job_queue()
    try:
        if action == "pause":
            queue.pause(job_id, owner=owner_id(), admin=admin())
        elif action == "resume":
            queue.resume(job_id, owner=owner_id(), admin=admin())
        else:
            queue.set_lr(job_id, float(st.session_state[STEER_KEY]), owner=owner_id(), admin=admin())
    except MnistlabError as error:
        st.session_state["stop_error"] = str(error)


def steering(snap: JobSnapshot) -> None:
    """Learning rate, Pause / Resume for the owner's running job: they act at its next step."""
    current = snap.lr_changes[-1]["lr"] if snap.lr_changes else snap.config.lr
    key = STEER_KEY
    if st.session_state.get(STEER_JOB) != snap.job_id:  # another job than the slider last showed: its own rate
        st.session_state[STEER_JOB] = snap.job_id
        st.session_state[key] = min(widgets.LR_OPTIONS, key=lambda o: abs(o - current))
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.select_slider("Learning rate from the next step", list(widgets.LR_OPTIONS), key=key,
                       format_func=lambda v: f"{v:g}", on_change=_steer, args=("lr", snap.job_id),
                       help="Turn it down when the loss jumps around, up when it barely moves. The change is marked "
                            "on the curves and kept in the run's history; a schedule goes on from the new value.")
    if snap.paused:
        right.button("Resume", key="resume", icon=":material/play_arrow:", width="stretch", type="primary",
                     on_click=_steer, args=("resume", snap.job_id))
    else:
        right.button("Pause", key="pause", icon=":material/pause:", width="stretch",
                     on_click=_steer, args=("pause", snap.job_id),
                     help="Holds it before its next step; it keeps its place on the device until you resume.")


def job_label(snap: JobSnapshot, mine: bool, with_status: bool = True) -> str:
    """'14:02:11 · fast · mnist · finished'; without the status it never changes (for selectboxes)."""
    when = dt.datetime.fromtimestamp(snap.submitted).strftime("%H:%M:%S")
    text = f"{when} · {snap.preset or 'custom'} · {snap.config.dataset}"
    text += "" if mine else " · another session"
    return f"{text} · {snap.status}" if with_status else f"{text} · {snap.job_id}"


def is_mine(snap: JobSnapshot) -> bool:
    """The job was submitted by this browser's owner id (watching it through ?job= does not make it mine)."""
    return snap.owner == owner_id()


def may_stop(snap: JobSnapshot) -> bool:
    return is_mine(snap) or admin()


def jobs_table(snaps: list[JobSnapshot]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Job": s.job_id, "Preset": s.preset or "custom", "Dataset": s.config.dataset, "Device": s.device,
        "Status": s.status,
        "In line": ("paused" if s.paused else "running") if s.position == 0 else (f"#{s.position}" if s.position
                                                                                   else ""),
        "Progress": s.progress, "Test accuracy": s.test_accuracy, "Run": s.run_id or "",
        "Mine": is_mine(s)} for s in reversed(snaps)])


def eta_text(snap: JobSnapshot) -> str:
    """The ETA metric: 'done', '—' while waiting, 'estimating…' until the step times are sound."""
    if not snap.active:
        return "done"
    if snap.status == "queued" or not snap.steps:
        return "—"
    return duration(snap.eta_s) if snap.eta_s is not None else "estimating…"


def _metrics(snap: JobSnapshot) -> None:
    cols = st.columns(5)
    cols[0].metric("Epoch", f"{snap.epoch}/{snap.epochs}" if snap.epoch else f"0/{snap.epochs}")
    cols[1].metric("Elapsed", duration(snap.elapsed_s))
    cols[2].metric("ETA", eta_text(snap), help="From the measured time per step, after a few seconds of warm-up; "
                   "evaluation after each epoch included.")
    cols[3].metric("Samples/s", f"{snap.samples_per_s:,.0f}" if snap.samples_per_s else "—")
    cols[4].metric("Last test accuracy", f"{snap.test_accuracy:.2%}" if snap.test_accuracy is not None else "—")


def _outcome(snap: JobSnapshot) -> None:
    if snap.status == "finished":
        st.success(f"Finished: test accuracy **{snap.test_accuracy:.2%}** after {snap.epoch} epochs "
                   f"({duration(snap.elapsed_s)}).", icon=":material/check_circle:")
    elif snap.status == "stalled":
        text = snap.message or "did not learn: its accuracy stayed at chance."
        st.warning(f"{text[:1].upper()}{text[1:]}", icon=":material/trending_flat:")
    elif snap.status == "stopped":
        st.info(f"Stopped at epoch {snap.epoch} of {snap.epochs}. What it learned so far is saved as a stopped run.",
                icon=":material/stop_circle:")
    elif snap.status == "diverged":
        st.error(snap.message or "The loss became NaN: lower the learning rate.", icon=":material/warning:")
    elif snap.status == "failed":
        st.error(f"Training failed: {snap.message}", icon=":material/error:")
    elif snap.status == "cancelled":
        st.info("Cancelled before it started; no run was stored.", icon=":material/block:")
    if snap.run_id and snap.status in ("finished", "stalled", "stopped", "diverged"):
        st.page_link("pages/results.py", label="Open in Results", icon=":material/insights:",
                     query_params={"run": snap.run_id, state.OWNER_PARAM: owner_id()})


def _charts(snap: JobSnapshot) -> None:
    loss, acc = charts.curves(snap.history, snap.epochs, snap.trace, label_smoothing=snap.config.label_smoothing)
    if snap.accuracy_trace:  # running training accuracy within epochs: the chart has a line from the first second
        xs, ys = zip(*snap.accuracy_trace, strict=True)
        acc.add_scatter(x=xs, y=ys, name="train (running)", mode="lines", opacity=0.6,
                        line=dict(color=charts.SPLIT_COLORS["train"], width=1, dash="dot"))
    left, right = st.columns(2)
    left.plotly_chart(loss, key="live_loss", config={"displayModeBar": False})
    right.plotly_chart(acc, key="live_accuracy", config={"displayModeBar": False})


def draw(job_id: str) -> None:
    """One frame of the live view of `job_id`."""
    snap = cache.job_queue().get(job_id)
    if snap is None:
        st.info("That training job is no longer on this server (it was restarted). Its run, if it started, is "
                "listed on Results and Compare.", icon=":material/history:")
        return
    mine = is_mine(snap)
    head, button = st.columns([5, 1], vertical_alignment="center")
    with head:
        device = snap.device_name or snap.device.upper()
        run = f" · run `{snap.run_id}`" if snap.run_id else ""
        st.markdown(f"{STATUS_ICONS.get(snap.status, '')} **{job_label(snap, mine)}**  \n"
                    f"{snap.config.model.describe()} · {device}{run}")
        if snap.active and not may_stop(snap):
            st.caption(NOT_YOURS)
    with button:
        if snap.active and may_stop(snap):
            st.button("Stop", key="stop", on_click=stop, args=(job_id,), icon=":material/stop:", width="stretch",
                      help="Stops within a second; the run keeps what it has learned.")
    if "stop_error" in st.session_state:
        st.error(st.session_state.pop("stop_error"), icon=":material/lock:")
    if snap.status == "queued":
        st.info(f"Waiting in line: **#{snap.position}** for the {snap.device.upper()}. It starts when the job "
                "ahead of it finishes.", icon=":material/hourglass_top:")
    if snap.status == "cancelled" or (not snap.active and not snap.history and not snap.trace):
        _outcome(snap)  # nothing was trained: no numbers or curves to show
        return
    text = (f"Epoch {snap.epoch}/{snap.epochs} · step {snap.step}/{snap.steps}" if snap.steps
            else "Preparing…" if snap.active else snap.status)
    if snap.message and snap.active:
        text += f" · {snap.message}"
    st.progress(snap.progress, text=text)
    if snap.status == "queued":
        return
    if snap.status == "running" and snap.kind == "train" and may_stop(snap):
        steering(snap)
    _metrics(snap)
    _outcome(snap)


def draw_curves(job_id: str) -> None:
    """The live view's loss and accuracy curves of `job_id`, once it has any."""
    snap = cache.job_queue().get(job_id)
    if snap is not None and snap.status not in ("queued", "cancelled") and (snap.history or snap.trace):
        _charts(snap)


def live_view(job_id: str) -> None:
    """Draw `job_id`, refreshing every POLL_S (its curves every CHART_S) while it is queued or running, and the
    whole page at each change of status (queued → running → done): the page's other parts follow, and the
    refresh timers are set anew."""
    first = cache.job_queue().get(job_id)
    drawn = first.status if first else None
    active = drawn in ACTIVE

    def frame() -> None:
        state.guard(lambda: draw(job_id))
        now = cache.job_queue().get(job_id)
        if active and now is not None and now.status != drawn:
            st.rerun()  # a full run draws the new status, with (or, once done, without) the timers

    def curves() -> None:
        state.guard(lambda: draw_curves(job_id))

    st.fragment(frame, run_every=POLL_S if active else None)()
    st.fragment(curves, run_every=CHART_S if active else None)()


def _follow() -> None:
    """on_change of Watch: follow the chosen job here and in the URL."""
    job_id = st.session_state.get("watch")
    if job_id:
        state.watch_job(job_id)


def jobs_panel() -> None:
    """Every job on this server in a table, and a picker to watch any of them.

    A tab that watches nothing yet (a second tab, a classmate) follows its owner's newest active job, if any;
    otherwise the picker starts empty, so choosing any job (the newest too) starts watching it.
    """
    snaps = cache.job_queue().jobs()
    if not snaps:
        return
    ids = [s.job_id for s in reversed(snaps)]
    current = state.watched_job()
    if current not in ids:
        mine = [s.job_id for s in reversed(snaps) if s.active and is_mine(s)]
        if mine:
            state.watch_job(mine[0])
            st.rerun()  # the live view above is drawn before this panel
    with st.expander(f"Jobs on this server ({sum(s.active for s in snaps)} active, {len(snaps)} in all)",
                     icon=":material/queue:"):
        st.dataframe(jobs_table(snaps), hide_index=True, key="jobs_table", column_config={
            "Progress": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent"),
            "Test accuracy": st.column_config.NumberColumn(format="percent")})
        st.session_state["watch"] = current if current in ids else None
        labels = {s.job_id: job_label(s, is_mine(s), with_status=False) for s in snaps}
        st.selectbox("Watch", ids, key="watch", format_func=labels.get, on_change=_follow,
                     placeholder="Choose a job to watch",
                     help="Follow any job, yours or another session's; only your own can be stopped.")
