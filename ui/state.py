"""Session state of the dashboard: paths, the dataset switch, who I am, which job and run I watch.

Widget values normally vanish when the user leaves the page that drew them. Settings that must
survive page switches live under plain (non-widget) keys: `remembered()` seeds a widget's key from
that store before it is drawn and `remember` (its on_change) copies the new value back.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from mnistlab.data.datasets import DATASETS, DatasetInfo, dataset_info, dataset_names, resolve_data_dir
from mnistlab.data.manifest import MANIFEST, NAME_PATTERN
from mnistlab.errors import MnistlabError
from mnistlab.runs.store import resolve_runs_dir

log = logging.getLogger("mnistlab.ui")

DATASET_LABELS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # the built-ins; an import shows its name
STORE = "_kept"  # session_state[STORE]: widget key → value that outlives the page


def data_dir() -> Path:
    """Where datasets live: $MNISTLAB_DATA_DIR or ./data (the CLI's rule)."""
    return resolve_data_dir()


def runs_dir() -> Path:
    """Where runs are stored: $MNISTLAB_RUNS_DIR or ./runs (the CLI's rule)."""
    return resolve_runs_dir()


# -- values that survive page switches ---------------------------------------------------------

def kept() -> dict:
    return st.session_state.setdefault(STORE, {})


def remembered(key: str, default: Any) -> str:
    """Seed widget `key` from the kept store (or `default`); pass `on_change=remember, args=(key,)`."""
    store = kept()
    store.setdefault(key, default)
    st.session_state[key] = store[key]
    return key


def remember(key: str) -> None:
    """on_change callback: keep the widget's new value for the next page that draws it."""
    kept()[key] = st.session_state[key]


def keep(**values: Any) -> None:
    """Set kept values (e.g. from a preset) that widgets pick up the next time they are drawn."""
    kept().update(values)


# -- the dataset switch ----------------------------------------------------------------------------

def dataset_label(name: str) -> str:
    """'MNIST', 'Fashion-MNIST', or an imported dataset's own name."""
    return DATASET_LABELS.get(name, name)


def datasets() -> list[str]:
    """The built-ins, then the datasets imported into the data directory."""
    return dataset_names(data_dir())


def dataset() -> str:
    """The dataset chosen in the sidebar, kept across pages (MNIST when the chosen one was removed)."""
    name = kept().get("dataset", "mnist")
    if name in DATASETS:
        return name
    # Read on every page many times per rerun: one file check, not a listing of the data directory.
    return name if isinstance(name, str) and NAME_PATTERN.fullmatch(name) and (data_dir() / name / MANIFEST).is_file() \
        else "mnist"


def set_dataset(name: str) -> None:
    assert isinstance(name, str) and name, name
    keep(dataset=name)


def info(name: str | None = None) -> DatasetInfo:
    """The chosen (or named) dataset's classes and sizes; the digits' for one that cannot be read."""
    try:
        return dataset_info(name or dataset(), data_dir())
    except MnistlabError:
        return DATASETS["mnist"]


def classes() -> tuple[str, ...]:
    return info().classes


def sidebar() -> None:
    """The dataset switch and where things live; every page draws it first."""
    with st.sidebar:
        keep(dataset=dataset())  # one that was removed falls back to MNIST before the switch is drawn
        remembered("dataset", "mnist")
        st.segmented_control("Dataset", datasets(), format_func=dataset_label, key="dataset",
                             required=True, on_change=remember, args=("dataset",), width="stretch",
                             help="Used by every page: the data you explore, train on and compare. Import your own on the Data "
                                  "page.")
        st.caption(f"Data: `{data_dir()}`  \nRuns: `{runs_dir()}`")


# -- who I am, what I watch ------------------------------------------------------------------------

OWNER_PARAM = "me"  # ?me=<owner id>: who this browser is, kept across reloads (ui.live.owner_id writes it)
OWNER_ID = re.compile(r"^web-[0-9a-f]{6,32}$")  # the ids made here; anything else in the URL is ignored


def owner() -> str:
    """A short id for this browser (jobs and runs are tagged with it): the URL's `?me=`, so a reload is the
    same person, else a new one."""
    if "owner" not in st.session_state:
        linked = st.query_params.get(OWNER_PARAM)
        st.session_state["owner"] = linked if linked and OWNER_ID.fullmatch(linked) else f"web-{secrets.token_hex(3)}"
    return st.session_state["owner"]


def watched_job() -> str | None:
    """The job this session follows: its own latest, else the one in the URL (?job=..., after a reload)."""
    job_id = st.session_state.get("job_id")
    if not job_id and st.query_params.get("job"):
        job_id = st.session_state["job_id"] = st.query_params["job"]  # watched; owned only if ?me= says so
    return job_id


def my_jobs() -> set[str]:
    """Ids of the jobs this browser session started (or found again in its URL)."""
    return st.session_state.setdefault("my_jobs", set())


def watch_job(job_id: str | None) -> None:
    """Follow `job_id` here and in the URL, so a browser reload finds it again."""
    st.session_state["job_id"] = job_id
    if job_id:
        st.query_params["job"] = job_id
    elif "job" in st.query_params:
        del st.query_params["job"]


def show_run(run_id: str) -> None:
    """Make `run_id` the run the Results page opens on."""
    keep(run=run_id)


# -- the error boundary -------------------------------------------------------------------------------

def guard(body: Callable[[], None]) -> None:
    """Run a page body; user errors become `st.error(message)`, anything else a plain message."""
    try:
        body()
    except ScriptControlException:  # st.rerun / st.stop / st.switch_page: not errors
        raise
    except MnistlabError as error:
        st.error(str(error), icon=":material/error:")
    except Exception as error:  # noqa: BLE001 - no traceback ever reaches the page
        log.error("page failed:\n%s", traceback.format_exc())
        st.error(f"Something went wrong: {type(error).__name__}: {error}. The details are in the server log.",
                 icon=":material/error:")


def leave_legacy_pages_mode() -> None:
    """Make sure the app runs through app.py's `st.navigation`, even on a server's first request.

    Streamlit treats an app with a pages/ folder as a legacy multipage app until `st.navigation`
    has run once in the process, so the first request after a start for, say, /results would run
    pages/results.py alone, with the legacy file-name sidebar. Switch that mode off and rerun.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def go(page_path: str, anchor: str | None = None) -> None:
    """Ask (from an on_click callback) to switch to `page_path` once the script runs, scrolled to `anchor`."""
    st.session_state["goto"] = (page_path, anchor)


def page(title: str, caption: str) -> None:
    """Switch page if a callback asked to, then the sidebar and the page's title and purpose."""
    leave_legacy_pages_mode()
    target = st.session_state.pop("goto", None)
    if target:
        path, anchor = target
        st.session_state["scroll_to"] = anchor
        # An empty mapping, not None: with None Streamlit clears the URL through `query_params.clear()`, which
        # refuses while a widget of the page we leave is bound to it (Inspect's `tab`), after the callback has
        # already acted. The target page writes its own parameters (Train: its settings and ?job=).
        st.switch_page(path, query_params={})
    sidebar()
    st.title(title)
    st.caption(caption)


SCROLL_JS = """<script>
(() => {  // st.html is not iframed: the heading is in this document once the page has drawn it
  const id = %s, until = Date.now() + 3000;  // elements above it still grow for a moment: hold it in place
  let stop = false;
  for (const ev of ["wheel", "touchstart", "keydown", "mousedown"])  // the user scrolls or clicks: let go
    addEventListener(ev, () => { stop = true; }, {once: true});
  const hold = () => {
    const target = document.getElementById(id);
    if (target) {
      target.style.scrollMarginTop = "4.5rem";  // clear of the app's top bar
      if (Math.abs(target.getBoundingClientRect().top - 72) > 8) target.scrollIntoView({block: "start"});
    }
    if (!stop && Date.now() < until) setTimeout(hold, 100);
  };
  hold();
})();
</script>"""


def scroll_here(anchor: str) -> None:
    """Scroll the browser to the heading `anchor` if the click that opened this page asked for it (once)."""
    if st.session_state.get("scroll_to") == anchor:
        st.session_state["scroll_to"] = None
        st.html(SCROLL_JS % json.dumps(anchor), unsafe_allow_javascript=True, width="content")
