"""Compare: every run in one table, overlaid curves and per-class accuracy, and deleting runs."""

import pandas as pd
import streamlit as st

from mnistlab.data.augment_spec import Augment
from mnistlab.errors import MnistlabError
from mnistlab.runs.owners import WEB_OWNER, may_change
from ui import cache, charts, live, run_import, state
from ui.pickers import best_runs, recipe

# Column widths (px), 906 in all: the table fits a 1400 px window with the sidebar open (about 940 px of
# content) without scrolling sideways.
COLUMNS = {
    "Created": st.column_config.TextColumn(width=86),
    "Status": st.column_config.TextColumn(width=72),
    "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1, width=100),
    "Dataset": st.column_config.TextColumn(width=60),
    "Recipe": st.column_config.TextColumn(width=110, help="The preset; '(changed)' when its settings were changed."),
    "Model": st.column_config.TextColumn(width=110),
    "Training": st.column_config.TextColumn(width=136, help="Optimizer, learning rate, batch size; '+aug' when "
                                                            "the images were augmented."),
    "Epochs": st.column_config.TextColumn(width=52),
    "Time": st.column_config.TextColumn(width=52),
    "From": st.column_config.TextColumn(width=70),
    "ID": st.column_config.TextColumn(width=58, help="The end of the run's id (its folder name)."),
}
DATASET_SHORT = {"fashion-mnist": "fashion"}


def _augmented(augment) -> bool:
    """Whether a stored config's augmentation does anything (zoom included), as the trainer decides it."""
    try:
        return Augment.from_dict(augment).active if isinstance(augment, dict) else False
    except MnistlabError:
        return False


def source(owner: str, me: str | None = None) -> str:
    """Where a run came from: you, the CLI, another dashboard session, or another program using the library."""
    if me is not None and owner == me:
        return "you"
    return "CLI" if owner == "cli" else "dashboard" if owner.startswith(WEB_OWNER) else owner or "library"


