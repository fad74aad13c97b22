"""A 26-class dataset of letters, drawn from a font by the test, imported as a folder of PNGs: it trains, and
every page shows its 26 class names (Data, Results, Inspect, Draw, Compare)."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from test_app import app

from mnistlab.cli.main import main
from mnistlab.data.datasets import dataset_info
from mnistlab.runs.store import RunStore

pytestmark = pytest.mark.usefixtures("app_caches")
LETTERS = tuple(string.ascii_uppercase)


def letter_folder(root, per_class: int = 40):
    """root/letters/<A..Z>/<k>.png: each letter drawn white on black at jittered places and sizes."""
    rng = np.random.default_rng(0)
    folder = root / "letters"
    for letter in LETTERS:
        (folder / letter).mkdir(parents=True)
        for k in range(per_class):
            image = Image.new("L", (32, 32), 0)
            font = ImageFont.load_default(size=int(rng.integers(18, 24)))
            ImageDraw.Draw(image).text((int(rng.integers(3, 9)), int(rng.integers(0, 5))), letter, fill=255,
                                       font=font)
            image.save(folder / letter / f"{k}.png")
    return folder


def charts_by_key(at) -> dict[str, dict]:
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def test_26_letters_train_and_show_their_names_everywhere(tmp_path, monkeypatch):
    data, runs = tmp_path / "data", tmp_path / "runs"
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(data))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs))
    assert main(["data", "import", "letters", "--train", str(letter_folder(tmp_path)), "--data-dir", str(data)]) == 0
    info = dataset_info("letters", data)
    assert info.classes == LETTERS and "resized" in " ".join(info.conversions)  # 32×32 glyphs → 28×28
    assert main(["train", "--preset", "fast", "--dataset", "letters", "--epochs", "10", "--data-dir", str(data),
                 "--runs-dir", str(runs)]) == 0
    (run,) = RunStore(runs).list()
    assert run.test_accuracy > 0.3  # far above the 1/26 (3.8%) of guessing

    at = app("results", {"run": run.run_id})
    figures = charts_by_key(at)
    assert tuple(figures["per_class"]["data"][0]["x"]) == LETTERS
    matrix = next(f for k, f in figures.items() if "confusion" in k)
    assert matrix["data"][0]["z"]["shape"] == "26, 26" and tuple(matrix["data"][0]["y"]) == LETTERS

    at.button_group(key="dataset").set_value("letters").run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    assert tuple(charts_by_key(at)["class_counts"]["data"][0]["x"]) == LETTERS

    for page, query in (("inspect", {"run": run.run_id}), ("draw", {"run": run.run_id}),
                        ("compare", {"runs": run.run_id})):
        at = app(page, query)
        assert not at.exception, (page, at.exception)
    at = app("draw", {"run": run.run_id})
    at.button_group(key="draw_source").set_value("Test image").run()
    bars = charts_by_key(at)["draw_probabilities"]["data"][0]
    assert LETTERS in (tuple(bars["x"]), tuple(bars["y"]))
