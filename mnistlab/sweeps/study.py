"""A sweep is an Optuna study whose user attributes hold its definition: base config, space, seeds, sampler, pruner.

The definition travels with the study, so any worker or viewer that reaches the storage rebuilds the
same sweep (Optuna does not store samplers or pruners: each process makes them from the definition).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna

from mnistlab.configs import check_choice, quote
from mnistlab.errors import SweepError
from mnistlab.sweeps.space import Space
from mnistlab.sweeps.storage import default_url, open_storage, shown_url
from mnistlab.train.config import TrainConfig

DEFINITION = "mnistlab_sweep"  # the study user attribute holding the definition
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband")
DEFAULT_VAL_SPLIT = 0.1  # held out for the objective when the base config holds out nothing
MAX_SEEDS = 100
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MEDIAN_STARTUP = 5  # the median pruner judges nobody until this many trials have finished …
MEDIAN_WARMUP = 2  # … nor any trial before its second epoch (steps are epochs from 1; the first says little)


@dataclass(frozen=True)
class Definition:
    """What a sweep searches and how: stored as JSON in the study."""

    base: TrainConfig  # every trial starts from it; its val_split > 0 measures the objective
    space: Space
    preset: str | None = None  # the preset the base came from (recorded on each run)
    seeds: int = 1  # each point is trained with seeds 0..seeds-1; its value is their mean
    sampler: str = "tpe"
    pruner: str = "median"
    created: str = ""  # ISO time and host, for listings
    host: str = ""

    def to_dict(self) -> dict:
        return {"version": 1, "base": self.base.to_dict(), "space": self.space.to_list(), "preset": self.preset,
                "seeds": self.seeds, "sampler": self.sampler, "pruner": self.pruner, "created": self.created,
                "host": self.host}

    @classmethod
    def from_dict(cls, data: dict) -> Definition:
        return cls(TrainConfig.from_dict(data["base"]), Space.from_list(data["space"]), data.get("preset"),
                   int(data.get("seeds", 1)), data.get("sampler", "tpe"), data.get("pruner", "none"),
                   data.get("created", ""), data.get("host", ""))

    def config(self, values: dict[str, Any]) -> TrainConfig:
        """The config of a trial with these parameter values."""
        return self.space.config(self.base, values)

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        if self.sampler == "grid":
            return Grid(self.space.grid())
        if self.sampler == "random":
            return optuna.samplers.RandomSampler()
        return optuna.samplers.TPESampler(constant_liar=True)  # parallel workers avoid each other's running points

    def make_pruner(self) -> optuna.pruners.BasePruner:
        if self.pruner == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP, n_warmup_steps=MEDIAN_WARMUP)
        if self.pruner == "hyperband":  # resources are epochs: from 1 to the most a trial can train
            return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=self.max_epochs(), reduction_factor=3)
        return optuna.pruners.NopPruner()

    def max_epochs(self) -> int:
        for p in self.space.params:
            if p.name == "epochs":
                return int(max(p.choices) if p.kind == "choice" else p.high)
        return self.base.epochs


class Grid(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its `study.stop()` after the last point, which raises outside
    `Study.optimize`; a worker asks `is_exhausted` before each trial instead."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


@dataclass
class Sweep:
    """An opened sweep: its name, definition, Optuna study and storage."""

    name: str
    definition: Definition
    study: optuna.Study = field(repr=False)
    storage: optuna.storages.BaseStorage = field(repr=False)
    url: str = ""  # the storage URL, password hidden


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SweepError(f"{quote(name)} is not a sweep name; use letters, digits, '.', '_' and '-' (up to 100).")
    return name


def create_sweep(name: str, base: TrainConfig, params: list[str] | Space, *, preset: str | None = None,
                 seeds: int = 1, sampler: str = "tpe", pruner: str | None = None, val_split: float | None = None,
                 storage: str | None = None, runs_dir: str | Path | None = None) -> Sweep:
    """Create sweep `name` in `storage` (default: the runs directory's SQLite file); SweepError if it exists.

    Args:
        base: the config every trial starts from (a preset's, or a config file's).
        params: FIELD=SPEC texts (see `mnistlab.sweeps.spec`) or a parsed Space.
        seeds: replicates per point: seeds 0..seeds-1, the trial's value being their mean.
        sampler: tpe | random | grid (grid needs choice or int ranges only).
        pruner: none | median | hyperband; default median, none for a grid (which must try every point).
        val_split: the validation fraction; default the base's, or DEFAULT_VAL_SPLIT when it has none.
    """
    check_name(name)
    check_choice("sampler", sampler, SAMPLERS)
    pruner = pruner or ("none" if sampler == "grid" else "median")
    check_choice("pruner", pruner, PRUNERS)
    if sampler == "grid" and pruner != "none":
        raise SweepError("a grid sweep trains every point to the end; leave out --pruner (or use --pruner none).")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise SweepError(f"--seeds must be a whole number from 1 to {MAX_SEEDS}; got {quote(seeds)}.")
    if val_split is not None:
        base = base.with_(val_split=val_split)
    if base.val_split == 0:
        base = base.with_(val_split=DEFAULT_VAL_SPLIT)
    space = params if isinstance(params, Space) else Space.parse(list(params))
    space.check(base)
    definition = Definition(base, space, preset, seeds, sampler, pruner,
                            datetime.now(UTC).isoformat(timespec="seconds"), socket.gethostname())
    if sampler == "grid":
        definition.make_sampler()  # a continuous range fails here, before the study exists
    store, url = open_storage(storage, runs_dir), shown_url(storage or default_url(runs_dir))
    try:
        study = optuna.create_study(study_name=name, storage=store, direction="maximize",
                                    sampler=definition.make_sampler(), pruner=definition.make_pruner())
    except optuna.exceptions.DuplicatedStudyError:
        raise SweepError(f"sweep {name} already exists in {url}; pick another name, or delete it first "
                         f"(sweep delete {name}).") from None
    study.set_user_attr(DEFINITION, definition.to_dict())
    return Sweep(name, definition, study, store, url)


def open_sweep(name: str, storage: str | None = None, runs_dir: str | Path | None = None) -> Sweep:
    """The sweep `name` in `storage`, with its sampler and pruner; SweepError when there is none."""
    check_name(name)
    store, url = open_storage(storage, runs_dir), shown_url(storage or default_url(runs_dir))
    try:
        plain = optuna.load_study(study_name=name, storage=store)
    except KeyError:
        raise SweepError(f"there is no sweep {name} in {url}; `sweep list` shows the sweeps there, "
                         "`sweep create` makes one.") from None
    data = plain.user_attrs.get(DEFINITION)
    if not isinstance(data, dict):
        raise SweepError(f"study {name} in {url} is not a mnistlab sweep (or is still being created); "
                         "pick a sweep that `sweep list` shows.")
    try:
        definition = Definition.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:  # ConfigError is a ValueError
        raise SweepError(f"sweep {name}'s stored definition is damaged ({error}); delete it and create it again.") from None
    study = optuna.load_study(study_name=name, storage=store, sampler=definition.make_sampler(),
                              pruner=definition.make_pruner())
    return Sweep(name, definition, study, store, url)


def delete_sweep(name: str, storage: str | None = None, runs_dir: str | Path | None = None) -> None:
    """Delete the sweep's study and trials (its runs stay in each worker's run store)."""
    check_name(name)
    store, url = open_storage(storage, runs_dir), shown_url(storage or default_url(runs_dir))
    try:
        optuna.delete_study(study_name=name, storage=store)
    except KeyError:
        raise SweepError(f"there is no sweep {name} in {url}; `sweep list` shows the sweeps there.") from None
