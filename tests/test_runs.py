"""The run store: saved artifacts, bit-exact reload, listing, interruption, safety."""

import json
import os

import pytest
import torch

from mnistlab.errors import RunStoreError
from mnistlab.experiment import run_experiment
from mnistlab.models.spec import MLPSpec
from mnistlab.presets import PRESETS, preset_changes
from mnistlab.runs.files import load_model, write_json
from mnistlab.runs.pick import best_recent_run
from mnistlab.runs.store import FINAL, STATUSES, RunInfo, RunStore, check_run_id
from mnistlab.train.config import TrainConfig

CONFIG = TrainConfig(model=MLPSpec(hidden=(16,)), optimizer="adam", lr=3e-3, batch_size=50, epochs=2, device="cpu")


@pytest.fixture
def finished(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    return store, run_experiment(CONFIG, preset="fast", store=store, data_dir=tiny_data_dir)


def test_a_run_saves_config_history_evaluation_and_weights(finished):
    store, outcome = finished
    folder = store.path(outcome.run_id)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "epochs", "evaluation.json", "history.json", "initial-layers.json", "layer-stats.jsonl",
        "model.safetensors", "predictions.safetensors", "run.json"]
    # The weights after each epoch, and what continuing needs after the last two (`Run.training_state`).
    assert sorted(p.name for p in (folder / "epochs").iterdir()) == (
        [f"epoch-00{e}.safetensors" for e in range(3)] + [f"state-00{e}.{x}" for e in (1, 2) for x in ("json", "safetensors")])
    assert TrainConfig.from_dict(store.config(outcome.run_id)["config"]) == CONFIG
    assert [h["epoch"] for h in store.history(outcome.run_id)] == [1, 2]
    info = store.info(outcome.run_id)
    assert info.status == "finished" and info.preset == "fast" and info.test_accuracy == outcome.evaluation.accuracy


def test_saved_model_reloads_bit_for_bit(finished, tiny_data_dir):
    store, outcome = finished
    reloaded = store.open(outcome.run_id).model()
    for (name, a), (_, b) in zip(outcome.result.model.state_dict().items(), reloaded.state_dict().items(), strict=True):
        assert torch.equal(a.cpu(), b), name
    x = torch.rand(8, 28, 28)
    outcome.result.model.eval()
    assert torch.equal(outcome.result.model(x), reloaded(x))
    ev = store.open(outcome.run_id).evaluation()
    assert ev.accuracy == outcome.evaluation.accuracy
    assert (ev.predictions == outcome.evaluation.predictions).all()
    assert ev.confusion.sum() == 200


def test_listing_is_newest_first_and_delete_removes(finished, tiny_data_dir):
    store, first = finished
    second = run_experiment(CONFIG.with_(epochs=1), store=store, data_dir=tiny_data_dir)
    listed = [r.run_id for r in store.list()]
    assert set(listed) == {first.run_id, second.run_id}
    store.delete(first.run_id)
    assert [r.run_id for r in store.list()] == [second.run_id]


def test_a_run_whose_process_died_is_listed_as_interrupted(runs_dir):
    store = RunStore(runs_dir)
    run_id = store.create(CONFIG.to_dict(), preset=None)
    store.update(run_id, pid=2**22 + 12345, process="gone")  # a process that does not exist
    assert store.info(run_id).status == "interrupted"


def test_a_running_run_of_this_process_is_running(runs_dir):
    store = RunStore(runs_dir)
    run_id = store.create(CONFIG.to_dict(), preset=None)
    assert store.info(run_id).status == "running"
    with pytest.raises(RunStoreError, match="still running"):
        store.delete(run_id)


def test_half_written_and_foreign_folders_are_skipped(runs_dir, finished):
    store, outcome = finished
    (runs_dir / "not-a-run").mkdir()  # no run.json
    (runs_dir / ".run.json.tmp").write_text("{")
    broken = runs_dir / "20260101-000000-mnist-x-000000"
    broken.mkdir()
    (broken / "run.json").write_text("{ half")
    assert [r.run_id for r in store.list()] == [outcome.run_id]


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", "", "X" * 200, "run id", "/abs"])
def test_run_ids_are_validated(bad):
    with pytest.raises(RunStoreError):
        check_run_id(bad)


def test_pickle_model_files_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(RunStoreError, match="only .safetensors"):
        load_model(path)


def test_weights_that_do_not_match_the_config_are_refused(finished):
    store, outcome = finished
    with pytest.raises(RunStoreError, match="do not match the config"):
        load_model(store.path(outcome.run_id) / "model.safetensors", spec=MLPSpec(hidden=(17,)))


def test_failed_training_marks_the_run_failed(tiny_data_dir, runs_dir, monkeypatch):
    from mnistlab import experiment

    def boom(*a, **k):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(experiment, "train", boom)
    store = RunStore(runs_dir)
    with pytest.raises(RuntimeError):
        run_experiment(CONFIG, store=store, data_dir=tiny_data_dir)
    (info,) = store.list()
    assert info.status == "failed" and "simulated crash" in info.message


def test_run_json_is_valid_json_after_every_write(finished):
    store, outcome = finished
    data = json.loads((store.path(outcome.run_id) / "run.json").read_text())
    assert data["pid"] == os.getpid() and data["status"] == "finished"


