"""Teaching help: every control on Train explains what it is and what to look for."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.help_texts import CONTROL_HELP

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("selectbox", "slider", "select_slider", "number_input", "toggle", "button", "segmented_control")
pytestmark = pytest.mark.usefixtures("app_caches")


def train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_every_train_control_has_help(env):
    at = train_page()
    at.number_input(key="cfg_layers").set_value(3).run()  # three width inputs, each with its own help
    controls = [w for kind in KINDS for w in getattr(at, kind)]
    assert len(controls) >= 35, [w.key for w in controls]
    missing = [w.key or w.label for w in controls if not (w.help or "").strip()]
    assert not missing, f"controls without help: {missing}"
    widths = [at.number_input(key=f"cfg_width_{i}").help for i in range(3)]
    assert len(set(widths)) == 3 and all("hidden layer" in h for h in widths)


def test_help_texts_are_one_line_and_say_what_to_look_for():
    for key, text in CONTROL_HELP.items():
        assert "\n" not in text and 20 < len(text) < 260, key


def test_home_offers_the_guided_path_in_order(env):
    from mnistlab.lessons import LESSONS, check_lessons

    check_lessons()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception
    titles = [e.label for e in at.expander]
    assert titles[:len(LESSONS)] == [f"**{i}. {lesson.title}**" for i, lesson in enumerate(LESSONS, start=1)]
    vanishing = next(i for i, lesson in enumerate(LESSONS, start=1) if "seed003-relu" in lesson.presets)
    assert at.button(key=f"lesson_{vanishing}_seed003-vanishing") and at.button(key=f"lesson_{vanishing}_seed003-relu")

