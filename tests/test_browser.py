"""The real app end to end: `streamlit run app.py` driven in Debian's headless Chromium by Playwright.

One server for the session (the real datasets when ../shared/data has them, else the tiny synthetic
ones) and one test that walks a user's path: every page, a short run watched live, a longer run
stopped, the first run's accuracy on Results. Every page is saved as a full-page screenshot: into
docs/screenshots/ with MNISTLAB_SCREENSHOTS=1 (how the README's pictures are made, on the real
data), else into the test's temporary folder so a test run never changes the repository.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_fixtures import SHOTS
from browser_helpers import (
    HEIGHT,
    WIDTH,
    assert_clean,
    choose,
    poll,
    position,
    press,
    progress,
    set_number,
    settle,
    shot,
    visit,
)

ROOT = Path(__file__).resolve().parents[1]
START_S = 90  # the server's start (imports torch), on a busy 2-core machine
RUN_S = 180  # the first run, however loaded the machine

# Changes to the `fast` preset (784-1024-10, Adam, one-cycle, batch 128) for the two runs, by data: the
# first run finishes in seconds on a 2-core CPU (and is a few live frames long there); the second is
# long on any machine and is stopped. The README's pictures train on all 60,000 images.
RUNS = {  # (first run, second run)
    "real": ({"cfg_width_0": 64, "cfg_train_subset": 6000, "cfg_epochs": 2},  # 47 steps per epoch
             {"cfg_train_subset": 0, "cfg_epochs": 1000}),
    "tiny": ({"cfg_width_0": 32, "cfg_train_subset": 0, "cfg_epochs": 30},  # 600 synthetic images, 5 steps/epoch
             {"cfg_width_0": 1024, "cfg_epochs": 1000}),
    "readme": ({"cfg_width_0": 256, "cfg_train_subset": 0, "cfg_epochs": 3},
               {"cfg_epochs": 50}),  # stopped in its second epoch: Compare draws two curves
}

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Server:
    """A running dashboard: its address, where its runs go, and whether it serves the real data."""

    url: str
    runs_dir: Path
    real_data: bool
    log: Path  # the server's output, shown when the test fails
    data_dir: Path


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether Streamlit's health endpoint answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def server(request, tmp_path_factory) -> Iterator[Server]:
    """`streamlit run app.py --server.headless true` on a free port, stopped (terminate, then kill) at the end."""
    try:
        data_dir, real = request.getfixturevalue("real_data_dir"), True
    except pytest.skip.Exception:
        data_dir, real = request.getfixturevalue("tiny_data_dir"), False
    data_dir = Path(data_dir).resolve()  # shown in the sidebar (and the README's pictures)
    runs_dir = tmp_path_factory.mktemp("browser-runs")
    log_path = runs_dir.parent / "streamlit.log"
    with serving(data_dir, runs_dir, log_path) as url:
        yield Server(url, runs_dir, real, log_path, data_dir)


@contextmanager
def serving(data_dir: Path, runs_dir: Path, log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port with these folders, its output in `log_path`; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MNISTLAB_DATA_DIR": str(data_dir), "MNISTLAB_RUNS_DIR": str(runs_dir),
           "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer {url}/_stcore/health within {START_S} s:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def runs(runs_dir: Path) -> list[dict]:
    """run.json of every stored run, oldest first."""
    found = [json.loads(p.read_text()) for p in runs_dir.glob("*/run.json")]
    return sorted(found, key=lambda r: r["created"])


@contextmanager
def browsing(chromium, server: Server, tmp_path: Path) -> Iterator:
    """A fresh light-themed page; on a failure, a screenshot of it and the server's log are kept."""
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    except BaseException:
        try:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"the page when the test failed: {tmp_path / 'failure.png'}")
        finally:
            print("server log:\n" + server.log.read_text(errors="replace")[-4000:])
        raise
    finally:
        context.close()


# -- the test -----------------------------------------------------------------------------------------

