"""Compare: every run in one table, overlaid curves and per-class accuracy, and deleting runs."""

import pandas as pd
import streamlit as st

from mnistlab.errors import MnistlabError
from ui import cache, charts, live, state


def source(owner: str) -> str:
    """Where a run came from: the CLI, a dashboard session, or another program using the library."""
    return "CLI" if owner == "cli" else "dashboard" if owner.startswith("web-") else owner or "library"


def runs_table(runs) -> pd.DataFrame:
    rows = []
    for r in runs:
        try:
            config = cache.run_config(r.run_id).get("config", {})
        except MnistlabError:
            config = {}
        augment = config.get("augment", {})
        rows.append({
            "Created": r.created[5:16].replace("T", " "), "Status": r.status, "Test accuracy": r.test_accuracy,
            "Dataset": r.dataset, "Preset": r.preset or "custom", "Model": r.description,
            "Optimizer": config.get("optimizer", "?"), "LR": config.get("lr"), "Batch": config.get("batch_size"),
            "Epochs": f"{r.epochs_done}/{config.get('epochs', '?')}",
            "Augment": "yes" if any(augment.get(k) for k in ("rotation", "translate", "shear", "hflip",
                                                              "elastic_alpha")) else "no",
            "Time": live.duration(r.train_seconds), "From": source(r.owner), "Run": r.run_id,
        })
    return pd.DataFrame(rows)


def _ask_delete() -> None:
    st.session_state["confirm_delete"] = list(st.session_state.get("delete_runs") or [])


def _delete(run_ids: list[str]) -> None:
    failed = []
    for run_id in run_ids:
        try:
            cache.store().delete(run_id)
        except MnistlabError as error:
            failed.append(str(error))
    st.session_state.pop("confirm_delete", None)
    st.session_state["delete_runs"] = []
    st.session_state["delete_result"] = (len(run_ids) - len(failed), failed)


def delete_panel(runs) -> None:
    with st.expander("Delete runs", icon=":material/delete:"):
        ids = [r.run_id for r in runs]
        st.session_state["delete_runs"] = [i for i in st.session_state.get("delete_runs") or [] if i in ids]
        chosen = st.multiselect("Runs to delete", ids, key="delete_runs", placeholder="Choose runs")
        st.button("Delete selected runs…", key="delete", on_click=_ask_delete, disabled=not chosen,
                  icon=":material/delete:")
        pending = [i for i in st.session_state.get("confirm_delete") or [] if i in ids]
        if pending:
            st.warning(f"Delete {len(pending)} run(s) and their weights for good? This cannot be undone.",
                       icon=":material/warning:")
            yes, no = st.columns(2)
            yes.button(f"Yes, delete {len(pending)}", key="delete_confirm", type="primary", on_click=_delete,
                       args=(pending,), width="stretch")
            no.button("Cancel", key="delete_cancel", width="stretch",
                      on_click=lambda: st.session_state.pop("confirm_delete", None))
    result = st.session_state.pop("delete_result", None)
    if result:
        deleted, failed = result
        if deleted:
            st.toast(f"Deleted {deleted} run(s).", icon=":material/delete:")
        for message in failed:
            st.error(message, icon=":material/error:")


def main() -> None:
    state.page("Compare", "All runs, from the dashboard and the CLI: pick a few and lay their curves over each other.")
    runs, unreadable = cache.store().scan()
    for broken in unreadable:  # a damaged folder is named with its fix, never hidden
        st.warning(broken.reason, icon=":material/broken_image:")
    if not runs:
        st.info("No runs yet. Train on the Train page or with `python -m mnistlab train` and compare them here.",
                icon=":material/history:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
        return
    st.dataframe(runs_table(runs), hide_index=True, key="runs_table", column_config={
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "LR": st.column_config.NumberColumn(format="%g")})
    ids = [r.run_id for r in runs]
    by_id = {r.run_id: r for r in runs}
    default = [r.run_id for r in runs if r.epochs_done][:3]
    kept = [i for i in state.kept().get("compare_runs", default) if i in ids]
    state.keep(compare_runs=kept)
    state.remembered("compare_runs", kept)
    chosen = st.multiselect("Runs to compare", ids, key="compare_runs", on_change=state.remember,
                            args=("compare_runs",), format_func=lambda i: f"{by_id[i].preset or 'custom'} · {i}",
                            placeholder="Choose runs", max_selections=8)
    if not chosen:
        st.info("Choose one or more runs above to compare them.", icon=":material/checklist:")
    else:
        labels = {i: f"{by_id[i].preset or 'custom'} · {i[-6:]}" for i in chosen}
        histories = {labels[i]: cache.history(i) for i in chosen}
        left, right = st.columns(2)
        left.plotly_chart(charts.compare_curves(histories, "test_accuracy", "Test accuracy", percent=True),
                          key="compare_accuracy", config={"displayModeBar": False})
        right.plotly_chart(charts.compare_curves(histories, "train_loss", "Training loss"), key="compare_loss",
                           config={"displayModeBar": False})
        if any("val_accuracy" in h and h["val_accuracy"].notna().any() for h in histories.values()):
            st.plotly_chart(charts.compare_curves(histories, "val_accuracy", "Validation accuracy", percent=True),
                            key="compare_val", config={"displayModeBar": False})
        evaluations = {labels[i]: cache.evaluation(i) for i in chosen}
        per_class = {k: ev.per_class_accuracy for k, ev in evaluations.items() if ev is not None}
        datasets = {by_id[i].dataset for i in chosen}
        if per_class and len(datasets) == 1:
            classes = next(ev.classes for ev in evaluations.values() if ev is not None)
            st.plotly_chart(charts.compare_per_class(per_class, classes), key="compare_per_class",
                            config={"displayModeBar": False})
        elif len(datasets) > 1:
            st.caption("Per-class accuracy is compared within one dataset only; these runs use "
                       + " and ".join(sorted(datasets)) + ".")
    delete_panel(runs)


state.guard(main)
