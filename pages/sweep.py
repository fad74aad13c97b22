"""Sweep: vary learning rate, width, depth… over many runs and watch the answer appear, live.

The sweep is an Optuna study in the runs directory's SQLite file; its trials are normal runs (Results,
Inspect and Compare open them). Sweeps created with `python -m mnistlab sweep` show up here too.
"""

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.sweeps import list_sweeps
from ui import state, sweep_define, sweep_jobs, sweep_watch


def define_section() -> None:
    plan = sweep_define.define()
    if plan is not None:
        st.caption(plan.estimate(state.info().train_size) + " Trials run in this server's training line, one "
                   "job for the whole sweep, so other sessions keep their turn.")
        st.caption("Searched: " + " · ".join(f"`{p}`" for p in plan.params) + f" — the same as `python -m mnistlab "
                   f"sweep create {plan.name} " + " ".join(f"--param {p}" for p in plan.params) +
                   f" --seeds {plan.seeds}`.")
    st.button("Start sweep", key="sweep_start", type="primary", icon=":material/play_arrow:",
              disabled=plan is None, on_click=sweep_jobs.start, args=(plan,))
    if sweep_jobs.ERROR in st.session_state:
        st.error(st.session_state.pop(sweep_jobs.ERROR), icon=":material/error:")


def main() -> None:
    state.page("Sweep", "Try many settings at once: which learning rate, does width matter more than depth, how "
                        "much does the seed move the result?")
    try:
        sweeps = list_sweeps(runs_dir=state.runs_dir())
    except MnistlabError as error:
        st.error(str(error), icon=":material/error:")
        return
    with st.expander("New sweep", icon=":material/add_chart:", expanded=not sweeps):
        define_section()
    if not sweeps:
        st.info("No sweeps yet. Define one above (a learning rate × width sweep with two seeds is a good first "
                "one), or create one from a terminal with `python -m mnistlab sweep create`.",
                icon=":material/grid_view:")
        return
    names = [s.name for s in reversed(sweeps)]
    picked = st.session_state.get("sweep_pick")
    name = st.selectbox("Sweep", names, index=names.index(picked) if picked in names else 0, key="sweep_watch",
                        format_func=lambda n: next(f"{s.name} · {s.trials} trials · "
                                                   f"{'—' if s.best_value is None else f'{s.best_value:.2%}'} · "
                                                   f"{', '.join(s.params)}" for s in sweeps if s.name == n))
    sweep_watch.watch(name)


state.guard(main)
