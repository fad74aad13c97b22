"""The browser tests' shared fixtures: Debian's Chromium through Playwright, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright never downloads a browser here
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, through Playwright's sync API (no pytest-playwright browser management)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: docs/screenshots/ with MNISTLAB_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("MNISTLAB_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS
    return tmp_path
