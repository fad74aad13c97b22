"""Plotly figure builders with one colour per class everywhere (they read well on light and dark)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

CLASS_COLORS = ("#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B",
                "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",  # Tableau 10: class c ↔ colour c
                *qualitative.Alphabet, *qualitative.Dark24)  # up to 60 classes apart
SPLIT_COLORS = {"train": "#6366F1", "val": "#F59E0B", "test": "#10B981"}
RUN_COLORS = ("#6366F1", "#F97316", "#14B8A6", "#EC4899", "#84CC16", "#0EA5E9", "#A855F7", "#EAB308")
GOOD, BAD = "#22A05A", "#E0474C"  # correct / wrong predictions
# The toggle every page that draws accuracy offers: `st.toggle(ZOOM_LABEL, key=..., help=ZOOM_HELP)` → `zoom=`.
ZOOM_LABEL = "Zoom accuracy axis"
ZOOM_HELP = ("Off: accuracy on 0–100% with the chance line, so a flat run looks flat and runs compare honestly. "
             "On: the axis fits the data to show small differences (the title says 'zoomed').")


def class_color(c: int) -> str:
    return CLASS_COLORS[c % len(CLASS_COLORS)]


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def style(fig: go.Figure, title: str | None = None, height: int = 340) -> go.Figure:
    """The house layout: a title, a height, tight margins and the legend on top."""
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=48 if title else 16, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
                      hovermode="x unified")
    return fig


def _rows(history) -> pd.DataFrame:
    return history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))


def chance_line(fig: go.Figure, chance: float) -> go.Figure:
    """A dashed line at the accuracy of guessing (1 / classes), so a flat run reads as what it is."""
    return fig.add_hline(y=chance, line=dict(dash="dash", width=1, color="rgba(128,128,128,.8)"),
                         annotation_text=f"chance ({chance:.0%})", annotation_position="bottom right",
                         annotation_font=dict(size=11, color="rgba(128,128,128,1)"))


def _chance_if_shown(fig: go.Figure, chance: float | None) -> None:
    low = fig.layout.yaxis.range[0] if fig.layout.yaxis.range else 0
    if chance is not None and chance >= low:  # a zoomed axis may start above it
        chance_line(fig, chance)


def accuracy_axis(fig: go.Figure, values: Sequence[float], zoom: bool = False) -> str:
    """Fix a fraction axis to 0–100% (a 9.6→10.6% wiggle stays flat); `zoom` fits the data. Returns ' (zoomed)' or ''."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    if zoom and finite:
        low, high = min(finite), max(finite)
        pad = max(0.01, (high - low) * 0.1)  # never a span below 2 points: noise must not look like a trend
        fig.update_yaxes(range=[max(0.0, low - pad), min(1.0, high + pad)])
        return " (zoomed)"
    fig.update_yaxes(range=[0, 1])
    return ""


def _column_values(rows: pd.DataFrame, columns: Sequence[str]) -> list[float]:
    return [v for c in columns if c in rows for v in rows[c].dropna().tolist()]


def lr_changes(rows: pd.DataFrame) -> list[dict]:
    """The learning-rate changes recorded in a history's rows (`lr_changes` of each epoch), in order."""
    if "lr_changes" not in rows:
        return []
    return [c for cell in rows["lr_changes"] if isinstance(cell, (list, tuple)) for c in cell
            if isinstance(c, dict) and isinstance(c.get("at"), (int, float)) and isinstance(c.get("lr"), (int, float))]


def curves(history, epochs: int | None = None, trace: Sequence[tuple[float, float]] = (), *, classes: int = 10,
           label_smoothing: float = 0.0, zoom: bool = False) -> tuple[go.Figure, go.Figure]:
    """(loss, accuracy) figures over epochs; `trace` adds the running training loss within epochs.

    Accuracy is drawn on 0–100% with the chance level (1 / `classes`) unless `zoom`; a run trained with
    `label_smoothing` gets a note on its loss chart, because its train loss includes the smoothing term.
    """
    rows = _rows(history)
    loss, acc = go.Figure(), go.Figure()
    if len(trace):
        xs, ys = zip(*trace, strict=False)
        loss.add_scatter(x=xs, y=ys, name="train (running)", mode="lines",
                         line=dict(color=SPLIT_COLORS["train"], width=1, dash="dot"), opacity=0.6)
    for split in ("train", "val", "test"):
        for fig, column in ((loss, f"{split}_loss"), (acc, f"{split}_accuracy")):
            if column in rows and rows[column].notna().any():
                fig.add_scatter(x=rows["epoch"], y=rows[column], name=split, mode="lines+markers",
                                line=dict(color=SPLIT_COLORS[split], width=2.5), cliponaxis=False)
    span = [0, max(epochs or 0, int(rows["epoch"].max()) if "epoch" in rows and len(rows) else 1, 1) + 0.05]
    for fig in (loss, acc):
        fig.update_xaxes(title="epoch", range=span, rangemode="tozero", dtick=1 if span[1] <= 20 else None)
    acc.update_yaxes(tickformat=".0%" if not zoom else ".1%", title="accuracy")
    zoomed = accuracy_axis(acc, _column_values(rows, [f"{s}_accuracy" for s in ("train", "val", "test")]), zoom)
    _chance_if_shown(acc, 1 / max(1, classes))
    loss.update_yaxes(title="loss")
    for change in lr_changes(rows):  # a learning rate set while it trained (the live view's control)
        for fig in (loss, acc):
            fig.add_vline(x=change["at"], line=dict(color="#F59E0B", width=1.5, dash="dash"),
                          annotation_text=f"lr → {change['lr']:g}", annotation_position="top left",
                          annotation_font=dict(size=11, color="#B45309"))
    if label_smoothing > 0:
        loss.add_annotation(text=f"train loss includes label smoothing {label_smoothing:g}, so it sits above "
                                 "test loss;<br>compare the test curves (or accuracy) instead",
                            xref="paper", yref="paper", x=1, y=1, xanchor="right", yanchor="top", showarrow=False,
                            align="right", font=dict(size=11), bgcolor="rgba(128,128,128,.12)")
    return style(loss, "Loss"), style(acc, "Accuracy" + zoomed)


