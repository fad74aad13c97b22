"""`test_every_epoch=False`: the test set is scored once, after the last epoch (a record's protocol)."""

import json

from mnistlab.cli.main import main
from mnistlab.models.spec import MLPSpec
from mnistlab.train import torch_engine
from mnistlab.train.config import TrainConfig
from mnistlab.train.loop import train
from mnistlab.train.population import train_population
from mnistlab.train.prepare import prepare_data

ONCE = TrainConfig(model=MLPSpec(hidden=(32,)), optimizer="adam", lr=3e-3, batch_size=64, epochs=3, device="cpu",
                   val_split=0.2, test_every_epoch=False)


def test_the_test_set_is_scored_after_the_last_epoch_only(tiny_data_dir, monkeypatch):
    data = prepare_data(ONCE, tiny_data_dir)
    seen = []
    real = torch_engine.TorchStepper.evaluate

    def counting(self, split):
        seen.append(split is data.test)
        return real(self, split)

    monkeypatch.setattr(torch_engine.TorchStepper, "evaluate", counting)
    result = train(ONCE, data=data)
    assert seen.count(True) == 1 and seen.count(False) == 3  # validation every epoch, test once
    assert [h["test_accuracy"] is None for h in result.history] == [True, True, False]
    assert all(h["val_accuracy"] is not None for h in result.history)
    assert result.history[-1]["test_accuracy"] > 0.5 and len(result.history[-1]["test_confusion"]) == 10
    every = train(ONCE.with_(test_every_epoch=True), data=data)
    assert every.history[-1]["test_accuracy"] == result.history[-1]["test_accuracy"]  # same run otherwise


def test_a_population_scores_the_test_set_once_too(tiny_data_dir):
    configs = [ONCE, ONCE.with_(lr=1e-3)]
    data = prepare_data(ONCE, tiny_data_dir)
    pop = train_population(configs, data=data)
    for member in pop:
        assert [h["test_accuracy"] is None for h in member.history] == [True, True, False]


def test_the_cli_flag_turns_it_off_and_the_run_still_reports_its_test_accuracy(tiny_data_dir, tmp_path, capsys):
    code = main(["train", "--hidden", "16", "--epochs", "2", "--no-test-every-epoch", "--val-split", "0.2",
                 "--device", "cpu", "--data-dir", str(tiny_data_dir), "--runs-dir", str(tmp_path), "--json"])
    out = capsys.readouterr()
    assert code == 0
    assert "test —" in out.err  # epoch 1's progress line: not scored
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["test_accuracy"] is not None and result["history"][0]["test_accuracy"] is None
