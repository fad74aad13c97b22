"""`python -m mnistlab sweep …`: the JSON contract, the human lines, and one line + exit 2 for every bad input."""

import json

import pytest

from mnistlab.cli.main import main


def sweep(*args, runs_dir, data_dir=None):
    extra = ["--runs-dir", str(runs_dir)] + (["--data-dir", str(data_dir)] if data_dir else [])
    return main(["sweep", *map(str, args), *extra])


TINY = ["--hidden", "16", "--batch-size", "50", "--epochs", "1", "--optimizer", "sgd", "--lr", "0.5", "--device", "cpu"]


def test_create_run_show_list_best_delete(tiny_data_dir, runs_dir, capsys):
    assert sweep("create", "cli", "--preset", "fast", *TINY, "--param", "lr=log:0.05:0.5", "--param",
                 "layers=int:1:2", "--param", "width=choice:8,16", "--seeds", "2", runs_dir=runs_dir) == 0
    out = capsys.readouterr().out
    assert out.startswith("created sweep cli in sqlite:///") and "lr=log:0.05:0.5 layers=int:1:2" in out
    assert "validation split 0.1" in out and "sweep run cli --trials" in out

    assert sweep("run", "cli", "--trials", "3", runs_dir=runs_dir, data_dir=tiny_data_dir) == 0
    out = capsys.readouterr().out
    assert out.count("complete: validation") == 3 and "worker done: 3 trial(s) (3 complete)" in out

    assert sweep("show", "cli", "--json", runs_dir=runs_dir) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {"trials", "best", "importances"} <= set(shown)
    assert len(shown["trials"]) == 3
    for trial in shown["trials"]:
        assert {"number", "state", "params", "value", "run_id", "host"} <= set(trial)
        assert trial["state"] == "complete" and set(trial["params"]) == {"lr", "layers", "width"}
        assert len(trial["values"]) == 2 and trial["config"]["model"]["hidden"] == \
            [trial["params"]["width"]] * trial["params"]["layers"]
    assert shown["best"]["value"] == max(t["value"] for t in shown["trials"])
    assert shown["definition"]["preset"] == "fast" and shown["definition"]["seeds"] == 2

    assert sweep("show", "cli", runs_dir=runs_dir) == 0
    out = capsys.readouterr().out
    assert "3 complete" in out and f"best: trial {shown['best']['number']}" in out and "importances:" in out

    assert sweep("list", "--json", runs_dir=runs_dir) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == "cli" and listed["trials"] == 3 and listed["best_value"] == shown["best"]["value"]

    assert sweep("best", "cli", "--retrain", "--json", runs_dir=runs_dir, data_dir=tiny_data_dir) == 0
    retrained = json.loads(capsys.readouterr().out)
    assert retrained["trial"] == shown["best"]["number"] and retrained["config"]["val_split"] == 0
    assert retrained["test_accuracy"] is not None

    assert sweep("delete", "cli", runs_dir=runs_dir) == 0
    assert "deleted sweep cli" in capsys.readouterr().out
    assert sweep("list", runs_dir=runs_dir) == 0
    assert capsys.readouterr().out.startswith("no sweeps in sqlite:///")


@pytest.mark.parametrize("args, message", [
    (["create", "x", "--param", "lr=lin:1:2"], "error: --param lr: a SPEC is log:LOW:HIGH"),
    (["create", "x", "--param", "dropout=float:0:1.5"], "dropout must be in [0, 1); got 1.5."),
    (["create", "x", "--param", "colour=int:1:2"], "'colour' is not a setting a sweep can search"),
    (["create", "x"], "a sweep needs at least one --param FIELD=SPEC"),
    (["create", "x", "--seed", "3", "--param", "lr=log:0.01:1"], "use --seeds N instead of --seed"),
    (["create", "x", "--val-split", "0", "--param", "lr=log:0.01:1"], "give --val-split a fraction above 0"),
    (["create", "x", "--sampler", "grid", "--param", "lr=log:0.01:1"], "the grid sampler needs a list of values"),
    (["create", "x", "--sampler", "bayes", "--param", "lr=log:0.01:1"], "sampler must be one of tpe, random, grid"),
    (["create", "x", "--preset", "nope", "--param", "lr=log:0.01:1"], "nope"),
    (["show", "nope"], "there is no sweep nope in sqlite:///"),
    (["run", "nope", "--trials", "2"], "there is no sweep nope in"),
    (["best", "nope"], "there is no sweep nope"),
    (["delete", "nope"], "there is no sweep nope"),
    (["list", "--storage", "ftp://host/x"], "is not a storage URL; use sqlite:///PATH, postgresql://"),
    (["list", "--storage", "postgresql://someone:secret@127.0.0.1:9/none"],
     "cannot reach the sweep storage postgresql://someone:***@127.0.0.1:9/none"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, runs_dir, capsys):
    assert sweep(*args, runs_dir=runs_dir) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")
    assert "secret" not in err


def test_run_and_best_of_an_empty_sweep_say_what_to_do(tiny_data_dir, runs_dir, capsys):
    assert sweep("create", "e", *TINY, "--param", "lr=log:0.05:0.5", runs_dir=runs_dir) == 0
    capsys.readouterr()
    assert sweep("run", "e", "--trials", "0", runs_dir=runs_dir) == 2
    assert "--trials must be a whole number from 1" in capsys.readouterr().err
    assert sweep("best", "e", runs_dir=runs_dir) == 2
    assert "has no complete trial yet; run some first (sweep run e --trials N)." in capsys.readouterr().err
