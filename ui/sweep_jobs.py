"""Sweeps through the server's job queue: a sweep's worker (or the best's retraining) is one job in its device's
line, so a sweep never starves the other sessions, and Stop stops it within one training step."""

from __future__ import annotations

import logging
import traceback

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.jobs import JobSnapshot
from mnistlab.sweeps import create_sweep, retrain_best, run_worker
from ui import cache, live, state
from ui.sweep_define import SweepPlan

log = logging.getLogger("mnistlab.ui")
ERROR = "sweep_error"  # session_state: why the last start failed


def _worker(name: str, trials: int, parallel: int, owner: str):
    """The job's work: this server's worker on sweep `name` (the default storage, this server's folders)."""
    runs_dir, data_dir = state.runs_dir(), state.data_dir()

    def work(cancel, on_event, report) -> dict:
        done = []

        def on_trial(outcome) -> None:
            done.append(outcome)
            report(units_done=len(done), message=f"trial {outcome.number} {outcome.state}")

        result = run_worker(name, trials=trials, runs_dir=runs_dir, data_dir=data_dir, cancel=cancel,
                            parallel=parallel, owner=owner, on_trial=on_trial, subscribers=[on_event])
        status = "stopped" if result.reason == "cancel" else "finished"
        return dict(status=status, message=f"{len(result.trials)} trial(s) run ({result.reason})")

    return work


def start(plan: SweepPlan) -> None:
    """on_click of Start sweep: create it, then queue this server's worker for its trials."""
    st.session_state.pop(ERROR, None)
    try:
        create_sweep(plan.name, plan.base, plan.params, preset=plan.preset, seeds=plan.seeds, sampler=plan.sampler,
                     pruner=plan.pruner, runs_dir=state.runs_dir())
        job_id = cache.job_queue().submit(plan.base, preset=plan.preset, owner=live.owner_id(),
                                          data_dir=state.data_dir(), runs_dir=state.runs_dir(),
                                          work=_worker(plan.name, plan.trials, plan.parallel, live.owner_id()),
                                          kind="sweep", label=plan.name, units_total=plan.trials)
    except MnistlabError as error:
        st.session_state[ERROR] = str(error)
        return
    except Exception as error:  # noqa: BLE001 - a callback's traceback would reach the page
        log.error("could not start the sweep:\n%s", traceback.format_exc())
        st.session_state[ERROR] = f"Could not start the sweep: {type(error).__name__}: {error}."
        return
    state.my_jobs().add(job_id)
    st.session_state["sweep_pick"] = plan.name


def retrain(name: str, base) -> None:
    """on_click of Retrain the best: one job that trains the best point on the whole training set."""
    runs_dir, data_dir, owner = state.runs_dir(), state.data_dir(), live.owner_id()

    def work(cancel, on_event, report) -> dict:
        done = retrain_best(name, runs_dir=runs_dir, data_dir=data_dir, cancel=cancel, owner=owner,
                            subscribers=[on_event])
        accuracy = done.to_dict().get("test_accuracy")
        shown = f"{accuracy:.2%}" if isinstance(accuracy, float) else "—"
        return dict(status="finished", message=f"retrained: test accuracy {shown}",
                    run_id=done.to_dict().get("run_id"), test_accuracy=accuracy)

    job_id = cache.job_queue().submit(base, owner=owner, data_dir=data_dir, runs_dir=runs_dir, work=work,
                                      kind="sweep", label=f"{name} (retrain)", units_total=1)
    state.my_jobs().add(job_id)


def jobs(name: str) -> list[JobSnapshot]:
    """This server's jobs for sweep `name`, newest first."""
    return [s for s in reversed(cache.job_queue().jobs()) if s.kind == "sweep" and s.label.split(" (")[0] == name]
