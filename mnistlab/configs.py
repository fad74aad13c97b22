"""Shared helpers for config dataclasses: validation messages and JSON round-trips."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, TypeVar

from mnistlab.errors import ConfigError
from mnistlab.userfiles import read_regular, short

T = TypeVar("T")


def check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {quote(value)}.")


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False, integer: bool = False) -> None:
    """Raise ConfigError unless low <= value <= high (open ends exclude the bound); the message gives the range."""
    kind = "an integer" if integer else "a number"
    allowed = (f"{'(' if low_open else '['}{'-inf' if low is None else low}, "
               f"{'inf' if high is None else high}{')' if high_open else ']'}")
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and not math.isfinite(value)):
        raise ConfigError(f"{name} must be {kind} in {allowed}; got {quote(value)}.")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"{name} must be in {allowed}; got {value}.")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"{name} must be in {allowed}; got {value}.")


def quote(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: a message never echoes a 5,000-character input in full."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


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
        if nested and key in nested:
            if not isinstance(value, dict):
                raise ConfigError(f"{key} must be a JSON object of {nested[key].__name__} settings; "
                                  f"got {short(json.dumps(value))}.")
            value = nested[key].from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"bad {cls.__name__}: {e}.") from None


MAX_CONFIG_BYTES = 64 * 1024  # a config is a few hundred bytes; anything near this is not one
MAX_DEPTH = 16  # nesting of objects/arrays; TrainConfig needs 3
MAX_DIGITS = 20  # digits in one integer (a seed fits in 10)


def _depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings (checked before parsing: json recurses per level)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ConfigError(f"the number {short(text, 24)} has {len(text.lstrip('-')):,} digits; no setting takes more "
                          f"than {MAX_DIGITS}.")
    return int(text)


def _constant(name: str):
    raise ConfigError(f"{name} is not a value any setting takes; use a finite number.")


def parse_json(text: str, what: str) -> Any:
    """json.loads with a ConfigError naming `what` ("config", "model spec") instead of a JSONDecodeError,
    refusing nesting deeper than MAX_DEPTH, integers longer than MAX_DIGITS and NaN/Infinity."""
    if _depth(text) > MAX_DEPTH:
        raise ConfigError(f"{what} is nested more than {MAX_DEPTH} levels deep; a config is a flat object with "
                          "'model' and 'augment' inside.")
    try:
        return json.loads(text, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{what} is not valid JSON: {e}.") from None
    except (ValueError, RecursionError) as e:
        if isinstance(e, ConfigError):
            raise ConfigError(f"{what}: {e}") from None
        raise ConfigError(f"{what} cannot be parsed: {short(str(e))}.") from None


def read_json_file(path: str | Path, what: str = "config") -> Any:
    """Parse a JSON file a user names: a regular file of at most MAX_CONFIG_BYTES, UTF-8, checked as parse_json."""
    data = read_regular(path, MAX_CONFIG_BYTES, what, ConfigError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {short(str(path))} is not UTF-8 text (byte {e.start} is 0x{data[e.start]:02x}); "
                          "save it as a UTF-8 JSON file.") from None
    return parse_json(text, f"{what} {short(str(path))}")
