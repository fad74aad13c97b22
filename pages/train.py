"""Train: a preset, every setting, Start training, and a live view of the job that survives reruns.

The settings are mirrored in the URL (`ui.links`): a reload keeps them and a copied link shares them.
"""

import streamlit as st

from mnistlab.errors import ConfigError
from mnistlab.presets import PRESETS
from ui import cache, links, live, state, widgets


def settings(dataset: str) -> str:
    """Draw the preset picker and every control; return the chosen preset name."""
    preset = widgets.preset_picker()
    if preset in PRESETS:
        p = PRESETS[preset]
        figure = (f" Published test accuracy: **{p.published:.1%}**." if p.published is not None else
                  f" Target: **≥ {p.target:.1%}** test accuracy." if p.target is not None else "")
        st.caption(f"{p.lesson}{figure}  \nSource: {p.source}.")
    model, optimisation, data = st.columns(3, gap="large")
    with model:
        st.markdown("##### :material/hub: Model")
        widgets.model_controls()
    with optimisation:
        st.markdown("##### :material/speed: Optimisation")
        widgets.optimisation_controls()
    with data:
        st.markdown(f"##### :material/dataset: Data ({state.dataset_label(dataset)})")
        widgets.data_controls()
    with st.expander("Augmentation", icon=":material/transform:"):
        widgets.augment_controls()
    with st.expander("Advanced settings", icon=":material/settings:"):
        widgets.advanced_controls()
    return preset


def summary(config, preset: str) -> None:
    spec = config.model
    line = (f"**{spec.describe()}** · {spec.parameter_count():,} parameters · {config.epochs} epochs of batch "
            f"{config.batch_size} · {widgets.label(config.optimizer)} at lr {config.lr:g}")
    if config.augment.active:
        line += " · augmented"
    st.markdown(line)
    if preset in PRESETS:
        changes = widgets.config_diff(config, PRESETS[preset].config)
        if changes:
            st.caption("Changed from the preset: " + ", ".join(changes[:8]) + (" …" if len(changes) > 8 else ""))
    with st.expander("Config as JSON (what `python -m mnistlab train --config` reads)", icon=":material/data_object:"):
        st.code(config.to_json(indent=2), language="json")


def main() -> None:
    links.restore()  # a fresh session (reload, shared link) takes its settings from the URL
    widgets.ensure_loaded()  # a preset sent from Home also sets the dataset switch, so load it first
    state.page("Train", "Set up an MLP, start it and watch it learn. Training goes on if you move a slider, "
                        "switch pages or close the tab.")
    link_notice = st.container()  # filled once the controls have shown what a link asked for
    dataset = state.dataset()
    ready = cache.present(dataset)
    if not ready:
        st.warning(f"{state.dataset_label(dataset)} is not downloaded yet: fetch it on Home first. You can still "
                   "set everything up here.", icon=":material/cloud_download:")
        st.page_link("pages/home.py", label="Fetch it on Home", icon=":material/arrow_forward:")
    preset = settings(dataset)
    try:
        config = widgets.build_config(widgets.current_values(), dataset)
    except ConfigError as error:
        config = None
        st.error(str(error), icon=":material/error:")
    with link_notice:
        links.notice(config)
    if config is not None:
        summary(config, preset)
    start, share = st.columns([3, 1], vertical_alignment="center")
    start.button("Start training", key="start", type="primary", icon=":material/play_arrow:",
                 disabled=config is None or not ready, on_click=live.start,
                 args=(config, preset if preset in PRESETS else None),
                 help="Queue this configuration. It trains on the server, even if you close the tab; the run is kept.")
    if config is not None:
        params = links.write(config, preset)
        with share.popover("Copy link", icon=":material/link:", width="stretch",
                           help="A link to these settings, for a classmate or for later."):
            links.share(params)
    if "train_error" in st.session_state:  # set by the Start callback; shown once
        st.error(st.session_state.pop("train_error"), icon=":material/error:")

    st.subheader("Live", anchor="live")
    state.scroll_here("live")  # arriving from a "Train now" button: its job is drawn here
    job_id = state.watched_job()
    if job_id:
        live.live_view(job_id)
    else:
        st.info("Nothing is training in this session yet. Pick a preset, adjust it and press **Start training**; "
                "jobs wait in line, one per device at a time.", icon=":material/play_circle:")
    live.jobs_panel()


state.guard(main)
