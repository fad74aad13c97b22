"""The Sweep page's definition: a base, the settings to vary with Train's own kinds of controls, seeds and budget.

Every range becomes a `FIELD=SPEC` text (`mnistlab.sweeps.spec`), exactly what `sweep create --param` takes,
so the page and the CLI create the same sweeps and the core checks both alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from mnistlab.errors import MnistlabError
from mnistlab.presets import PRESETS
from mnistlab.settings import log_stops
from mnistlab.sweeps.spec import sweepable
from mnistlab.train.config import AUGMENT_NAMES, TrainConfig
from ui import state, widgets
from ui.labels import label

CURRENT = "current Train settings"
WIDTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)
OFFERED = ("lr", "width", "layers", "batch_size", "dropout", "weight_decay", "optimizer", "activation", "norm",
           "label_smoothing", "epochs", "augment")  # what a learner varies first; the CLI takes every sweepable field
TITLES = {"lr": "Learning rate", "width": "Width (units per hidden layer)", "layers": "Hidden layers",
          "augment": "Augmentation recipe"}


@dataclass(frozen=True)
class SweepPlan:
    """What the Define form asks for: enough to create the sweep and queue its worker."""

    name: str
    base: TrainConfig
    preset: str | None
    params: list[str] = field(default_factory=list)  # FIELD=SPEC
    seeds: int = 1
    trials: int = 16
    sampler: str = "tpe"
    pruner: str = "median"
    parallel: int = 1

    @property
    def runs(self) -> int:
        return self.trials * self.seeds

    def estimate(self, train_images: int) -> str:
        """The training it asks for, in plain numbers (the most it can be: pruning only saves)."""
        images = self.runs * self.base.epochs * int(train_images * (1 - self.base.val_split))
        return (f"{self.trials} trials × {self.seeds} seed(s) × {self.base.epochs} epoch(s) = "
                f"{self.runs * self.base.epochs:,} epochs of training, {images / 1e6:,.1f} M images at most.")


def _title(name: str) -> str:
    leaf = sweepable().get(name)
    return TITLES.get(name) or (leaf.setting.label.split(" (")[0] if leaf else name)


def _range(name: str) -> str | None:
    """The control for one varied setting; its SPEC text, None while it is empty."""
    key = f"sweep_range_{name}"
    if name == "width":
        chosen = st.multiselect(_title(name), WIDTHS, default=[64, 256], key=key)
        return f"width=choice:{','.join(map(str, chosen))}" if chosen else None
    if name == "layers":
        low, high = st.slider(_title(name), 1, 6, (1, 3), key=key)
        return f"layers=int:{low}:{high}"
    if name == "augment":
        chosen = st.multiselect(_title(name), list(AUGMENT_NAMES), default=["none", "affine"], key=key,
                                format_func=label)
        return f"augment=choice:{','.join(chosen)}" if chosen else None
    s = sweepable()[name].setting
    if s.kind == "choice":
        chosen = st.multiselect(_title(name), list(s.choices), default=list(s.choices[:2]), key=key,
                                format_func=label, help=s.help)
        return f"{name}=choice:{','.join(chosen)}" if chosen else None
    if name == "batch_size":
        chosen = st.multiselect(_title(name), list(widgets.BATCH_OPTIONS), default=[32, 128], key=key, help=s.help)
        return f"batch_size=choice:{','.join(map(str, chosen))}" if chosen else None
    low, high = s.control_range
    if s.scale == "log" or name == "weight_decay":
        stops = widgets.LR_OPTIONS if name == "lr" else (0.0, *log_stops(1e-6, float(high or 1)))
        default = (1e-3, 0.3) if name == "lr" else (0.0, 1e-3)
        a, b = st.select_slider(_title(name), list(stops), value=default, key=key, format_func=lambda v: f"{v:g}",
                                help=s.help)
        return f"{name}={'log' if a > 0 else 'float'}:{a:g}:{b:g}"
    if s.kind == "int":
        a, b = st.slider(_title(name), int(low), int(min(high, 50)), (int(low), int(min(high, 50)) // 5 or 2),
                         key=key, help=s.help)
        return f"{name}=int:{a}:{b}"
    a, b = st.slider(_title(name), float(low), float(high), (float(low), float(high) / 2), step=s.step or 0.01,
                     key=key, help=s.help)
    return f"{name}=float:{a:g}:{b:g}"


def _base() -> tuple[TrainConfig | None, str | None]:
    choice = st.selectbox("Start from", [CURRENT, *PRESETS], key="sweep_base", format_func=lambda n: n if n == CURRENT
                          else widgets.preset_label(n), help="Every trial is this configuration with the varied "
                          "settings changed; a validation split is added when it has none.")
    if choice != CURRENT:
        return PRESETS[choice].config.with_(dataset=state.dataset()).with_(outputs=state.info().num_classes), choice
    try:
        return widgets.build_config(widgets.current_values(), state.dataset()), None
    except MnistlabError as error:
        st.error(f"The Train page's settings are not valid: {error}", icon=":material/error:")
        return None, None


def define() -> SweepPlan | None:
    """The form; the plan it describes, or None while it is incomplete."""
    name = st.text_input("Sweep name", value=f"sweep-{datetime.now():%Y%m%d-%H%M}", key="sweep_name")
    base, preset = _base()
    chosen = st.multiselect("Settings to vary", list(OFFERED), default=["lr", "width"], key="sweep_fields",
                            format_func=_title, help="Each becomes one axis of the search; the rest stay as in "
                            "the base. The CLI (`sweep create --param`) can vary any setting.")
    params = [spec for spec in (_range(n) for n in chosen) if spec]
    a, b, c, d = st.columns(4)
    trials = a.number_input("Trials", 1, 500, 16, key="sweep_trials", help="Points tried (each with every seed).")
    seeds = b.number_input("Seeds per point", 1, 5, 2, key="sweep_seeds", help="Replicates: the spread over "
                           "seeds shows how much of a difference is luck.")
    epochs = c.number_input("Epochs per trial", 1, 100, base.epochs if base else 3, key="sweep_epochs")
    sampler = d.selectbox("Sampler", ["tpe", "random", "grid"], key="sweep_sampler", help="TPE learns where good "
                          "points are; random explores evenly; grid tries every combination (choices and whole "
                          "numbers only).")
    pruner = st.segmented_control("Prune hopeless trials", ["median", "hyperband", "none"], default="median",
                                  key="sweep_pruner", required=True, disabled=sampler == "grid",
                                  help="Stop a trial early when its validation accuracy trails the others' at the "
                                       "same epoch (never for a grid).")
    if base is None or not params or not name.strip():
        return None
    return SweepPlan(name.strip(), base.with_(epochs=int(epochs)), preset, params, int(seeds), int(trials), sampler,
                     "none" if sampler == "grid" else pruner)
