"""A setting is declared once: its check, CLI flag, dashboard control and help all come from the declaration."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from mnistlab.cli import train_cmd
from mnistlab.errors import ConfigError
from mnistlab.settings import Setting, get_path, leaf_settings, log_stops, setting
from mnistlab.train.config import TrainConfig

pytestmark = pytest.mark.usefixtures("app_caches")


@dataclasses.dataclass(frozen=True)
class Extended(TrainConfig):
    """TrainConfig with one more field, declared the one way a new field is declared."""

    cooldown_epochs: int = setting(0, Setting(
        "Warm-up epochs", "Epochs over which the learning rate ramps up from zero: a gentler start for large rates.",
        kind="int", low=0, high=50, step=1, section="optimisation"))


def parser(config_cls: type = TrainConfig) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    train_cmd.add_arguments(p, config_cls)
    return p


def test_every_setting_is_declared_whole():
    leaves = list(leaf_settings(TrainConfig))
    assert len(leaves) >= 35
    for leaf in leaves:
        s = leaf.setting
        assert s.label and 20 < len(s.help) < 260 and "\n" not in s.help, leaf.path
        s.check(leaf.default)  # the default passes its own check
        low, high = s.control_range
        if s.low is not None and low is not None:
            assert low >= s.low, leaf.path  # a control never offers what the check refuses
        if s.high is not None and high is not None:
            assert high <= s.high, leaf.path
        if s.kind == "choice":
            assert leaf.default in s.choices
    assert len({leaf.key for leaf in leaves}) == len(leaves) and len({leaf.flag for leaf in leaves}) == len(leaves)


def test_a_new_field_is_checked_from_its_declaration():
    assert Extended(cooldown_epochs=5).cooldown_epochs == 5
    with pytest.raises(ConfigError, match=r"warm-up epochs must be in \[0, 50\]; got 51"):
        Extended(cooldown_epochs=51)
    assert Extended.from_json(Extended(cooldown_epochs=3).to_json()) == Extended(cooldown_epochs=3)


def test_a_new_field_becomes_a_cli_flag_with_its_help_and_range():
    p = parser(Extended)
    text = " ".join(p.format_help().split())
    assert "--cooldown-epochs" in text and "ramps up from zero" in text and "[0, 50]" in text
    config, _ = train_cmd.config_from_args(p.parse_args(["--cooldown-epochs", "4", "--lr", "0.05"]), Extended)
    assert (config.cooldown_epochs, config.lr) == (4, 0.05)
    with pytest.raises(ConfigError, match="warm-up epochs must be an integer"):
        train_cmd.config_from_args(p.parse_args(["--cooldown-epochs", "two"]), Extended)
    assert "--cooldown-epochs" not in parser().format_help()  # the flag comes from the declaration, nowhere else


def _page_with_extended() -> None:
    import dataclasses

    from mnistlab.settings import Setting, setting
    from mnistlab.train.config import TrainConfig
    from ui import widgets

    @dataclasses.dataclass(frozen=True)
    class Extended(TrainConfig):
        cooldown_epochs: int = setting(0, Setting(
            "Warm-up epochs", "Epochs over which the learning rate ramps up from zero: a gentler start for large "
            "rates.", kind="int", low=0, high=50, step=1, section="optimisation"))

    widgets.ensure_loaded()
    widgets.optimisation_controls(Extended)
    import streamlit as st
    st.write(repr(widgets.build_config(widgets.current_values(), "mnist", Extended).cooldown_epochs))


def test_a_new_field_becomes_a_dashboard_control_with_its_help(env):
    at = AppTest.from_function(_page_with_extended, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    control = at.number_input(key="cfg_cooldown_epochs")
    assert control.label == "Warm-up epochs" and "ramps up from zero" in control.help
    assert (control.min, control.max) == (0, 50)
    control.set_value(7).run()
    assert not at.exception, at.exception
    assert at.markdown[-1].value == "7"  # the control's value reaches the config the page builds


def test_every_cli_flag_changes_its_field():
    """Each declared flag, given a value other than the default, lands in its field (nested ones included)."""
    base = TrainConfig()
    for leaf in leaf_settings(TrainConfig):
        s = leaf.setting
        if leaf.flag is None or leaf.path == ("dataset",):
            continue
        if s.kind == "bool":
            argv, expected = [f"--{leaf.flag}" if not leaf.default else f"--no-{leaf.flag}"], not leaf.default
        elif s.kind == "choice":
            expected = next(c for c in s.choices if c != leaf.default and c != "cuda")
            argv = [f"--{leaf.flag}", expected]
        elif s.kind == "widths":
            argv, expected = [f"--{leaf.flag}", "64,32"], (64, 32)
        elif leaf.path == ("augment", "scale_min"):
            argv, expected = [f"--{leaf.flag}", "0.9"], 0.9
        elif leaf.path == ("augment", "scale_max"):
            argv, expected = [f"--{leaf.flag}", "1.2"], 1.2
        else:
            low, high = s.control_range
            expected = 3 if s.kind == "subset" or high is None or high > 1000 else low + (high - low) / 4
            expected = int(expected) if s.kind in ("int", "subset") else round(expected, 3)
            argv = [f"--{leaf.flag}", str(expected)]
        if leaf.path == ("engine",):  # the NumPy engine needs a config it supports
            argv += ["--activation", "relu"]
        if leaf.path == ("numpy_recipe",):  # the tutorial's recipe runs on the NumPy engine, with its loss
            argv += ["--engine", "numpy", "--loss", "mse"]
        config, _ = train_cmd.config_from_args(parser().parse_args(argv))
        assert get_path(config, leaf.path) == expected and get_path(base, leaf.path) != expected, (leaf.path, argv)


def test_bad_values_of_flags_new_to_the_cli_get_the_configs_message():
    cases = {("--aug-rotation", "500"): r"rotation must be in \[0, 180\]; got 500",
             ("--momentum", "1"): r"momentum must be in \[0, 1\); got 1",
             ("--step-gamma", "x"): "step_gamma must be a number",
             ("--subset-mode", "all"): "subset mode must be one of first, random, stratified"}
    for argv, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            train_cmd.config_from_args(parser().parse_args(list(argv)))


def test_log_stops_cover_the_range_on_a_log_scale():
    assert log_stops(1e-3, 1) == (0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
    assert log_stops(0.004, 0.04) == (0.004, 0.005, 0.01, 0.02, 0.03, 0.04)
