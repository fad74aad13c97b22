"""Shared helpers for config dataclasses: validation messages and JSON round-trips."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, TypeVar

from mnistlab.errors import ConfigError

T = TypeVar("T")


def check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}.")


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False, integer: bool = False) -> None:
    """Raise ConfigError unless low <= value <= high (open ends exclude the bound); the message gives the range."""
    kind = "an integer" if integer else "a number"
    allowed = (f"{'(' if low_open else '['}{'-inf' if low is None else low}, "
               f"{'inf' if high is None else high}{')' if high_open else ']'}")
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and not math.isfinite(value)):
        raise ConfigError(f"{name} must be {kind} in {allowed}; got {value!r}.")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"{name} must be in {allowed}; got {value}.")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"{name} must be in {allowed}; got {value}.")


def to_dict(obj) -> dict:
    """A dataclass as plain JSON-ready data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def from_dict(cls: type[T], data: dict, nested: dict[str, type] | None = None) -> T:
    """Build `cls` from a dict, rejecting unknown keys; `nested` maps field names to dataclasses."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object; got {type(data).__name__}.")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} setting(s): {', '.join(sorted(unknown))}.")
    kwargs = {}
    for key, value in data.items():
        if nested and key in nested and isinstance(value, dict):
            value = nested[key].from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"bad {cls.__name__}: {e}.") from None


def parse_json(text: str, what: str) -> Any:
    """json.loads with a ConfigError naming `what` ("config", "model spec") instead of a JSONDecodeError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{what} is not valid JSON: {e}.") from None
