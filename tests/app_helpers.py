"""Opening the dashboard in AppTest the way a fresh browser tab does (shared by the app tests)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_app(page: str = "home", query: dict | None = None, timeout: float = 60, check: bool = True) -> AppTest:
    """A fresh session opening `page` with `query` in its address; `check` asserts nothing raised."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params.update(query or {})
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    if check:
        assert not at.exception, at.exception
    return at
