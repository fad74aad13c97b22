"""One searched parameter: `FIELD=SPEC` parsed and checked against the field's own declaration.

SPEC grammar (the same from the CLI, a config file or the dashboard):
    log:LOW:HIGH      log-uniform (a float field, or a whole number for an int field such as batch_size)
    float:LOW:HIGH    uniform over a float field
    int:LOW:HIGH      uniform over the whole numbers LOW..HIGH (an int field, `layers`, `width`)
    choice:A,B,…      one of the values (any field; for `hidden` each value is one hidden layer's width,
                      or several joined by '+': choice:64,256+128,none)
Each end and each choice is checked by the field's `Setting.check`, so a range a sweep could sample is
exactly one the Train page and `train` accept, with the same message when it is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mnistlab.configs import check_range, quote
from mnistlab.errors import ConfigError, SweepError
from mnistlab.settings import Setting, leaf_settings
from mnistlab.train.config import AUGMENT_NAMES, TrainConfig

SPEC_KINDS = ("log", "float", "int", "choice")
SPEC_HELP = "log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B,…"
MAX_LAYERS = 32  # deepest net `layers` may ask for: far past where a plain MLP stops gaining
MAX_CHOICES = 1000  # values in one choice (or whole numbers in one grid axis): more is a typo
# Fields a sweep never searches, and what to do instead.
FIXED = {
    "dataset": "a sweep searches one dataset: set it with --dataset",
    "device": "the device changes speed, not accuracy: set it with --device",
    "seed": "seeds are replicates, not a search axis: use --seeds N",
    "val_split": "it decides what the objective is measured on: set it with --val-split",
    "val_mode": "it decides what the objective is measured on: set it with --val-mode",
    "test_subset": "the test set is never used to choose: leave it out of the search",
}
# Pseudo-fields that build a config field: `layers` and `width` make `hidden` = (width,) * layers;
# `augment` picks one of the named augmentation recipes (as `train --augment` does).
PSEUDO = ("layers", "width", "augment")


@dataclass(frozen=True)
class Param:
    """One searched parameter: its name (a config field's flag name or a pseudo-field) and its range."""

    name: str  # "lr", "hidden", "aug_rotation", "layers", "width", "augment"
    kind: str  # log | float | int | choice
    low: float | None = None
    high: float | None = None
    choices: tuple = ()  # Optuna stores str, int, float, bool; `hidden` choices are strings like "256+128"

    def __repr__(self) -> str:
        return f"Param({self.name}={self.spec})"

    @property
    def spec(self) -> str:
        """The SPEC as a user writes it: 'log:0.0001:0.1'."""
        if self.kind == "choice":
            return "choice:" + ",".join(_shown(c) for c in self.choices)
        return f"{self.kind}:{self.low:g}:{self.high:g}"

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high,
                "choices": list(self.choices)}

    @classmethod
    def from_dict(cls, data: dict) -> Param:
        return cls(data["name"], data["kind"], data.get("low"), data.get("high"), tuple(data.get("choices") or ()))


def sweepable() -> dict[str, Any]:
    """Every field a sweep may search, by its name (the flag's, with '_'): the leaf from `leaf_settings`."""
    return {leaf.dest: leaf for leaf in leaf_settings(TrainConfig)
            if leaf.flag is not None and leaf.dest not in FIXED and leaf.setting.kind != "name"}


def field_name(text: str) -> str:
    """The canonical name of FIELD as typed: 'lr', 'weight-decay', 'model.dropout', 'rotation' → its flag name."""
    text = text.strip()
    if text in PSEUDO:
        return text
    leaves = {leaf.dest: leaf for leaf in leaf_settings(TrainConfig)}
    for dest, leaf in leaves.items():
        if text in (dest, leaf.flag, ".".join(leaf.path)):
            return dest
    last = [dest for dest, leaf in leaves.items() if leaf.path[-1] == text]
    if len(last) == 1:
        return last[0]
    names = ", ".join([*sweepable(), *PSEUDO])
    raise SweepError(f"{quote(text)} is not a setting a sweep can search; use one of {names}.")


def parse_param(text: str) -> Param:
    """'lr=log:1e-4:1e-1' → Param, every end or choice checked by the field's declaration (SweepError)."""
    if "=" not in text:
        raise SweepError(f"--param takes FIELD=SPEC (e.g. lr=log:1e-4:1e-1); got {quote(text)}.")
    field, spec = (part.strip() for part in text.split("=", 1))
    name = field_name(field)
    if name in FIXED:
        raise SweepError(f"--param {field}: {FIXED[name]}.")
    kind, _, rest = spec.partition(":")
    if kind not in SPEC_KINDS or not rest:
        raise SweepError(f"--param {field}: a SPEC is {SPEC_HELP}; got {quote(spec)}.")
    try:
        return _checked(name, kind, rest)
    except ConfigError as error:  # the declaration's own message, e.g. "dropout must be in [0, 1); got 1.5."
        raise SweepError(f"--param {field}={spec}: {error}") from None


