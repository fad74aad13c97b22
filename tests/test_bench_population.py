"""`bench --population`: the report contract on tiny data (timings are measured, never asserted on)."""

import json

import pytest

from mnistlab.bench.population import (
    LR_RANGE,
    PopulationOptions,
    format_population_report,
    population_configs,
    run_population_bench,
)
from mnistlab.cli.main import main
from mnistlab.errors import ConfigError
from mnistlab.train.population_key import check_population

REPORT_KEYS = ("device", "device_name", "torch_version", "cpu_threads", "members", "model", "batch_size", "repeats",
               "batched_s", "sequential_s", "population_speedup", "round_speedups", "batched_seconds",
               "sequential_seconds", "train_speedup", "member_weight_diffs", "median_weight_diff", "load_avg_start", "load_avg", "warnings")


def test_the_workload_is_one_shape_spread_over_learning_rates():
    configs = population_configs(PopulationOptions(), "cpu")
    check_population(configs)  # one population
    assert len(configs) == 16 and configs[0].model.sizes == (784, 100, 10) and configs[0].batch_size == 64
    assert {c.optimizer for c in configs} == {"adam"} and {c.epochs for c in configs} == {1}
    assert configs[0].lr == pytest.approx(LR_RANGE[0]) and configs[-1].lr == pytest.approx(LR_RANGE[1])
    assert [c.seed for c in configs] == list(range(16))


def test_report_has_every_key_on_tiny_data(tiny_data_dir):
    lines = []
    report = run_population_bench(PopulationOptions(members=3, device="cpu", data_dir=tiny_data_dir, repeats=2,
                                                    threads=1), log=lines.append)
    data = report.to_dict()
    assert all(key in data for key in REPORT_KEYS), set(REPORT_KEYS) - set(data)
    json.dumps(data)
    assert data["members"] == 3 and data["cpu_threads"] == 1 and len(data["batched_seconds"]) == 2
    assert data["population_speedup"] == pytest.approx(data["sequential_s"] / data["batched_s"])
    assert data["round_speedups"] == pytest.approx([s / b for s, b in zip(data["sequential_seconds"],
                                                                          data["batched_seconds"])])
    assert len(data["member_weight_diffs"]) == 3 and max(data["member_weight_diffs"]) < 1e-3  # the same work
    assert data["batched_test_accuracy"] == pytest.approx(data["sequential_test_accuracy"], abs=0.01)
    assert any("round 2/2" in line for line in lines)
    assert "population speedup" in format_population_report(report)


def test_cli_bench_population_json(tiny_data_dir, capsys):
    code = main(["bench", "--population", "2", "--repeats", "1", "--device", "cpu", "--json",
                 "--data-dir", str(tiny_data_dir)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["members"] == 2 and out["population_speedup"] > 0


def test_options_are_validated():
    with pytest.raises(ConfigError, match="at least 2"):
        PopulationOptions(members=1)
    with pytest.raises(ConfigError, match="--repeats"):
        PopulationOptions(repeats=0)
