"""Your own data in Chromium: a .zip of 26 letter folders uploaded on the Data page, switched to, trained on,
and its class names on Results. With MNISTLAB_SCREENSHOTS=1 the README's pictures of it are saved."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import poll, set_number, settle, shot
from test_app_letters import LETTERS, letter_folder
from test_browser import (
    RUN_S,
    START_S,
    Server,
    assert_clean,
    browsing,
    free_port,
    healthy,
    runs,
    visit,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.browser


@pytest.fixture
def own_server(tmp_path) -> Iterator[Server]:
    """A dashboard whose data folder starts empty and writable (the real data is never written to)."""
    data_dir, runs_dir = (tmp_path / "data").resolve(), tmp_path / "runs"
    data_dir.mkdir()
    log_path, port = tmp_path / "streamlit.log", free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MNISTLAB_DATA_DIR": str(data_dir), "MNISTLAB_RUNS_DIR": str(runs_dir),
           "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                    "--server.address", "127.0.0.1", "--server.port", str(port)],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer within {START_S} s:\n" + log_path.read_text()[-3000:])
            time.sleep(0.3)
        yield Server(url, runs_dir, False, log_path, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
