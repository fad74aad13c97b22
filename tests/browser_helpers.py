"""Playwright helpers for driving a Streamlit app: wait until it is idle, set widgets by key, read the
live view's progress, take full-page screenshots. Widgets are found by the `st-key-<key>` class that
Streamlit gives every keyed element.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

WIDTH, HEIGHT = 1400, 900  # the viewport; screenshots grow it to the page's full height
STEP = re.compile(r"Epoch (\d+)/(\d+) · step (\d+)/(\d+)")
BUSY_SELECTOR = ('[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSpinner"], '
                 '[data-testid="stSkeleton"]')  # a script running, elements about to change, a spinner
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(c => c.offsetParent === null || c.querySelector('.main-svg'))"""  # hidden tabs' charts may wait

# The bottom of the page's last element, once every scrolled pane is back at its top (a click scrolls Streamlit's main
# pane, and a screenshot of a grown viewport would start where it was scrolled to).
CONTENT_BOTTOM = """() => {
    for (const e of document.querySelectorAll('*')) if (e.scrollTop) e.scrollTop = 0;
    return Math.ceil(document.querySelector('[data-testid="stMainBlockContainer"]').firstElementChild
        .getBoundingClientRect().bottom);
}"""

T = TypeVar("T")


def poll(probe: Callable[[], T], what: str, timeout_s: float = 60, every_s: float = 0.15) -> T:
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def settle(page, quiet_s: float = 0.8, timeout_s: float = 60) -> None:
    """Wait until no script runs, nothing is stale or spinning and every visible chart is drawn, for `quiet_s`."""
    since = [None]

    def quiet() -> bool:
        if page.locator(BUSY_SELECTOR).count() or not page.evaluate(CHARTS_DRAWN):
            since[0] = None
            return False
        since[0] = since[0] or time.monotonic()
        return time.monotonic() - since[0] >= quiet_s

    poll(quiet, "the app to be idle", timeout_s, every_s=0.1)


def assert_clean(page) -> None:
    """No Streamlit exception box and no message from the pages' error boundary (`ui.state.guard`)."""
    for failure in (page.locator('[data-testid="stException"]'), page.get_by_text("Something went wrong")):
        assert failure.count() == 0, failure.all_inner_texts()


def press(button) -> bool:
    """Click `button` if it is there; False either way (for `poll`, which waits on something else)."""
    try:
        if button.count():
            button.first.click(timeout=5000)
    except Exception:  # noqa: BLE001 - redrawn or gone under the click: the caller polls again
        pass
    return False


def visit(page, link: str, title: str, text: str) -> None:
    """Click `link` in the sidebar, then check the page's title, one key text and that nothing failed."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(link, exact=True).click()
    page.get_by_role("heading", name=title, exact=True, level=1).wait_for()
    page.get_by_text(text).first.wait_for()
    settle(page)
    assert_clean(page)


def set_number(page, key: str, value: int) -> None:
    """Type `value` into number input `key`, press Enter and wait for the rerun."""
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    poll(lambda: box.input_value() == str(value), f"{key} to read {value}", 10)
    settle(page)


def choose(page, key: str, option: str) -> None:
    """Pick the option containing `option` in selectbox `key` (opening it again if a rerun closed it)."""
    box = page.locator(f".st-key-{key} input[role='combobox']")
    wanted = page.get_by_role("option").filter(has_text=option)

    def pick() -> bool:
        if option in box.input_value():
            return True
        try:
            if wanted.count():
                wanted.first.click(timeout=5000)
            else:
                page.locator(f".st-key-{key} button[aria-label='Open']").click(timeout=5000)
        except Exception:  # noqa: BLE001 - the list closed or redrew under the click: try again
            pass
        return False

    poll(pick, f"{option!r} in {key}", 30, every_s=0.3)
    settle(page)


def progress(page) -> tuple[float, str] | None:
    """(fraction of all steps done, the bar's text) from the live view's progress bar, None when absent."""
    bars = page.locator('[data-testid="stProgress"]')
    try:
        text = bars.first.inner_text(timeout=500) if bars.count() else None
    except Exception:  # noqa: BLE001 - the fragment redrew the bar under us: read it next time
        return None
    if text is None:
        return None
    match = STEP.search(text)
    if not match:
        return 0.0, text  # "Preparing…"
    epoch, epochs, step, steps = map(int, match.groups())
    return ((epoch - 1) * steps + step) / (epochs * steps), text


def position(page) -> tuple[int, int, int] | None:
    """(epoch, epochs, step) from the live view's progress text, None before the first step."""
    reading = progress(page)
    match = STEP.search(reading[1]) if reading else None
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def shot(page, path: Path, idle: bool = True) -> None:
    """A full-page screenshot: grow the viewport to the page's height (Streamlit scrolls inside a pane)."""
    page.mouse.move(WIDTH - 8, HEIGHT // 2)  # off the sidebar (it shows its collapse button on hover) and widgets
    height = page.evaluate(CONTENT_BOTTOM)
    page.set_viewport_size({"width": WIDTH, "height": min(max(HEIGHT, height + 48), 9000)})
    if idle:
        settle(page)
    else:  # a live page redraws every second: catch it between two redraws, its charts drawn
        poll(lambda: page.evaluate(CHARTS_DRAWN), "the live charts", 30)
        deadline = time.monotonic() + 10
        while page.locator(BUSY_SELECTOR).count() and time.monotonic() < deadline:
            time.sleep(0.05)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