def runs_table(runs, me: str | None = None) -> pd.DataFrame:
    rows = []
    for r in runs:
        try:
            config = cache.run_config(r.run_id).get("config", {})
        except MnistlabError:
            config = {}
        augment = config.get("augment", {})
        lr = config.get("lr")
        training = f"{config.get('optimizer', '?')} · lr {lr:g} · b{config.get('batch_size', '?')}" if lr else "?"
        rows.append({
            "Created": r.created[5:16].replace("T", " "), "Status": r.status, "Test accuracy": r.test_accuracy,
            "Dataset": DATASET_SHORT.get(r.dataset, r.dataset), "Recipe": recipe(r), "Model": r.description,
            "Training": training + (" +aug" if _augmented(augment) else ""),
            "Epochs": f"{r.epochs_done}/{config.get('epochs', '?')}", "Time": live.duration(r.train_seconds),
            "From": source(r.owner, me), "ID": r.run_id[-6:],
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def run_choice(info) -> str:
    """'fast · finished · 98.12% · a1b2c3': the words of the table's row, for the pickers."""
    acc = f" · {info.test_accuracy:.2%}" if info.test_accuracy is not None else ""
    return f"{recipe(info)} · {info.status}{acc} · {info.run_id[-6:]}"


def deletable(info, me: str) -> bool:
    """Runs this session may delete: its own, the CLI's and the library's; every run for the server's operator."""
    return may_change(info.owner, me, live.admin())


def _ask_delete() -> None:
    st.session_state["confirm_delete"] = list(st.session_state.get("delete_runs") or [])


def _delete(run_ids: list[str]) -> None:
    failed = []
    for run_id in run_ids:
        try:
            cache.store().delete(run_id, owner=live.owner_id(), admin=live.admin())
        except MnistlabError as error:
            failed.append(str(error))
    st.session_state.pop("confirm_delete", None)
    st.session_state["delete_runs"] = []
    st.session_state["delete_result"] = (len(run_ids) - len(failed), failed)


def delete_panel(runs, me: str) -> None:
    with st.expander("Delete runs", icon=":material/delete:"):
        mine = [r for r in runs if deletable(r, me)]
        ids = [r.run_id for r in mine]
        by_id = {r.run_id: r for r in mine}
        if len(mine) < len(runs):
            st.caption(f"{len(runs) - len(mine)} run(s) of other dashboard sessions are not listed: only their owner "
                       "(or the server's operator) can delete them.")
        st.session_state["delete_runs"] = [i for i in st.session_state.get("delete_runs") or [] if i in ids]
        chosen = st.multiselect("Runs to delete", ids, key="delete_runs", placeholder="Choose runs",
                                format_func=lambda i: f"{run_choice(by_id[i])} · {by_id[i].created[5:16]}")
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


def curves(chosen: list[str], by_id: dict) -> None:
    parents = {i: cache.store().open(i).parent for i in chosen}
    labels = {i: f"{recipe(by_id[i])} · {i[-6:]}" + (f" (continues {parents[i][-6:]})" if parents[i] else "")
              for i in chosen}
    # A continued run's history starts with its parent's rows: with both chosen, the child's curve is the whole line.
    histories = {labels[i]: cache.history(i) for i in chosen if i not in parents.values()}
    left, right = st.columns(2)
    left.plotly_chart(charts.compare_curves(histories, "test_accuracy", "Test accuracy", percent=True),
                      key="compare_accuracy", config={"displayModeBar": False})
    # Test loss, not training loss: the training loss includes label smoothing (on in `fast`) and dropout,
    # so it differs between recipes for reasons other than how well the nets predict.
    right.plotly_chart(charts.compare_curves(histories, "test_loss", "Test loss"), key="compare_loss",
                       config={"displayModeBar": False})
    right.caption("Test loss is measured the same way for every run. Training loss is not comparable across runs: "
                  "with label smoothing (on in `fast`) or dropout it sits well above the test loss.")
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


def main() -> None:
    state.page("Compare", "All runs, from the dashboard and the CLI: pick a few and lay their curves over each other.")
    me = live.owner_id()
    runs, unreadable = cache.store().scan()
    for broken in unreadable:  # a damaged folder is named with its fix, never hidden
        st.warning(broken.reason, icon=":material/broken_image:")
    if not runs:
        st.info("No runs yet. Train on the Train page or with `python -m mnistlab train` and compare them here.",
                icon=":material/history:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
        run_import.section(me)
        return
    st.dataframe(runs_table(runs, me), hide_index=True, key="runs_table", column_config=COLUMNS)
    ids = [r.run_id for r in runs]
    by_id = {r.run_id: r for r in runs}
    default = [r.run_id for r in best_runs(runs, 3, state.dataset())]  # the best finished runs, never failures
    linked = [i for i in (st.query_params.get("runs") or "").split(",") if i]
    if linked and "compare_runs" not in state.kept():  # a link (or a reload) names the runs to compare
        unknown = [i for i in linked if i not in ids]
        if unknown:
            st.caption(f":material/link_off: Ignored from the link: {len(unknown)} run(s) not in this store "
                       f"({', '.join(u[:40] for u in unknown[:3])}).")
        default = [i for i in linked if i in ids][:8] or default
    kept = [i for i in state.kept().get("compare_runs", default) if i in ids]
    state.keep(compare_runs=kept)
    state.remembered("compare_runs", kept)
    chosen = st.multiselect("Runs to compare", ids, key="compare_runs", on_change=state.remember,
                            args=("compare_runs",), format_func=lambda i: run_choice(by_id[i]),
                            placeholder="Choose runs", max_selections=8,
                            help="Opens on the most accurate recent finished runs.")
    if chosen:
        st.query_params["runs"] = ",".join(chosen)  # the selection is a link
    elif "runs" in st.query_params:
        del st.query_params["runs"]
    if not chosen:
        st.info("Choose one or more runs above to compare them.", icon=":material/checklist:")
    else:
        curves(chosen, by_id)
    delete_panel(runs, me)
    run_import.section(me)


state.guard(main)
