"""The dashboard's pure helpers: controls ↔ config round trips, figure builders, image grids."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.presets import PRESETS
from mnistlab.train.config import AUGMENT_NAMES, Augment, TrainConfig
from ui import charts, images, widgets


@pytest.mark.parametrize("name", [*PRESETS, "defaults"])
def test_every_preset_round_trips_through_the_controls(name):
    config = PRESETS[name].config if name in PRESETS else TrainConfig()
    assert widgets.build_config(widgets.widget_values(config), config.dataset) == config


def test_controls_offer_every_choice_the_presets_need():
    for preset in PRESETS.values():
        assert preset.config.lr in widgets.LR_OPTIONS and preset.config.batch_size in widgets.BATCH_OPTIONS
    assert widgets.LR_OPTIONS == tuple(sorted(widgets.LR_OPTIONS)) and 1e-5 in widgets.LR_OPTIONS


def test_augmentation_recipes_are_recognised():
    for name, recipe in AUGMENT_NAMES.items():
        assert widgets.recipe_name(recipe) == name
    assert widgets.recipe_name(Augment(rotation=3)) == "custom"
    assert widgets.recipe_name(Augment(hflip=True, concat_original=True)) == "flip"


def test_config_diff_names_what_changed():
    base = PRESETS["fast"].config
    assert widgets.config_diff(base, base) == []
    assert widgets.config_diff(base.with_(epochs=7, hidden=(64,)), base) == [
        f"hidden {list(base.model.hidden)} → [64]", f"epochs {base.epochs} → 7"]


def test_curves_grow_with_the_history_and_keep_one_colour_per_split():
    rows = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.5 + e / 10, "val_loss": None,
             "val_accuracy": None, "test_loss": 1.1 / e, "test_accuracy": 0.5 + e / 11} for e in (1, 2)]
    loss, acc = charts.curves(rows, epochs=5, trace=[(0.5, 2.0), (1.0, 1.0)])
    assert [t.name for t in loss.data] == ["train (running)", "train", "test"]
    assert [t.name for t in acc.data] == ["train", "test"]  # no validation split: no val line
    assert loss.layout.xaxis.range[1] > 5 and acc.data[1].line.color == charts.SPLIT_COLORS["test"]
    empty_loss, empty_acc = charts.curves([], epochs=3)
    assert not empty_loss.data and tuple(empty_acc.layout.yaxis.range) == (0, 1)


def test_class_charts_use_the_class_colours():
    classes = tuple("abcdefghij")
    bar = charts.per_class_bar([0.9] * 10, classes)
    assert list(bar.data[0].marker.color) == list(charts.CLASS_COLORS[:10])
    confusion = np.diag(np.arange(10)) + 1
    heat = charts.confusion_heatmap(confusion, classes)
    assert np.array_equal(np.asarray(heat.data[0].text), confusion) and heat.layout.yaxis.autorange == "reversed"
    panels = charts.image_panels(np.zeros((10, 28, 28)), classes, cols=5, title_colors=charts.CLASS_COLORS)
    assert len(panels.data) == 10 and panels.layout.annotations[3].font.color == charts.CLASS_COLORS[3]


def test_image_grid_is_one_html_block_with_escaped_captions():
    cards = [images.Card(np.full((28, 28), 255, np.uint8), "<T-shirt>", charts.GOOD, "#1",
                         [("Shirt", 0.7, charts.class_color(6))]),
             images.Card(np.zeros((28, 28), np.float32), "zero", swatch=charts.class_color(0))]
    html = images.grid_html(cards)
    assert html.count('class="ml-card"') == 2 and html.count("data:image/png;base64,") == 2
    assert "&lt;T-shirt&gt;" in html and "<T-shirt>" not in html and "width:70.0%" in html
    assert "--ml-lab:4.2em" in html  # clothes names get a wider label column
