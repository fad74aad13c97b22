"""A sweep's answer in plain words, from its summary: the best point, what matters most, where runs failed."""

from __future__ import annotations

import statistics

from mnistlab.sweeps.summary import SweepSummary, TrialSummary

MOST = 0.5  # an importance above this "explains most of the variation"


def _shown(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _point(trial: TrialSummary) -> str:
    return ", ".join(f"{k} {_shown(v)}" for k, v in trial.params.items())


def _failed(trial: TrialSummary) -> bool:
    """The trial crashed, or one of its seeds' runs diverged (a diverged run still counts, with what it reached)."""
    return trial.state == "fail" or any(r.get("status") == "diverged" for r in trial.runs)


def _failure_edge(trials: list[TrialSummary], name: str) -> str | None:
    """'above 0.3' when every numeric point past a value failed (diverged) and every one below did not."""
    numeric = [t for t in trials if isinstance(t.params.get(name), (int, float)) and t.state in ("fail", "complete")]
    bad = [t.params[name] for t in numeric if _failed(t)]
    good = [t.params[name] for t in numeric if not _failed(t)]
    if not bad or not good:
        return None
    if min(bad) > max(good):
        return f"above {_shown(max(good))}"
    if max(bad) < min(good):
        return f"below {_shown(min(good))}"
    return None


def explain(summary: SweepSummary) -> list[str]:
    """Sentences for the Sweep page (and `sweep show`): what the sweep found so far."""
    trials, best = summary.trials, summary.best
    done = [t for t in trials if t.state == "complete"]
    if not done:
        running = sum(t.state == "running" for t in trials)
        return [f"No trial has finished yet ({running} running)." if running else "No trial has run yet."]
    lines = [f"Best so far: {best.value:.2%} validation accuracy at {_point(best)} (trial {best.number}, "
             f"{len(done)} of {len(trials)} trials finished)."]
    if summary.importances:
        name, share = max(summary.importances.items(), key=lambda kv: kv[1])
        lines.append(f"{name} explains {'most' if share > MOST else 'the largest share'} of the variation "
                     f"({share:.0%})." if len(summary.importances) > 1 else f"{name} is the only searched setting.")
    spreads = [t.value_std for t in done if t.value_std is not None]
    values = [t.value for t in done if t.value is not None]
    if spreads and len(values) > 1:
        typical, between = statistics.median(spreads), statistics.pstdev(values)
        judged = ("smaller than" if typical < between / 2 else "about as large as")
        lines.append(f"The seeds move a point by {typical:.1%} (median spread), {judged} the differences between "
                     f"points ({between:.1%}).")
    for name in best.params:
        edge = _failure_edge(trials, name)
        if edge:
            lines.append(f"Every run with {name} {edge} failed (diverged or crashed).")
    pruned = summary.counts.get("pruned", 0)
    if pruned:
        lines.append(f"{pruned} hopeless trial(s) were pruned early, saving their remaining epochs.")
    return lines
