"""`bench --only insight` on tiny data: every candidate timed and scored, the JSON contract, bad options."""

import json

import pytest

from mnistlab.bench.insight_numerics import InsightOptions, candidates
from mnistlab.cli.main import main
from mnistlab.errors import ConfigError


def test_cli_insight_bench_times_and_scores_every_candidate(tiny_data_dir, capsys):
    code = main(["bench", "--only", "insight", "--points", "100", "--repeats", "1", "--json",
                 "--data-dir", str(tiny_data_dir)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["repeats"] == 1 and out["versions"]["scikit-learn"]
    expected = {(task, name, rep) for task, names in candidates().items() for name in names
                for rep in ("pixels", "layer 1")}
    assert {(r["task"], r["candidate"], r["representation"]) for r in out["rows"]} == expected
    for row in out["rows"]:
        assert row["points"] == 100 and len(row["seconds"]) == 1 and min(row["seconds"]) > 0
        keys = {"test_accuracy", "train_accuracy"} if row["task"] == "probe" else {"trustworthiness", "knn_accuracy"}
        assert set(row["quality"]) == keys and all(0 <= v <= 1 for v in row["quality"].values()), row
    pixels_pca = {r["candidate"]: r["quality"] for r in out["rows"] if r["task"] == "pca" and r["representation"] == "pixels"}
    assert pixels_pca["mnistlab"] == pytest.approx(pixels_pca["scikit-learn"], abs=1e-6)  # the same linear map


@pytest.mark.parametrize("kw, message", [({"repeats": 0}, "at least 1"), ({"points": (50,)}, "at least 100")])
def test_options_are_validated(kw, message):
    with pytest.raises(ConfigError, match=message):
        InsightOptions(**kw)
