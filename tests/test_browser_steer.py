"""Steering a live job in Chromium: the learning-rate slider moved while it trains, Pause holds it, Resume goes
on, and the change is marked on the live curves."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from browser_helpers import poll, press, progress, set_number, settle
from test_browser import RUN_S, Server, assert_clean, browsing, position, runs, serving, visit

pytestmark = pytest.mark.browser


@pytest.fixture
def tiny_server(tiny_data_dir, tmp_path) -> Iterator[Server]:
    runs_dir, log_path = tmp_path / "runs", tmp_path / "streamlit.log"
    with serving(tiny_data_dir, runs_dir, log_path) as url:
        yield Server(url, runs_dir, False, log_path, tiny_data_dir)


def test_lower_the_learning_rate_of_a_live_job_then_pause_and_resume_it(tiny_server, chromium, tmp_path):
    with browsing(chromium, tiny_server, tmp_path) as page:
        page.goto(tiny_server.url)
        page.get_by_role("heading", name="mnistlab", exact=True, level=1).wait_for()
        visit(page, "Train", "Train", "Start training")
        set_number(page, "cfg_epochs", 1000)
        page.locator(".st-key-start button").first.click()
        poll(lambda: (now := position(page)) and now[0] >= 2, "the job's second epoch", RUN_S)
        thumb = page.locator(".st-key-steer_lr input[type='range']")
        before = thumb.get_attribute("aria-valuetext")
        thumb.focus()
        for _ in range(3):  # three stops down the learning-rate slider
            thumb.press("ArrowLeft")
            time.sleep(0.3)
        page.get_by_text("at the next step").first.wait_for(timeout=20_000)
        lowered = thumb.get_attribute("aria-valuetext")
        assert lowered != before

        # A fragment redraw can replace (or for a moment duplicate) a button under the click: press until it shows.
        resume = page.locator(".st-key-resume button")
        poll(lambda: resume.count() or press(page.locator(".st-key-pause button")), "the Resume button", 30, 1.0)
        # The step in flight still ends; "· pausing…" turns to "· paused" when the job holds, at its exact step.
        held_by = time.monotonic() + RUN_S  # under load a step and an epoch's end can take as long as an epoch
        while not ((reading := progress(page)) and reading[1].endswith("· paused")):
            assert time.monotonic() < held_by, f"the job did not hold in {RUN_S} s; its bar says {reading}"
            time.sleep(0.15)
        held = position(page)
        time.sleep(2.5)  # a few redraws of the live view
        assert position(page) == held  # paused: no steps
        poll(lambda: (not resume.count()) or press(resume), "Resume to take", 30, 1.0)
        poll(lambda: (now := position(page)) and now[0] > held[0] + 1, "two more epochs after Resume", RUN_S)
        page.get_by_text(f"lr → {lowered}").first.wait_for(timeout=20_000)  # the mark on the live curves
        assert_clean(page)
        stopped = poll(lambda: [r for r in runs(tiny_server.runs_dir) if r.get("status") == "stopped"]
                       or press(page.locator(".st-key-stop button")), "the stop", 60, 1.0)
        settle(page)
        assert stopped