def per_class_bar(accuracy: Sequence[float], classes: Sequence[str], title: str = "Accuracy per class", *,
                  zoom: bool = False) -> go.Figure:
    """One bar per class on 0–100% with the chance level; `zoom` fits the axis to the bars (and says so)."""
    fig = go.Figure(go.Bar(x=list(classes), y=list(accuracy), marker_color=[class_color(i) for i in range(len(classes))],
                           text=[f"{a:.1%}" for a in accuracy], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    zoomed = accuracy_axis(fig, accuracy, zoom)
    _chance_if_shown(fig, 1 / max(1, len(classes)))
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category")
    return style(fig, title + zoomed, 300).update_layout(hovermode="closest", showlegend=False, margin=dict(t=36))


def confusion_heatmap(confusion: np.ndarray, classes: Sequence[str], *,
                      selected: tuple[int, int] | None = None) -> go.Figure:
    """Counts printed in each cell; colour on a log scale so the mistakes stand out next to the diagonal.

    Plotly heat maps cannot be selected by a click, so an invisible marker sits on every cell centre
    (trace 1, customdata [true, predicted]): with `st.plotly_chart(on_select=...)` a click selects it.
    `selected` outlines that (true, predicted) cell.
    """
    names = list(classes)
    n = len(names)
    fig = go.Figure(go.Heatmap(z=np.log1p(confusion), x=names, y=names, text=confusion, texttemplate="%{text}",
                               colorscale="Blues", showscale=False, hoverinfo="skip"))
    true, pred = np.divmod(np.arange(n * n), n)  # row-major: cell k is (k // n, k % n)
    counts = np.asarray(confusion).reshape(-1)
    fig.add_scatter(x=[names[p] for p in pred], y=[names[t] for t in true], mode="markers", name="cells",
                    customdata=np.stack([true, pred, counts], axis=1), showlegend=False,
                    marker=dict(symbol="square", size=max(12, 360 // max(1, n)), color="rgba(0,0,0,0)"),
                    selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
                    hovertemplate="true %{y} → predicted %{x}: %{customdata[2]:,} images<extra></extra>")
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5, xref="x", yref="y",
                      line=dict(color=BAD if t != p else GOOD, width=3))
    # Category axes: cell k sits at position k, so the outline's numeric corners land on the cell's edges.
    fig.update_xaxes(title="predicted", type="category", side="top", fixedrange=True)
    fig.update_yaxes(title="true", type="category", autorange="reversed", fixedrange=True)
    return style(fig, None, 520).update_layout(hovermode="closest", dragmode=False)


def pixel_heatmap(image: np.ndarray, title: str) -> go.Figure:
    """One 28×28 image with every pixel's value (0..255) printed on it."""
    image = np.asarray(image)
    fig = go.Figure(go.Heatmap(z=image, text=image, texttemplate="%{text}", textfont=dict(size=8),
                               colorscale="gray", zmin=0, zmax=255, showscale=False,
                               hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, dtick=4)
    fig.update_xaxes(constrain="domain", showgrid=False, dtick=4, side="top")
    return style(fig, title, 760).update_layout(hovermode="closest")


def class_distribution(counts: dict[str, Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """Images per class, one panel per split."""
    fig = make_subplots(rows=1, cols=len(counts), subplot_titles=[f"{k} ({sum(v):,} images)" for k, v in counts.items()])
    for col, values in enumerate(counts.values(), start=1):
        fig.add_bar(x=list(classes), y=list(values), marker_color=[class_color(i) for i in range(len(classes))], showlegend=False,
                    hovertemplate="%{x}: %{y:,} images<extra></extra>", row=1, col=col)
    fig.update_xaxes(type="category")
    return style(fig, None, 320).update_layout(hovermode="closest", margin=dict(t=40))


def image_panels(images: np.ndarray, titles: Sequence[str], cols: int, colorscale="gray", zmid=None,
                 title_colors: Sequence[str] | None = None, height: int | None = None,
                 zlimit: float | None = None) -> go.Figure:
    """Small heat-map panels (mean images, first-layer weights), `cols` per row."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles), horizontal_spacing=0.01,
                        vertical_spacing=0.08 if rows < 4 else 0.04)
    for i, image in enumerate(images):
        kw = dict(zmid=zmid) if zmid is not None else dict(zmin=0, zmax=255)
        if zlimit:  # one symmetric scale for every panel, so units compare
            kw = dict(zmin=-zlimit, zmax=zlimit)
        fig.add_heatmap(z=image, colorscale=colorscale, showscale=False, row=i // cols + 1, col=i % cols + 1,
                        hovertemplate="%{z:.2f}<extra></extra>", **kw)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for i in range(1, n + 1):  # square pixels: each panel's y axis follows its own x axis
        fig.update_yaxes(scaleanchor=f"x{i if i > 1 else ''}", row=(i - 1) // cols + 1, col=(i - 1) % cols + 1)
    for i, annotation in enumerate(fig.layout.annotations):
        annotation.font = dict(size=13, color=title_colors[i] if title_colors else None)
    return style(fig, None, height or 150 * rows + 40).update_layout(hovermode="closest", margin=dict(t=30))


def compare_curves(histories: dict[str, pd.DataFrame], column: str, title: str, percent: bool = False, *,
                   chance: float | None = 0.1, zoom: bool = False) -> go.Figure:
    """One line per run for `column` (e.g. 'test_accuracy') over epochs.

    A `percent` (accuracy) chart is drawn on 0–100% with a dashed line at `chance` unless `zoom`.
    """
    fig = go.Figure()
    for i, (label, rows) in enumerate(histories.items()):
        if column in rows and rows[column].notna().any():
            fig.add_scatter(x=rows["epoch"], y=rows[column], name=label, mode="lines+markers",
                            line=dict(color=run_color(i), width=2.5), cliponaxis=False)
        for change in lr_changes(rows):  # a learning rate set while it trained, in the run's colour
            fig.add_vline(x=change["at"], line=dict(color=run_color(i), width=1.2, dash="dash"),
                          annotation_text=f"lr → {change['lr']:g}", annotation_position="top left",
                          annotation_font=dict(size=10, color=run_color(i)))
    longest = max((int(rows["epoch"].max()) for rows in histories.values() if "epoch" in rows and len(rows)), default=1)
    fig.update_xaxes(title="epoch", dtick=1 if longest <= 20 else None)
    if percent:
        fig.update_yaxes(tickformat=".1%" if zoom else ".0%")
        title += accuracy_axis(fig, [v for rows in histories.values() for v in _column_values(rows, [column])], zoom)
        _chance_if_shown(fig, chance)
    return style(fig, title, 360)


def compare_per_class(per_class: dict[str, Sequence[float]], classes: Sequence[str], *,
                      zoom: bool = False) -> go.Figure:
    """Side-by-side bars: per-class test accuracy of each run, on 0–100% unless `zoom`."""
    fig = go.Figure()
    for i, (label, accuracy) in enumerate(per_class.items()):
        fig.add_bar(x=list(classes), y=list(accuracy), name=label, marker_color=run_color(i),
                    hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>")
    zoomed = accuracy_axis(fig, [a for values in per_class.values() for a in values], zoom)
    _chance_if_shown(fig, 1 / max(1, len(classes)))
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category")
    return style(fig, "Test accuracy per class" + zoomed, 380).update_layout(barmode="group", hovermode="closest")


def probability_bars(probabilities: Sequence[float], classes: Sequence[str], title: str | None = None) -> go.Figure:
    """One horizontal bar per class, the predicted class in its colour and the rest grey."""
    top = int(np.argmax(probabilities))
    colors = [class_color(i) if i == top else "rgba(128,128,128,.45)" for i in range(len(classes))]
    fig = go.Figure(go.Bar(x=list(probabilities), y=list(classes), orientation="h", marker_color=colors,
                           text=[f"{p:.1%}" for p in probabilities], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    fig.update_xaxes(range=[0, 1.12], tickformat=".0%")
    fig.update_yaxes(type="category", autorange="reversed")
    return style(fig, title, 340).update_layout(hovermode="closest", showlegend=False, margin=dict(t=36 if title else 8))


def signed_heatmap(image: np.ndarray, title: str | None = None, height: int = 300) -> go.Figure:
    """A 28×28 map of signed values (saliency, weights) on a diverging scale centred at zero."""
    image = np.asarray(image, dtype=float)
    limit = float(np.abs(image).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=image, colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit, showscale=False,
                               hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", visible=False)
    fig.update_xaxes(constrain="domain", visible=False)
    return style(fig, title, height).update_layout(hovermode="closest", margin=dict(t=36 if title else 8))
