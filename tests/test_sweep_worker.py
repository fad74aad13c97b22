"""Sweep workers in this process on the default SQLite storage: seeds, tags, pruning, stop, grids, retrain."""

import threading

import pytest
from optuna.trial import TrialState

from mnistlab.errors import SweepError
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.sweeps import create_sweep, open_sweep, retrain_best, run_worker, summarize
from mnistlab.sweeps.storage import default_url
from mnistlab.sweeps.trial import STOPPED
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded

# Plain SGD learns the synthetic task at lr 0.5 in two epochs and not at all at 1e-6.
BASE = TrainConfig(model=MLPSpec(hidden=(16,)), optimizer="sgd", lr=0.5, batch_size=50, epochs=1, device="cpu")


def best_val(store: RunStore, run_id: str) -> float:
    return max(h["val_accuracy"] for h in store.open(run_id).history())


def test_each_point_trains_one_tagged_run_per_seed_and_its_value_is_their_mean(tiny_data_dir, runs_dir):
    create_sweep("seeds", BASE, ["lr=choice:0.5,0.1"], seeds=2, sampler="random", runs_dir=runs_dir)
    seen = []
    report = run_worker("seeds", trials=2, runs_dir=runs_dir, data_dir=tiny_data_dir, on_trial=seen.append)
    assert [t.state for t in report.trials] == ["complete", "complete"] and seen == report.trials
    store = RunStore(runs_dir)
    for trial in summarize("seeds", runs_dir=runs_dir).trials:
        assert [r["seed"] for r in trial.runs] == [0, 1] and trial.run_id == trial.run_ids[0]
        assert trial.values == [best_val(store, r) for r in trial.run_ids]
        assert trial.value == pytest.approx(sum(trial.values) / 2) and trial.value_std is not None
        assert trial.host and trial.duration_s is not None and len(trial.curve) == 1
        for seed, run_id in enumerate(trial.run_ids):
            run = store.open(run_id)
            assert run.tags == {"sweep": "seeds", "trial": trial.number, "seed": seed}
            assert run.config.seed == seed and run.config.val_split == 0.1 and run.config.lr == trial.params["lr"]
            assert run.status == "finished"


def test_a_hopeless_point_is_pruned_and_its_run_says_so(tiny_data_dir, runs_dir):
    sweep = create_sweep("prune", BASE.with_(epochs=3), ["lr=log:1e-6:1"], pruner="median", runs_dir=runs_dir)
    for lr in (0.5, 0.4, 0.5, 0.3, 0.5, 1e-6):  # five good points finish, then the median judges a hopeless one
        sweep.study.enqueue_trial({"lr": lr})
    report = run_worker("prune", trials=6, runs_dir=runs_dir, data_dir=tiny_data_dir)
    assert [t.state for t in report.trials] == ["complete"] * 5 + ["pruned"]
    pruned = report.trials[-1]
    assert pruned.message.startswith("pruned after epoch 2: validation accuracy")
    run = RunStore(runs_dir).open(pruned.run_ids[0])
    assert run.status == "pruned" and run.info.message == pruned.message
    assert [h["epoch"] for h in run.history()] == [1, 2]  # it stopped at the epoch it was judged, before the third
    shown = summarize("prune", runs_dir=runs_dir)
    assert shown.counts == {"complete": 5, "pruned": 1} and shown.trials[-1].state == "pruned"


def test_a_stopped_worker_keeps_its_finished_trials_and_queues_the_interrupted_one(tiny_data_dir, runs_dir):
    create_sweep("stop", BASE.with_(epochs=3), ["lr=choice:0.5,0.4,0.3"], sampler="random", runs_dir=runs_dir)
    done = []

    def stop_in_second_trial(event):
        if isinstance(event, EpochEnded) and len(done) == 1:
            worker_cancel.set()

    worker_cancel = threading.Event()
    report = run_worker("stop", trials=3, runs_dir=runs_dir, data_dir=tiny_data_dir, cancel=worker_cancel,
                        on_trial=done.append, subscribers=[stop_in_second_trial])
    assert report.reason == "cancel" and [t.state for t in report.trials] == ["complete", "fail"]
    assert report.trials[1].message == STOPPED
    sweep = open_sweep("stop", runs_dir=runs_dir)
    waiting = sweep.study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].params == report.trials[1].params
    stopped_runs = [r for r in RunStore(runs_dir).list() if r.status == "stopped"]
    assert len(stopped_runs) == 1

    again = run_worker("stop", trials=1, runs_dir=runs_dir, data_dir=tiny_data_dir)
    retried = summarize("stop", runs_dir=runs_dir).trials[2]
    assert again.trials[0].state == "complete" and retried.retry_of == 1 and retried.params == report.trials[1].params


def test_a_grid_tries_every_point_once_and_a_bad_combination_fails_alone(tiny_data_dir, runs_dir):
    create_sweep("grid", BASE, ["aug-scale-min=choice:0.9,1.1", "aug-scale-max=choice:1.0,1.2"], sampler="grid",
                 runs_dir=runs_dir)
    report = run_worker("grid", trials=10, runs_dir=runs_dir, data_dir=tiny_data_dir)
    assert report.reason == "grid" and len(report.trials) == 4
    points = {(t.params["aug_scale_min"], t.params["aug_scale_max"]): t for t in report.trials}
    assert len(points) == 4
    bad = points[(1.1, 1.0)]
    assert bad.state == "fail" and bad.message == "scale_min (1.1) must not exceed scale_max (1.0)."
    assert sorted(t.state for t in report.trials) == ["complete"] * 3 + ["fail"]


