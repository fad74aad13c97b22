"""How much watching browsers slow a job: the dashboard trains `fast` at lr 10 (hidden 256, 12,000 images) while
N headless Chromium pages show its live view; prints each epoch's seconds from the stored run.

    PYTHONPATH=. .venv/bin/python scripts/watching_cost.py --pages 0 1 2 --epochs 10

Needs the dev packages (playwright), Debian's /usr/bin/chromium and the MNIST files in MNISTLAB_DATA_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
QUERY = "preset=fast&lr=10&hidden=256&train_subset=12000&epochs={epochs}"
DONE = ("stalled", "finished", "diverged", "failed", "stopped")


def serve(runs_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MNISTLAB_RUNS_DIR": str(runs_dir)}
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                "--server.port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the dashboard did not start")


def finished_run(runs_dir: Path) -> dict | None:
    for path in runs_dir.glob("*/run.json"):
        run = json.loads(path.read_text())
        if run.get("status") in DONE:
            return run
    return None


def measure(browser, pages: int, epochs: int) -> dict:
    """One job on a fresh server, watched by `pages` pages (0: the starting page leaves at once)."""
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder)
        process, url = serve(runs_dir)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/train?{QUERY.format(epochs=epochs)}")
            page.get_by_role("heading", name="Train", exact=True, level=1).wait_for(timeout=120_000)
            page.locator(".st-key-start button").first.click()
            job = None
            while not job:
                job = parse_qs(page.evaluate("location.search").lstrip("?")).get("job")
                time.sleep(0.2)
            watchers = [page] if pages else []
            if not pages:
                page.goto("about:blank")
            for _ in range(pages - 1):
                watchers.append(browser.new_page(viewport={"width": 1400, "height": 1000}))
                watchers[-1].goto(f"{url}/train?job={job[0]}")
            deadline = time.monotonic() + 1800
            while (run := finished_run(runs_dir)) is None and time.monotonic() < deadline:
                time.sleep(0.5)
            for watcher in {id(p): p for p in (page, *watchers)}.values():
                watcher.close()
            return {"pages": pages, "epoch_seconds": [round(s, 1) for s in (run or {}).get("epoch_seconds", [])],
                    "status": (run or {}).get("status", "timed out")}
        finally:
            process.terminate()
            process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for pages in args.pages:
            result = measure(browser, pages, args.epochs)
            seconds = sorted(result["epoch_seconds"])
            spread = f"median {seconds[len(seconds) // 2]} s, {seconds[0]}-{seconds[-1]} s" if seconds else "-"
            print(f"{pages} watching page(s): epochs {result['epoch_seconds']} ({spread}) · {result['status']}",
                  flush=True)
        browser.close()


if __name__ == "__main__":
    main()
