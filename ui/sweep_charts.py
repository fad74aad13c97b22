"""Plotly figures of a sweep: history, one parameter with seed spread, a heatmap of two, parallel coordinates,
importances. They take plain trial dicts (`number`, `state`, `params`, `value`, `values` per seed), as
`mnistlab.sweeps` summarises a study, so they draw a sweep from this machine or from any database."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.charts import GOOD, style

BINS = 6  # a continuous parameter is cut into this many bins for the heatmap
Trial = dict


def _done(trials: Sequence[Trial]) -> list[Trial]:
    return [t for t in trials if t.get("state") == "complete" and t.get("value") is not None]


def _is_number(values) -> bool:
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _log_scale(values) -> bool:
    """A positive numeric parameter spanning more than a factor of 20 is drawn on a log axis."""
    return _is_number(values) and min(values) > 0 and max(values) / min(values) > 20


def _spread(trial: Trial) -> float:
    seeds = [v for v in trial.get("values") or [] if v is not None]
    return float(np.std(seeds)) if len(seeds) > 1 else 0.0


def history(trials: Sequence[Trial]) -> go.Figure:
    """Each finished trial's validation accuracy in the order it ran, and the best so far."""
    done = sorted(_done(trials), key=lambda t: t["number"])
    fig = go.Figure()
    fig.add_scatter(x=[t["number"] for t in done], y=[t["value"] for t in done], mode="markers", name="trial",
                    error_y=dict(type="data", array=[_spread(t) for t in done], visible=True, thickness=1),
                    hovertemplate="trial %{x}: %{y:.2%}<extra></extra>")
    best = np.maximum.accumulate([t["value"] for t in done]) if done else []
    fig.add_scatter(x=[t["number"] for t in done], y=list(best), mode="lines", name="best so far",
                    line=dict(color=GOOD, shape="hv"))
    fig.update_yaxes(tickformat=".0%", title="validation accuracy")
    fig.update_xaxes(title="trial")
    return style(fig, "Optimisation history", 320)


def one_parameter(trials: Sequence[Trial], param: str) -> go.Figure:
    """Validation accuracy against one parameter; the bars are the spread over seeds."""
    done = [t for t in _done(trials) if param in t["params"]]
    xs = [t["params"][param] for t in done]
    fig = go.Figure(go.Scatter(x=[str(x) for x in xs] if not _is_number(xs) else xs, y=[t["value"] for t in done],
                               mode="markers", error_y=dict(type="data", array=[_spread(t) for t in done],
                                                            visible=True, thickness=1),
                               text=[f"trial {t['number']}" for t in done],
                               hovertemplate=f"{param} %{{x}}: %{{y:.2%}} (%{{text}})<extra></extra>"))
    if xs and _log_scale(xs):
        fig.update_xaxes(type="log")
    fig.update_xaxes(title=param)
    fig.update_yaxes(tickformat=".0%", title="validation accuracy")
    return style(fig, f"Validation accuracy by {param}", 320)


def _bins(values: list) -> tuple[list[str], list[int]]:
    """Labels of the heatmap's rows or columns and each value's index among them."""
    distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v))
    if not _is_number(values) or len(distinct) <= BINS:
        labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in distinct]
        return labels, [distinct.index(v) for v in values]
    log = _log_scale(values)
    lo, hi = (math.log10(min(values)), math.log10(max(values))) if log else (min(values), max(values))
    edges = np.linspace(lo, hi, BINS + 1)
    index = [min(BINS - 1, int(np.searchsorted(edges, math.log10(v) if log else v, side="right") - 1))
             for v in values]
    labels = [f"{10 ** a:.2g}–{10 ** b:.2g}" if log else f"{a:.3g}–{b:.3g}" for a, b in zip(edges, edges[1:])]
    return labels, index


def heatmap(trials: Sequence[Trial], x: str, y: str) -> go.Figure:
    """Mean validation accuracy over two parameters (binned when continuous), spread over seeds and trials."""
    done = [t for t in _done(trials) if x in t["params"] and y in t["params"]]
    x_labels, xi = _bins([t["params"][x] for t in done])
    y_labels, yi = _bins([t["params"][y] for t in done])
    cells: dict[tuple[int, int], list[float]] = {}
    for t, i, j in zip(done, xi, yi, strict=True):
        cells.setdefault((j, i), []).extend([v for v in t.get("values") or [t["value"]] if v is not None])
    mean = np.full((len(y_labels), len(x_labels)), np.nan)
    text = [["" for _ in x_labels] for _ in y_labels]
    for (j, i), values in cells.items():
        mean[j, i] = float(np.mean(values))
        spread = f" ± {np.std(values):.1%}" if len(values) > 1 else ""
        text[j][i] = f"{mean[j, i]:.1%}{spread}<br>n={len(values)}"
    fig = go.Figure(go.Heatmap(z=mean, x=x_labels, y=y_labels, text=text, texttemplate="%{text}",
                               colorscale="Viridis", colorbar=dict(title="val acc", tickformat=".0%"),
                               hovertemplate=f"{x} %{{x}}, {y} %{{y}}: %{{text}}<extra></extra>"))
    fig.update_xaxes(title=x, type="category")
    fig.update_yaxes(title=y, type="category")
    return style(fig, f"Mean validation accuracy: {y} × {x}", 380)


def parallel(trials: Sequence[Trial], params: Sequence[str]) -> go.Figure:
    """Every finished trial as a line through its parameters to its validation accuracy."""
    done = [t for t in _done(trials) if all(p in t["params"] for p in params)]
    dims = []
    for p in params:
        values = [t["params"][p] for t in done]
        if _is_number(values):
            log = _log_scale(values)
            shown = [math.log10(v) for v in values] if log else values
            dims.append(dict(label=f"log10 {p}" if log else p, values=shown))
        else:
            names = sorted({str(v) for v in values})
            dims.append(dict(label=p, values=[names.index(str(v)) for v in values],
                             tickvals=list(range(len(names))), ticktext=names))
    values = [t["value"] for t in done]
    dims.append(dict(label="val acc", values=values, range=[min(values, default=0), max(values, default=1)]))
    fig = go.Figure(go.Parcoords(dimensions=dims, line=dict(color=values, colorscale="Viridis", showscale=False)))
    # The axes' names sit above the plot: room for them under the title.
    return style(fig, "Parallel coordinates", 380).update_layout(margin=dict(t=96, l=48, r=48))


def importances(scores: dict[str, float]) -> go.Figure:
    """How much of the variation in validation accuracy each parameter explains (fANOVA or similar)."""
    ordered = sorted(scores.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in ordered], y=[k for k, _ in ordered], orientation="h",
                           marker_color="#6366F1", hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
    fig.update_xaxes(tickformat=".0%", title="share of the variation explained", range=[0, 1])
    return style(fig, "Parameter importances", 80 + 36 * max(1, len(ordered)))