def test_every_page_a_live_run_a_stopped_run_and_its_results(server, chromium, shots, tmp_path):
    """Every page, a run watched live, a second run stopped, the first run's accuracy on Results."""
    readme = shots == SHOTS
    if readme and not server.real_data:
        pytest.fail("MNISTLAB_SCREENSHOTS=1 makes the README's pictures, which show the real MNIST: "
                    "put it in ../shared/data (or set MNISTLAB_TEST_DATA)")
    with browsing(chromium, server, tmp_path) as page:
        page.goto(server.url)
        page.get_by_role("heading", name="mnistlab", exact=True, level=1).wait_for()
        page.get_by_text("Latest runs", exact=True).wait_for()
        settle(page)
        assert_clean(page)
        assert page.get_by_text("No runs yet.").count() == 1

        visit(page, "Data", "Data: MNIST", "Samples")
        assert page.get_by_text("images match").count() == 1
        shot(page, shots / "data.png")

        # -- a short run, watched live --------------------------------------------------------------
        visit(page, "Train", "Train", "Start training")
        short, long = RUNS["readme" if readme else "real" if server.real_data else "tiny"]
        for key, value in short.items():
            set_number(page, key, value)
        page.locator(".st-key-start button").first.click()
        first = poll(lambda: progress(page), "the live view's progress bar")
        if first[0] < 1:  # else it ended before the first frame (a fast machine): the second run is watched
            poll(lambda: (now := progress(page)) and now[0] > first[0], f"progress beyond {first[1]!r}", RUN_S)
        # The live picture once an epoch has ended (a point on the accuracy curve), if the run lasts that long.
        done = page.get_by_text("Finished: test accuracy")
        poll(lambda: done.count() or ((now := position(page)) and now[0] >= 2), "the second epoch", RUN_S)
        assert not (readme and done.count()), "the README's run ended before its live picture"
        shot(page, shots / "train_live.png", idle=False)
        done.wait_for(timeout=RUN_S * 1000)
        settle(page)
        assert_clean(page)
        first_run = poll(lambda: [r for r in runs(server.runs_dir) if r.get("status") == "finished"],
                         "the finished run in the store", 10)[0]
        accuracy = f"{first_run['test_accuracy']:.2%}"
        assert first_run["test_accuracy"] > 0.5, first_run  # well above chance (10%)
        assert accuracy in done.inner_text()
        shot(page, shots / "train.png")

        # -- a long run, watched, then stopped -------------------------------------------------------
        for key, value in long.items():
            set_number(page, key, value)
        page.locator(".st-key-start button").first.click()
        epochs = long["cfg_epochs"]
        first = poll(lambda: (now := position(page)) and now[1] == epochs and now[2] >= 1 and now,
                     "the second run's first steps", RUN_S)
        poll(lambda: (now := position(page)) and now[1] == epochs and (now[0], now[2]) > first[::2],
             f"progress beyond epoch {first[0]}, step {first[2]}", RUN_S)
        if readme:
            poll(lambda: (now := position(page)) and now[0] >= 2, "the second run's second epoch", RUN_S)
        # Press Stop until the stopped state shows: a fragment redraw can replace (or for a moment
        # duplicate) the button under the click, and Stop on a stopping job does nothing.
        stopped = page.get_by_text("Stopped at epoch")
        poll(lambda: stopped.count() or press(page.locator(".st-key-stop button")), "the stopped state", 60, 1.0)
        second_run = poll(lambda: [r for r in runs(server.runs_dir) if r.get("status") == "stopped"],
                          "the stopped run in the store", 30)[0]
        assert second_run["run_id"] != first_run["run_id"]
        settle(page)
        assert_clean(page)

        # -- Results: the first run's accuracy ------------------------------------------------------
        visit(page, "Results", "Results", "Test accuracy")
        page.get_by_text("Stopped before its last epoch").wait_for()  # the newest run comes first
        choose(page, "run", "· finished ·")
        poll(lambda: f"run={first_run['run_id']}" in page.url, "the run's id in the address (a link to it)", 10)
        assert_clean(page)
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy")
        assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == accuracy
        shot(page, shots / "results.png")

        visit(page, "Compare", "Compare", "Runs to compare")
        page.locator(".st-key-compare_accuracy").wait_for()
        settle(page)
        shot(page, shots / "compare.png")

        visit(page, "Home", "mnistlab", "Latest runs")
        page.locator('[data-testid="stDataFrame"]').wait_for()
        shot(page, shots / "home.png")
    for name in ("home", "data", "train", "train_live", "results", "compare"):
        assert (shots / f"{name}.png").stat().st_size > 10_000, name


