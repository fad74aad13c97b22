"""The Sweep page: define a learning-rate × width sweep with two seeds, run it through the job queue, read it."""

from __future__ import annotations

import json

import pytest
from test_app import WAIT, app, queue, texts

from mnistlab.sweeps import summarize

pytestmark = pytest.mark.usefixtures("app_caches")


def figures(at) -> dict[str, dict]:
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def test_a_learning_rate_by_width_sweep_with_two_seeds_runs_and_explains_itself(env):
    data_dir, runs_dir = env
    at = app("sweep")
    assert "No sweeps yet." in texts(at, "info")
    at.text_input(key="sweep_name").set_value("lr-width").run()
    at.selectbox(key="sweep_base").set_value("fast").run()
    at.multiselect(key="sweep_range_width").set_value([16, 32]).run()
    at.number_input(key="sweep_trials").set_value(4).run()
    at.number_input(key="sweep_epochs").set_value(2).run()
    at.selectbox(key="sweep_sampler").set_value("random").run()
    assert "4 trials × 2 seed(s) × 2 epoch(s) = 16 epochs of training" in texts(at, "caption")
    at.button(key="sweep_start").click().run()
    assert not at.exception, at.exception
    (job,) = [s for s in queue().jobs() if s.kind == "sweep"]
    done = queue().wait(job.job_id, WAIT * 4)
    assert done.status == "finished" and done.units_done == 4, done.message
    at.run()
    assert not at.exception, at.exception
    summary = summarize("lr-width", runs_dir=runs_dir)
    assert len(summary.trials) == 4 and all(len(t.values) == 2 for t in summary.trials if t.state == "complete")
    assert summary.definition["seeds"] == 2
    shown = figures(at)
    assert {"sweep_history", "sweep_heatmap", "sweep_by_lr", "sweep_by_width", "sweep_parallel"} <= set(shown)
    best = summary.best
    assert f"Best so far: {best.value:.2%} validation accuracy" in texts(at, "markdown")
    assert at.metric[1].value == str(summary.counts.get("complete", 0))
