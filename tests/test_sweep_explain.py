"""The Sweep page's answer in words (`mnistlab.sweeps.explain`), from hand-made summaries."""

from __future__ import annotations

from mnistlab.sweeps.explain import explain
from mnistlab.sweeps.summary import SweepSummary, TrialSummary


def trial(number, lr, values, state="complete", diverged=False):
    runs = [{"status": "diverged" if diverged else "finished", "value": v} for v in values]
    mean = sum(values) / len(values) if values else None
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
    return TrialSummary(number, state, {"lr": lr, "width": 64}, mean, values, std, None, [], runs, [], "vm", "vm:1",
                        None, None, None)


def summary(trials, importances=None, counts=None):
    done = [t for t in trials if t.state == "complete"]
    best = max(done, key=lambda t: t.value) if done else None
    return SweepSummary("s", "sqlite://", {}, trials, best, importances or {}, "", counts or {})


def test_the_best_point_what_matters_the_seed_spread_and_where_runs_diverge():
    trials = [trial(0, 0.001, [0.90, 0.91]), trial(1, 0.01, [0.95, 0.96]), trial(2, 0.05, [0.93, 0.94]),
              trial(3, 0.5, [0.10, 0.11], diverged=True), trial(4, 1.0, [0.10, 0.10], diverged=True)]
    lines = explain(summary(trials, {"lr": 0.85, "width": 0.15}, {"complete": 5, "pruned": 1}))
    assert lines[0] == ("Best so far: 95.50% validation accuracy at lr 0.01, width 64 (trial 1, 5 of 5 trials "
                        "finished).")
    assert "lr explains most of the variation (85%)." in lines
    assert any(line.startswith("The seeds move a point by 0.7% (median spread), smaller than") for line in lines)
    assert "Every run with lr above 0.05 failed (diverged or crashed)." in lines
    assert "1 hopeless trial(s) were pruned early, saving their remaining epochs." in lines


def test_before_any_trial_finishes_it_says_so():
    assert explain(summary([trial(0, 0.1, [], state="running")])) == ["No trial has finished yet (1 running)."]
    assert explain(summary([])) == ["No trial has run yet."]