def test_run_files_are_readable_by_whoever_the_umask_allows(finished):
    """Temp files are renamed into place, so their mode is the final mode: not mkstemp's private 0600."""
    store, outcome = finished
    umask = os.umask(0)
    os.umask(umask)
    for name in ("run.json", "history.json", "model.safetensors", "predictions.safetensors"):
        assert (store.path(outcome.run_id) / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_a_run_records_what_it_changed_from_its_preset(finished, runs_dir):
    store, outcome = finished
    info = store.info(outcome.run_id)
    assert info.preset == "fast" and not info.is_preset
    assert {"hidden 1024 → 16", "epochs 3 → 2", "lr 0.002 → 0.003", "schedule onecycle → none"} <= set(info.preset_changes)
    assert not any(change.startswith("device") for change in info.preset_changes)  # where it ran is not the recipe
    assert store.status_info(outcome.run_id)["preset_changes"] == list(info.preset_changes)

    recipe = store.create(PRESETS["fast"].config.with_(device="cpu").to_dict(), preset="fast")
    assert store.info(recipe).is_preset and store.info(recipe).preset_changes == ()
    custom = store.create(CONFIG.to_dict())
    assert not store.info(custom).is_preset and store.info(custom).preset_changes == ()
    # A run from before preset_changes was recorded is compared when read.
    old = store.status_info(outcome.run_id)
    del old["preset_changes"]
    write_json(store.path(outcome.run_id) / "run.json", old)
    assert store.info(outcome.run_id).preset_changes == info.preset_changes


def test_preset_changes_reads_like_the_settings():
    tanh = PRESETS["fast"].config.with_(hidden=(64, 64), activation="tanh", epochs=3, train_subset=0.5)
    assert preset_changes(tanh, "fast") == ["hidden 1024 → 64,64", "activation relu → tanh", "train_subset none → 0.5"]
    assert preset_changes(PRESETS["fast"].config.to_dict(), "fast") == []


def test_a_run_that_never_beat_guessing_is_stored_stalled_with_its_model(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = PRESETS["fast"].config.with_(hidden=(64,), batch_size=64, epochs=5, lr=10.0, device="cpu")
    outcome = run_experiment(config, preset="fast", store=store, data_dir=tiny_data_dir)
    info = store.info(outcome.run_id)
    assert info.status == "stalled" and info.message.startswith("did not learn:") and "learning rate of 10" in info.message
    assert "stalled" in STATUSES and "stalled" in FINAL
    assert store.open(outcome.run_id).model() is not None and info.test_accuracy is not None


def run_info(n, status="finished", accuracy=0.9, dataset="mnist"):
    return RunInfo(f"2026010{n}-run", status, f"2026-01-0{n}T00:00:00", dataset, None, "torch", "", accuracy)


def test_best_recent_run_picks_the_most_accurate_recent_run_that_ended_well():
    runs = [run_info(9, "stalled", 0.99), run_info(8, "diverged", 0.98), run_info(7, "failed", None),
            run_info(6, "interrupted", 0.97), run_info(5, "running", 0.97), run_info(4, "finished", 0.11),
            run_info(3, "stopped", 0.93), run_info(2, "finished", 0.95, "fashion-mnist"), run_info(1, "finished", 0.91)]
    assert best_recent_run(runs).run_id == "20260102-run"
    assert best_recent_run(runs, dataset="mnist").run_id == "20260103-run"
    assert best_recent_run(runs, dataset="mnist", within=1).run_id == "20260103-run"  # the newest good one only
    assert best_recent_run(list(reversed(runs)), within=2).run_id == "20260102-run"  # order of the list is not trusted
    assert best_recent_run(runs[:6]) is None  # a chance-level "finished" run is never picked
    assert best_recent_run([]) is None


def test_a_dashboard_session_cannot_delete_another_sessions_run(runs_dir):
    store = RunStore(runs_dir)

    def done(owner):
        run_id = store.create(CONFIG.to_dict(), owner=owner)
        store.update(run_id, status="finished")
        return run_id

    alice = done("web-alice")
    with pytest.raises(RunStoreError, match="belongs to another dashboard session; only its owner"):
        store.delete(alice, owner="web-bob")
    store.delete(done("web-alice"), owner="web-alice")
    store.delete(done("web-alice"), owner="web-bob", admin=True)  # the server's operator
    store.delete(done("cli"), owner="web-bob")  # runs from the CLI or the library belong to no session
    store.delete(alice)  # the CLI and the library (no owner) delete as before
    assert store.list() == []


def test_tags_are_recorded_in_run_json_and_read_through_the_handle(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), batch_size=50, epochs=1, device="cpu")
    tagged = run_experiment(config, store=store, data_dir=tiny_data_dir, tags={"sweep": "lr", "trial": 3, "seed": 1})
    plain = run_experiment(config, store=store, data_dir=tiny_data_dir)
    assert store.open(tagged.run_id).tags == {"sweep": "lr", "trial": 3, "seed": 1}
    assert store.open(plain.run_id).tags == {}
    assert "pruned" in STATUSES and "pruned" in FINAL  # a sweep's early stop is a final status listings accept
