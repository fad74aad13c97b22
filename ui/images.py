"""Grids of small images as one HTML block: pixel-sharp digits, coloured labels, probability bars.

One `st.html` element for a whole grid is far lighter than dozens of `st.image` calls, and lets
each card carry a coloured caption and bars. Colours are fixed hues that read on light and dark.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
from PIL import Image

CSS = """
<style>
.ml-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--ml-cell),1fr));gap:10px;margin:4px 0 12px}
.ml-card{border:1px solid rgba(128,128,128,.28);border-radius:10px;padding:6px;background:rgba(128,128,128,.07);
 font-size:.78rem;line-height:1.25;min-width:0}
.ml-card img{width:100%;aspect-ratio:1;image-rendering:pixelated;border-radius:6px;display:block;background:#000}
.ml-title{font-weight:600;font-size:.86rem;margin-top:4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ml-dot{display:inline-block;width:.62em;height:.62em;border-radius:50%;margin-right:.35em;vertical-align:.06em}
.ml-note{opacity:.7;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ml-bar{display:grid;grid-template-columns:minmax(0,var(--ml-lab,1.4em)) minmax(1.5em,1fr) 2.3em;gap:4px;
 align-items:center;margin-top:2px;font-size:.7rem}
.ml-bar .ml-lab{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ml-bar .ml-track{position:relative;height:9px;border-radius:3px;background:rgba(128,128,128,.18);overflow:hidden}
.ml-bar .ml-fill{position:absolute;inset:0 auto 0 0;border-radius:3px}
.ml-bar .ml-pct{text-align:right;opacity:.8}
</style>
"""


@dataclass
class Card:
    """One image with a caption, an optional note and optional (label, probability, colour) bars."""

    image: np.ndarray  # (28, 28) uint8 0..255, or floats in [0, 1]
    title: str
    color: str | None = None  # caption colour (green/red for right/wrong)
    note: str = ""
    bars: list[tuple[str, float, str]] = field(default_factory=list)
    swatch: str | None = None  # a dot of this colour before the caption (the class colour)


def png_uri(image: np.ndarray) -> str:
    """A data: URI holding `image` as a grayscale PNG."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _card(card: Card) -> str:
    style = f' style="color:{card.color}"' if card.color else ""
    dot = f'<span class="ml-dot" style="background:{card.swatch}"></span>' if card.swatch else ""
    parts = [f'<div class="ml-card"><img src="{png_uri(card.image)}" alt="{html.escape(card.title)}">',
             f'<div class="ml-title"{style} title="{html.escape(card.title)}">{dot}{html.escape(card.title)}</div>']
    if card.note:
        parts.append(f'<div class="ml-note">{html.escape(card.note)}</div>')
    for label, p, color in card.bars:
        parts.append(f'<div class="ml-bar"><span class="ml-lab" title="{html.escape(label)}">{html.escape(label)}</span>'
                     f'<div class="ml-track"><div class="ml-fill" style="width:{100 * p:.1f}%;background:{color}">'
                     f'</div></div><span class="ml-pct">{100 * p:.0f}%</span></div>')
    parts.append("</div>")
    return "".join(parts)


def grid_html(cards: list[Card], cell_px: int = 96) -> str:
    longest = max((len(label) for card in cards for label, _, _ in card.bars), default=1)
    lab = "1.4em" if longest <= 2 else "4.2em"  # digits, or clothes names (cut with an ellipsis)
    return (CSS + f'<div class="ml-grid" style="--ml-cell:{cell_px}px;--ml-lab:{lab}">' + "".join(map(_card, cards))
            + "</div>")


def grid(cards: list[Card], cell_px: int = 96, empty: str = "No images to show.") -> None:
    """Draw `cards` as a responsive grid (or an info line when there are none)."""
    if not cards:
        st.info(empty, icon=":material/image_not_supported:")
        return
    st.html(grid_html(cards, cell_px))