# Runs for the Draw and Inspect walk, by data: a `fast`-like net to draw for, and the vanishing-gradient pair.
TEACHING = {
    "tiny": ({"hidden": (32,), "epochs": 10}, {"epochs": 3}),
    "real": ({"hidden": (128,), "train_subset": 12_000, "epochs": 2}, {"epochs": 5}),
    "readme": ({}, {"epochs": 30}),  # the `fast` preset as it is; seed003 for 30 of its 100 epochs
}


def stroke(page, key: str, points: list[tuple[float, float]]) -> None:
    """Draw one stroke through `points` (fractions of the canvas) with the mouse on canvas `key`."""
    canvas = page.locator(f".st-key-{key} canvas").last  # fabric.js listens on its upper canvas
    canvas.wait_for()
    box = canvas.bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for a, b in zip(xy, xy[1:]):
        for t in (0.25, 0.5, 0.75, 1.0):
            page.mouse.move(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    page.mouse.up()


def test_draw_a_digit_and_inspect_the_vanishing_gradients(server, chromium, shots, tmp_path):
    """Draw a 1 on the canvas and get a prediction; open Inspect on a 4×50 sigmoid run and read its diagnosis."""
    from mnistlab.experiment import run_experiment
    from mnistlab.presets import get_preset
    from mnistlab.runs.store import RunStore

    readme = shots == SHOTS
    store = RunStore(server.runs_dir)
    fast, vanishing = TEACHING["readme" if readme else "real" if server.real_data else "tiny"]
    drawn = run_experiment(get_preset("fast").config.with_(device="cpu", **fast), preset="fast", store=store,
                           data_dir=server.data_dir).run_id
    sigmoid = run_experiment(get_preset("seed003-vanishing").config.with_(device="cpu", **vanishing),
                             preset="seed003-vanishing", store=store, data_dir=server.data_dir).run_id
    with browsing(chromium, server, tmp_path) as page:
        page.goto(f"{server.url}/draw?run={drawn}")
        page.get_by_role("heading", name="Draw", exact=True, level=1).wait_for()
        page.get_by_text("Draw a digit in the black square").wait_for()
        settle(page)
        stroke(page, "canvas", [(0.5, 0.15), (0.52, 0.5), (0.54, 0.85)])  # a 1
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Prediction")
        metric.wait_for()
        settle(page)
        assert_clean(page)
        answer = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
        if server.real_data:
            assert answer == "1", f"a vertical stroke read as {answer!r}"
        page.get_by_text("What the network sees", exact=True).wait_for()
        shot(page, shots / "draw.png")

        page.goto(f"{server.url}/inspect?run={sigmoid}")
        page.get_by_role("heading", name="Inspect", exact=True, level=1).wait_for()
        page.get_by_text(re.compile(r"Vanishing gradients: layer \d gets 1/")).wait_for()  # raw pixels: layer 2
        page.locator(".st-key-gradflow").wait_for()
        settle(page)
        assert_clean(page)
        shot(page, shots / "inspect.png")
        page.get_by_role("tab", name="Diagnose").click()
        page.get_by_text("Try it: activation sigmoid → relu").first.wait_for()
        settle(page)
        assert_clean(page)
        shot(page, shots / "inspect_diagnose.png")
        page.get_by_role("tab", name="Weights").click()
        page.locator(".st-key-weights_grid").wait_for()
        settle(page)
        assert_clean(page)
        page.goto(f"{server.url}/inspect?run={drawn}&tab=Representations")  # the tab is kept in the URL
        page.locator(".st-key-projection").wait_for()
        page.get_by_text("Where do the classes become separable?").wait_for()
        settle(page)
        assert_clean(page)
        shot(page, shots / "inspect_representations.png")


# A `fast` run at learning rate 10 from a link (its settings in the URL), by data: long enough for its owner to
# pause it while a classmate's browser opens it, ending at chance ("did not learn").
STALLED = {
    "tiny": "preset=fast&lr=10&hidden=64&epochs=300",
    "real": "preset=fast&lr=10&hidden=256&train_subset=12000&epochs=10",
    "readme": "preset=fast&lr=10&epochs=5",
}


def test_a_run_that_does_not_learn_its_fix_and_a_classmate_watching(server, chromium, shots, tmp_path):
    """fast at lr 10 opened from a link and started; a second browser watches that job (and cannot stop it);
    both see "did not learn"; Inspect's diagnosis puts the learning rate first and its fix, like the twin
    button, lands on Train once, without an error."""
    import re
    from urllib.parse import parse_qs

    readme = shots == SHOTS
    query = STALLED["readme" if readme else "real" if server.real_data else "tiny"]
    did_not_learn = re.compile("did not learn", re.IGNORECASE)
    (tmp_path / "classmate").mkdir()
    with browsing(chromium, server, tmp_path) as page, browsing(chromium, server, tmp_path / "classmate") as other:
        page.goto(f"{server.url}/train?{query}")
        page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
        settle(page)
        assert_clean(page)
        assert page.locator(".st-key-cfg_lr").get_by_text("10", exact=True).count()  # the link's lr is shown
        page.locator(".st-key-start button").first.click()
        # page.url misses history.replaceState (how Streamlit writes the address): read the page's own location.
        job = poll(lambda: parse_qs(page.evaluate("location.search").lstrip("?")).get("job"),
                   "the job's id in the address", 30)[0]

        # The owner holds the job while a classmate opens it: a short run can end before a second browser loads.
        resume = page.locator(".st-key-resume button")
        poll(lambda: resume.count() or press(page.locator(".st-key-pause button")), "the owner's Resume button", 30, 1.0)

        other.goto(f"{server.url}/train?job={job}")  # a classmate given the job's address
        other.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
        poll(lambda: progress(other), "the classmate's live view of the held job", RUN_S)
        other.get_by_text("only its owner can stop it").first.wait_for()
        for control in ("stop", "pause", "resume", "steer_lr"):  # watching only: no Stop, no steering
            assert other.locator(f".st-key-{control}").count() == 0, control
        assert_clean(other)
        poll(lambda: (not resume.count()) or press(resume), "the owner's Resume to take", 30, 1.0)

        page.get_by_text(did_not_learn).first.wait_for(timeout=RUN_S * 1000)
        other.get_by_text(did_not_learn).first.wait_for(timeout=60_000)  # the watcher follows it to its end
        settle(page)
        assert_clean(page)
        shot(page, shots / "train_stalled.png")
        stalled = poll(lambda: [r for r in runs(server.runs_dir) if r.get("status") == "stalled"
                                and r.get("preset") == "fast"],  # not the other tests' seed003-vanishing
                       "the stalled run in the store", 30)[0]
        assert "learning rate of 10" in stalled["message"], stalled["message"]

        page.goto(f"{server.url}/inspect?run={stalled['run_id']}&tab=Diagnose")
        page.get_by_role("heading", name="Inspect", exact=True, level=1).wait_for()
        fix = page.get_by_role("button", name=re.compile(r"Try it: lr 10(\.0)? → "))
        fix.first.wait_for()
        settle(page)
        assert_clean(page)
        shot(page, shots / "inspect_stalled.png")
        fix.first.click()
        page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
        settle(page)
        assert_clean(page)
        address = poll(lambda: (q := page.evaluate("location.search")) and "lr=" in q and q, "the fix in the address", 10)
        assert "lr=0.001" in address, address  # Train shows the fix, ready to start

        before = len(runs(server.runs_dir))
        page.goto(f"{server.url}/inspect?run={stalled['run_id']}&tab=Side+by+side")
        twin = page.get_by_role("button", name=re.compile("Train the Fashion-MNIST"))
        twin.first.wait_for()
        settle(page)
        twin.first.click()
        page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
        settle(page)
        assert_clean(page)
        poll(lambda: len(runs(server.runs_dir)) > before, "the twin's run", RUN_S)
        made = [r for r in runs(server.runs_dir)[before:] if r.get("dataset") == "fashion-mnist"]
        assert len(made) == 1, made  # queued once