def check_value(name: str, value: Any) -> None:
    """ConfigError unless `value` is allowed for parameter `name` (a sampled or typed value)."""
    if name == "layers":
        check_range("number of hidden layers", value, 0, MAX_LAYERS, integer=True)
    elif name == "width":
        _setting("hidden").check((value,))
    elif name == "augment":
        if value not in AUGMENT_NAMES:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENT_NAMES)}; got {quote(value)}.")
    elif _setting(name).kind == "widths":
        _setting(name).check(widths(value))
    else:
        _setting(name).check(value)


def widths(value: str) -> tuple[int, ...]:
    """A `hidden` choice as stored, '256+128' (or 'none'), as the widths tuple (256, 128)."""
    text = str(value).strip().lower()
    if text in ("", "none", "0"):
        return ()
    try:
        return tuple(int(part) for part in text.split("+"))
    except ValueError:
        raise ConfigError(f"a hidden choice is a width (64), widths joined by '+' (256+128) or none; "
                          f"got {quote(value)}.") from None


def _setting(name: str) -> Setting:
    return sweepable()[name].setting


def _kind_of(name: str) -> str:
    """The value kind of a parameter: the declaration's, or the pseudo-field's."""
    return {"layers": "int", "width": "int", "augment": "choice"}.get(name) or _setting(name).kind


def _checked(name: str, kind: str, rest: str) -> Param:
    value_kind = _kind_of(name)
    if kind == "choice":
        choices = tuple(_value(name, value_kind, part.strip()) for part in rest.split(","))
        if len(set(choices)) != len(choices) or len(choices) > MAX_CHOICES:
            raise ConfigError(f"a choice lists up to {MAX_CHOICES} different values; got {quote(rest)}.")
        for choice in choices:
            check_value(name, choice)
        return Param(name, "choice", choices=choices)
    allowed = {"float": ("float", "subset"), "log": ("float", "int", "subset"), "int": ("int", "subset")}[kind]
    if value_kind not in allowed:
        raise ConfigError(_wrong_kind(name, kind, value_kind))
    parts = rest.split(":")
    if len(parts) != 2:
        raise ConfigError(f"a range is {kind}:LOW:HIGH; got {quote(kind + ':' + rest)}.")
    low, high = (_number(part, False) for part in parts)
    # Whole numbers: an int range, or a log range over an int field (or over a subset's counts, not fractions).
    integer = kind == "int" or (kind == "log" and (value_kind == "int" or (value_kind == "subset" and high > 1)))
    if integer:
        low, high = (_number(part, True) for part in parts)
    if not low < high:
        raise ConfigError(f"the low end ({low:g}) must be below the high end ({high:g}).")
    if kind == "log" and low <= 0:
        raise ConfigError(f"a log range needs a low end above 0; got {low:g} (try {max(high / 1000, 1e-8):g}).")
    for end in (low, high):
        check_value(name, end)
    return Param(name, kind, low, high)


def _wrong_kind(name: str, kind: str, value_kind: str) -> str:
    if value_kind in ("choice", "bool", "widths"):
        example = {"bool": "choice:true,false", "widths": "choice:64,128,256+128 (or layers=int:1:4 width=…)"}
        return f"{name} takes one of a list, not a {kind} range: use {example.get(value_kind, 'choice:A,B')}."
    return f"{name} is a whole number: use int:LOW:HIGH, log:LOW:HIGH or choice:A,B."


def _number(text: str, integer: bool) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{quote(text)} is not a number.") from None
    if not math.isfinite(value):
        raise ConfigError(f"{quote(text)} is not a finite number.")
    if integer:
        if not value.is_integer():
            raise ConfigError(f"{text} is not a whole number.")
        return int(value)
    return value


def _value(name: str, kind: str, text: str) -> Any:
    """One choice as typed, as the value the config field takes (widths stay text: '256+128')."""
    if kind == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false", "on", "off", "yes", "no"):
            raise ConfigError(f"{name} is true or false; got {quote(text)}.")
        return lowered in ("true", "on", "yes")
    if kind == "widths":
        return "+".join(map(str, widths(text))) or "none"
    if kind in ("float", "int", "subset"):
        number = _number(text, kind == "int")
        return int(number) if kind == "subset" and float(number).is_integer() and number > 1 else number
    return text


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
