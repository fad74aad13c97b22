"""Plotly figures for the Inspect page: gradient flow, histograms, projections and probe accuracies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import class_color, run_color, style


def gradient_flow(epochs: Sequence[int], layers: Sequence[str], values: np.ndarray, title: str,
                  y_title: str) -> go.Figure:
    """One line per layer over epochs on a log axis (values: (epochs, layers), NaN where missing)."""
    fig = go.Figure()
    for j, name in enumerate(layers):
        fig.add_scatter(x=list(epochs), y=values[:, j], name=name, mode="lines+markers", line=dict(color=run_color(j)),
                        hovertemplate=f"{name}, epoch %{{x}}: %{{y:.3g}}<extra></extra>")
    fig.update_yaxes(type="log", title=y_title, exponentformat="power")
    fig.update_xaxes(title="epoch", dtick=max(1, len(epochs) // 10))
    return style(fig, title, 360)


def layer_bars(layers: Sequence[str], values: Sequence[float], title: str, y_title: str, log: bool = True) -> go.Figure:
    """One bar per layer (gradient size at one epoch), input side on the left."""
    fig = go.Figure(go.Bar(x=list(layers), y=list(values), marker_color=[run_color(j) for j in range(len(layers))],
                           hovertemplate="%{x}: %{y:.3g}<extra></extra>"))
    fig.update_yaxes(type="log" if log else "linear", title=y_title, exponentformat="power")
    fig.update_xaxes(type="category")
    return style(fig, title, 300).update_layout(hovermode="closest", showlegend=False)


def histograms(hists: Sequence, names: Sequence[str], title: str) -> go.Figure:
    """Side-by-side histograms (each with `edges` (bins + 1,) and `counts` (bins,); None is left empty)."""
    fig = make_subplots(rows=1, cols=max(1, len(hists)), subplot_titles=list(names))
    for j, hist in enumerate(hists):
        if hist is None:
            continue
        edges, counts = np.asarray(hist.edges, dtype=float), np.asarray(hist.counts)
        centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        fig.add_bar(x=centres, y=counts, width=widths, marker_color=run_color(j), showlegend=False, row=1, col=j + 1,
                    hovertemplate="%{x:.3g}: %{y:,}<extra></extra>")
    fig.update_yaxes(showticklabels=False)
    return style(fig, title, 260).update_layout(hovermode="closest", bargap=0, margin=dict(t=56))


def scatter_2d(points: np.ndarray, labels: np.ndarray, classes: Sequence[str], indices: np.ndarray,
               title: str) -> go.Figure:
    """A 2-D projection, one colour per class; each point carries its test-image index (customdata)."""
    fig = go.Figure()
    for c, name in enumerate(classes):
        mask = labels == c
        fig.add_scattergl(x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
                          marker=dict(size=5, color=class_color(c), opacity=0.75), customdata=indices[mask],
                          hovertemplate=f"{name} · test image #%{{customdata:,}}<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    # Dragging draws a lasso (Streamlit's default drag would pan): selection is what this chart is for.
    return style(fig, title, 520).update_layout(hovermode="closest", legend=dict(itemsizing="constant"),
                                                 dragmode="lasso")


def probe_lines(epochs: Sequence[int], names: Sequence[str], accuracy: np.ndarray, title: str) -> go.Figure:
    """Linear-probe test accuracy per layer (lines) over epochs; accuracy: (epochs, layers)."""
    fig = go.Figure()
    for j, name in enumerate(names):
        fig.add_scatter(x=list(epochs), y=accuracy[:, j], name=name, mode="lines+markers",
                        line=dict(color="rgba(128,128,128,.8)" if j == 0 else run_color(j - 1),
                                  dash="dot" if j == 0 else "solid"),
                        hovertemplate=f"{name}, epoch %{{x}}: %{{y:.1%}}<extra></extra>")
    fig.update_yaxes(tickformat=".0%", title="probe test accuracy")
    fig.update_xaxes(title="epoch", dtick=max(1, len(epochs) // 10))
    return style(fig, title, 360)
