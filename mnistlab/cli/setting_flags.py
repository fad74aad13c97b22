"""CLI flags generated from the settings' declarations (`mnistlab.settings`): one flag per declared field.

A flag's value is passed on as typed, or as the text when it is not a number, so that the config's own
check answers with the same one-line message (and allowed range) the dashboard shows, never argparse's usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mnistlab.errors import ConfigError
from mnistlab.settings import Leaf, Setting, leaf_settings, set_paths


def parse_widths(text: str) -> tuple[int, ...]:
    """'512,128' → (512, 128); '' or 'none' → () (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--hidden takes comma-separated layer widths like 512,128; got {text!r}.") from None


def parse_subset(text: str) -> int | float:
    """'1000' → 1000 samples; '0.25' → a quarter of the training set."""
    try:
        return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        raise ConfigError(f"--train-subset takes a count (1000) or a fraction (0.25); got {text!r}.") from None


def _number(kind: type) -> Callable[[str], int | float | str]:
    """An argparse type that never fails: the number, or the text as given, for the config to reject."""
    def convert(text: str) -> int | float | str:
        try:
            return kind(text)
        except ValueError:
            return text

    convert.__name__ = kind.__name__
    return convert


def one_of(choices) -> str:
    """A metavar listing the choices; the value is checked by the config, so the message is the config's."""
    return "{" + ",".join(map(str, choices)) + "}"


def _allowed(s: Setting) -> str:
    """' [0, 1)' for a ranged number; '' otherwise."""
    if s.kind not in ("float", "int") or (s.low is None and s.high is None):
        return ""
    low = "-inf" if s.low is None else f"{s.low:g}"
    high = "inf" if s.high is None else f"{s.high:g}"
    return f" {'(' if s.low_open else '['}{low}, {high}{')' if s.high_open else ']'}"


def _shown(default: Any) -> str:
    """A default as a user types it: 512,128 for widths, 'none' for None."""
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    if isinstance(default, bool):
        return "on" if default else "off"
    return "none" if default is None else str(default)


def _argument(leaf: Leaf) -> dict[str, Any]:
    """argparse keywords for one setting's flag."""
    s = leaf.setting
    text = (s.help + _allowed(s) + f" (default {_shown(leaf.default)})").replace("%", "%%")
    if s.kind == "choice":
        return {"metavar": one_of(s.choices), "help": text}
    if s.kind == "name":
        return {"metavar": one_of((*s.choices, "NAME")), "help": text}
    if s.kind == "bool":
        return {"action": argparse.BooleanOptionalAction, "help": text}
    if s.kind == "widths":
        return {"type": str, "metavar": "W1,W2,…", "help": "hidden layer widths, e.g. 512,128 ('none' for no hidden "
                "layer). " + text}
    if s.kind == "subset":
        return {"type": str, "metavar": "N|FRACTION", "help": text}
    return {"type": _number(int if s.kind == "int" else float), "help": text}


def add_setting_flags(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One `--flag` for every declared setting of `config_cls` that has one, in declaration order."""
    for leaf in leaf_settings(config_cls):
        if leaf.flag is not None:
            parser.add_argument(f"--{leaf.flag}", dest=leaf.dest, default=None, **_argument(leaf))


def _parsed(leaf: Leaf, value: Any) -> Any:
    if leaf.setting.kind == "widths":
        return parse_widths(value)
    if leaf.setting.kind == "subset":
        return parse_subset(value)
    return value


def flag_changes(args: argparse.Namespace, config_cls: type) -> dict[tuple[str, ...], Any]:
    """The config paths and values of every flag given on the command line."""
    return {leaf.path: _parsed(leaf, getattr(args, leaf.dest)) for leaf in leaf_settings(config_cls)
            if leaf.flag is not None and getattr(args, leaf.dest, None) is not None}


def apply_changes(config: Any, changes: dict[tuple[str, ...], Any]) -> Any:
    """`config` with each path changed, validated as a whole (ConfigError names the bad setting)."""
    if not changes:
        return config
    return type(config).from_dict(set_paths(config.to_dict(), changes))