def test_parallel_trains_the_asked_trials_together_and_tells_each_its_own_value(tiny_data_dir, runs_dir):
    create_sweep("par", BASE, ["lr=choice:0.5,0.2,0.1"], seeds=2, sampler="random", runs_dir=runs_dir)
    report = run_worker("par", trials=3, parallel=3, runs_dir=runs_dir, data_dir=tiny_data_dir)
    assert report.parallel == "population"
    assert [t.number for t in report.trials] == [0, 1, 2] and all(t.state == "complete" for t in report.trials)
    store = RunStore(runs_dir)
    for t in report.trials:
        assert t.value == pytest.approx(sum(best_val(store, r) for r in t.run_ids) / 2)
        assert [store.open(r).tags for r in t.run_ids] == [{"sweep": "par", "trial": t.number, "seed": s} for s in (0, 1)]
        assert {store.open(r).config.lr for r in t.run_ids} == {t.params["lr"]}


def test_parallel_prunes_live_and_a_pruned_trial_stops_all_its_seeds(tiny_data_dir, runs_dir):
    sweep = create_sweep("ppr", BASE.with_(epochs=3), ["lr=log:1e-6:1"], seeds=2, runs_dir=runs_dir)
    for lr in (0.5, 0.4, 0.5, 0.3, 0.5, 0.4, 1e-6, 2e-6):  # three pairs of good points, then two hopeless ones
        sweep.study.enqueue_trial({"lr": lr})
    report = run_worker("ppr", trials=8, parallel=2, runs_dir=runs_dir, data_dir=tiny_data_dir)
    assert [t.state for t in report.trials] == ["complete"] * 6 + ["pruned"] * 2
    store = RunStore(runs_dir)
    for t in report.trials[6:]:
        assert t.message.startswith("pruned after epoch 2") and len(t.run_ids) == 2
        assert [(store.open(r).status, len(store.open(r).history())) for r in t.run_ids] == [("pruned", 2)] * 2


def test_retrain_trains_the_best_point_on_every_training_image_and_records_its_test_accuracy(tiny_data_dir, runs_dir):
    create_sweep("best", BASE, ["lr=choice:0.5,1e-6"], sampler="grid", runs_dir=runs_dir)
    run_worker("best", trials=2, runs_dir=runs_dir, data_dir=tiny_data_dir)
    result = retrain_best("best", runs_dir=runs_dir, data_dir=tiny_data_dir)
    run = RunStore(runs_dir).open(result.run_id)
    assert run.config.val_split == 0 and run.config.lr == 0.5 and run.tags == {"sweep": "best", "retrain_of": result.trial}
    assert result.test_accuracy == run.info.test_accuracy and result.test_accuracy > 0.9
    assert summarize("best", runs_dir=runs_dir).retrained["run_id"] == result.run_id


def test_a_new_sweep_summarises_empty_and_importances_wait_for_enough_trials(tiny_data_dir, runs_dir):
    create_sweep("empty", BASE, ["lr=log:1e-3:1", "dropout=float:0:0.5"], runs_dir=runs_dir)
    shown = summarize("empty", runs_dir=runs_dir)
    assert shown.trials == [] and shown.best is None and shown.importances == {}
    assert shown.importances_note == "importances need 4 complete trials; this sweep has 0"
    assert shown.definition["base"]["val_split"] == 0.1 and shown.storage == default_url(runs_dir)
    run_worker("empty", trials=4, runs_dir=runs_dir, data_dir=tiny_data_dir)
    values = summarize("empty", runs_dir=runs_dir).importances
    assert set(values) == {"lr", "dropout"} and sum(values.values()) == pytest.approx(1)


def test_creating_and_opening_say_what_is_wrong(runs_dir):
    create_sweep("once", BASE, ["lr=log:1e-3:1"], runs_dir=runs_dir)
    with pytest.raises(SweepError, match="sweep once already exists in sqlite:///.*; pick another name"):
        create_sweep("once", BASE, ["lr=log:1e-3:1"], runs_dir=runs_dir)
    with pytest.raises(SweepError, match="there is no sweep nope in"):
        open_sweep("nope", runs_dir=runs_dir)
    with pytest.raises(SweepError, match="a grid sweep trains every point to the end"):
        create_sweep("g", BASE, ["lr=choice:0.1,0.2"], sampler="grid", pruner="median", runs_dir=runs_dir)
    with pytest.raises(SweepError, match="'a b' is not a sweep name"):
        create_sweep("a b", BASE, ["lr=log:1e-3:1"], runs_dir=runs_dir)
    with pytest.raises(SweepError, match="--seeds must be a whole number from 1 to 100"):
        create_sweep("s", BASE, ["lr=log:1e-3:1"], seeds=0, runs_dir=runs_dir)
    with pytest.raises(SweepError, match="--trials must be a whole number from 1"):
        run_worker("once", trials=0, runs_dir=runs_dir)


def test_a_journal_file_holds_a_sweep_too(tiny_data_dir, runs_dir, tmp_path):
    url = f"journal:{tmp_path / 'shared' / 'sweeps.log'}"
    create_sweep("j", BASE, ["lr=choice:0.5,0.1"], sampler="grid", storage=url)
    report = run_worker("j", storage=url, trials=5, runs_dir=runs_dir, data_dir=tiny_data_dir)
    assert report.reason == "grid" and [t.state for t in report.trials] == ["complete"] * 2
    assert summarize("j", storage=url).best.value == max(t.value for t in report.trials)
