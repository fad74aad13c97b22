"""Your own data in Chromium: a .zip of 26 letter folders uploaded on the Data page, switched to, trained on,
and its class names on Results. With MNISTLAB_SCREENSHOTS=1 the README's pictures of it are saved."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import poll, set_number, settle, shot
from test_app_letters import LETTERS, letter_folder
from test_browser import (
    RUN_S,
    Server,
    assert_clean,
    browsing,
    runs,
    serving,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def own_server(tmp_path) -> Iterator[Server]:
    """A dashboard whose data folder starts empty and writable (the real data is never written to)."""
    data_dir, runs_dir, log_path = (tmp_path / "data").resolve(), tmp_path / "runs", tmp_path / "streamlit.log"
    data_dir.mkdir()
    with serving(data_dir, runs_dir, log_path) as url:
        yield Server(url, runs_dir, False, log_path, data_dir)


def letters_zip(tmp_path) -> Path:
    folder = letter_folder(tmp_path)
    target = tmp_path / "letters.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*.png")):
            zf.write(path, path.relative_to(folder.parent))
    return target


def test_upload_a_dataset_switch_to_it_train_and_see_its_classes(own_server, chromium, shots, tmp_path):
    upload = letters_zip(tmp_path)
    with browsing(chromium, own_server, tmp_path) as page:
        page.goto(f"{own_server.url}/data")
        page.get_by_role("heading", name="Data: MNIST", exact=True, level=1).wait_for()
        settle(page)
        page.get_by_text("Import your own dataset", exact=False).first.click()
        box = page.locator(".st-key-import_name input")
        box.fill("letters")
        box.press("Enter")
        settle(page)
        page.locator(".st-key-import_train input[type='file']").set_input_files(str(upload))
        page.get_by_text("letters.zip").first.wait_for()
        settle(page)
        page.locator(".st-key-import_go button").click()
        page.get_by_text("Imported letters:").wait_for(timeout=120_000)
        settle(page)
        assert_clean(page)
        assert page.get_by_text("resized 1,040 images of 32×32 to 28×28", exact=False).count() == 1
        shot(page, shots / "data_import.png")
        page.locator(".st-key-import_use button").click()
        page.get_by_role("heading", name="Data: letters", exact=True, level=1).wait_for()
        page.get_by_text("Samples").first.wait_for()
        settle(page)
        assert_clean(page)

        visit(page, "Train", "Train", "Start training")
        set_number(page, "cfg_epochs", 10)
        page.locator(".st-key-start button").first.click()
        page.get_by_text("Finished: test accuracy").wait_for(timeout=RUN_S * 1000)
        (run,) = poll(lambda: [r for r in runs(own_server.runs_dir) if r.get("status") == "finished"], "the run", 10)
        assert run["dataset"] == "letters" and run["classes"] == list(LETTERS)

        visit(page, "Results", "Results", "Test accuracy")
        chart = page.locator(".st-key-per_class")
        for letter in ("A", "M", "Z"):  # the per-class bars are labelled with the dataset's own names
            assert chart.locator("g.xtick text", has_text=letter).count() >= 1, letter
        shot(page, shots / "results_letters.png")
