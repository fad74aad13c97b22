"""`mnistlab bench --population K`: K trials trained as one population vs one after another by the normal trainer.

Workload (the issue's): K trials of 784-100-10 ReLU with Adam at batch 64 for one epoch on MNIST, differing in
learning rate (log-spaced 3e-4…3e-3) and seed. Each side is timed whole, as a sweep would run it: building
the models, training, the per-epoch evaluation and layer statistics (`train_population(configs)` vs
`[train(c) for c in configs]`, both on the same prepared data, both under the same CPU thread cap). One
untimed warm-up of each side on a small subset first; then `repeats` rounds, the side that goes first
alternating, so a drift of the machine's speed hits both alike. Reported: each side's median and range,
the median ratio (`population_speedup`) and the ratio within each round. The first round also checks the
two sides did the same work: each member's largest difference from its normal run's final weights. Most
members agree to ~1e-6 after an epoch; a few drift further, as the normal trainer itself drifts between
one and two CPU threads (seeds 4 and 13 of this workload: 0.025 and 0.18, the same run's own sensitivity
to rounding), so the median over members is judged, and the mean test accuracy of each side.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch

from mnistlab.bench.run import BUSY_LOAD, MAX_SPREAD, host_peak_mb
from mnistlab.data.load import load_split
from mnistlab.device import device_name, pick_device, synchronize
from mnistlab.errors import ConfigError
from mnistlab.models.spec import MLPSpec
from mnistlab.train.config import TrainConfig
from mnistlab.train.loop import TrainResult, train
from mnistlab.train.population import train_population
from mnistlab.train.prepare import PreparedData, prepare_data
from mnistlab.train.threads import cpu_threads

LR_RANGE = (3e-4, 3e-3)  # Adam learning rates the members spread over (log-spaced)
MAX_WEIGHT_GAP = 1e-3  # the median member's final weights must agree this closely (float rounding only)
MAX_ACCURACY_GAP = 0.005  # mean test accuracies of the two sides
WARMUP_SUBSET = 2048  # training images of the untimed warm-up of each side


@dataclass(frozen=True)
class PopulationOptions:
    """What to measure; the defaults are the real benchmark, tests shrink them."""

    members: int = 16
    device: str = "auto"  # auto | cpu | cuda
    data_dir: str | Path | None = None
    repeats: int = 3  # timed rounds, each one batched run and one sequential run
    hidden: tuple[int, ...] = (100,)
    batch_size: int = 64
    epochs: int = 1
    threads: int | None = None  # CPU intra-op threads for both sides (None: torch's default, one per core)

    def __post_init__(self):
        if self.members < 2:
            raise ConfigError(f"--population needs at least 2 trials to compare, got {self.members}.")
        if self.repeats < 1:
            raise ConfigError(f"--repeats must be at least 1, got {self.repeats}.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}.")


@dataclass
class PopulationReport:
    """Every number the population benchmark measured; `to_dict()` is its `--json` contract."""

    device: str
    device_name: str
    torch_version: str
    cpu_threads: int
    timestamp: str  # ISO 8601, UTC
    members: int
    model: str  # e.g. "784-100-10 relu"
    optimizer: str
    batch_size: int
    epochs: int
    repeats: int
    batched_s: float  # median wall seconds of the population (K trials at once)
    sequential_s: float  # median wall seconds of the K trials one after another
    population_speedup: float  # sequential_s / batched_s
    round_speedups: list[float] = field(default_factory=list)  # sequential / batched within each round
    batched_seconds: list[float] = field(default_factory=list)  # every round
    sequential_seconds: list[float] = field(default_factory=list)
    batched_train_seconds: list[float] = field(default_factory=list)  # training only (evaluation excluded)
    sequential_train_seconds: list[float] = field(default_factory=list)  # summed over the trials
    train_speedup: float = 0.0  # median sequential / median batched training seconds
    member_weight_diffs: list[float] = field(default_factory=list)  # per member: max |batched − sequential| weight
    median_weight_diff: float = 0.0  # the median of those (first round)
    batched_test_accuracy: float = 0.0  # mean over the members, first round
    sequential_test_accuracy: float = 0.0
    host_peak_mb: float = 0.0
    device_peak_mb: float | None = None
    load_avg_start: list[float] = field(default_factory=list)
    load_avg: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def population_configs(options: PopulationOptions, device: str) -> list[TrainConfig]:
    """The benchmark's K trials: one shape, learning rates log-spaced over LR_RANGE, seeds 0…K-1."""
    low, high = LR_RANGE
    k = options.members
    base = TrainConfig(model=MLPSpec(hidden=options.hidden), optimizer="adam", batch_size=options.batch_size,
                       epochs=options.epochs, device=device)
    return [base.with_(lr=low * (high / low) ** (i / (k - 1)), seed=i) for i in range(k)]


def _timed(device: torch.device, run: Callable[[], list[TrainResult]]) -> tuple[float, list[TrainResult]]:
    synchronize(device)
    start = time.perf_counter()
    results = run()
    synchronize(device)
    return time.perf_counter() - start, results


def run_population_bench(options: PopulationOptions | None = None,
                         log: Callable[[str], None] | None = None) -> PopulationReport:
    """Time the population against the sequential trainer and return the report; `log` gets one line per phase."""
    options = options or PopulationOptions()
    say = log or (lambda line: None)
    load_start = _load()
    device = pick_device(options.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    configs = population_configs(options, device.type)
    data = prepare_data(configs[0], train=load_split("mnist", "train", options.data_dir),
                        test=load_split("mnist", "test", options.data_dir))
    threads = cpu_threads(options.threads) if options.threads else nullcontext()
    with threads:
        _warm_up(configs, data, say)
        report = _measure(options, configs, data, device, say)
    report.load_avg_start, report.load_avg = load_start, _load()
    _warn(report, load_start)
    return report


def _warm_up(configs: list[TrainConfig], data: PreparedData, say: Callable[[str], None]) -> None:
    small = [c.with_(train_subset=WARMUP_SUBSET) for c in configs]
    warm = prepare_data(small[0], train=data.train, test=data.test.first(min(1000, len(data.test))))
    say(f"warm-up: {len(small)} trials on {len(warm.train):,} images, batched and one at a time (untimed)…")
    train_population(small, data=warm)
    train(small[0], data=warm)


def _measure(options: PopulationOptions, configs: list[TrainConfig], data: PreparedData, device: torch.device,
             say: Callable[[str], None]) -> PopulationReport:
    k = len(configs)
    batched, sequential, batched_train, sequential_train = [], [], [], []
    first: dict[str, list[TrainResult]] = {}
    sides = {"batched": lambda: train_population(configs, data=data),
             "sequential": lambda: [train(c, data=data) for c in configs]}
    for round_ in range(options.repeats):
        for side in (("batched", "sequential") if round_ % 2 == 0 else ("sequential", "batched")):
            seconds, results = _timed(device, sides[side])
            assert all(r.status in ("finished", "stalled") for r in results), [r.status for r in results]
            first.setdefault(side, results)
            if side == "batched":
                batched.append(seconds)
                batched_train.append(results[0].train_seconds)
            else:
                sequential.append(seconds)
                sequential_train.append(sum(r.train_seconds for r in results))
            say(f"round {round_ + 1}/{options.repeats}: {side} {k} trials in {seconds:.2f} s")
    diffs = [max(float((a - b).abs().max()) for a, b in zip(x.model.state_dict().values(), y.model.state_dict().values()))
             for x, y in zip(first["batched"], first["sequential"])]
    spec = configs[0].model
    return PopulationReport(
        device=device.type, device_name=device_name(device), torch_version=torch.__version__,
        cpu_threads=torch.get_num_threads(), timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        members=k, model=spec.describe(), optimizer=configs[0].optimizer, batch_size=configs[0].batch_size,
        epochs=configs[0].epochs, repeats=options.repeats,
        batched_s=statistics.median(batched), sequential_s=statistics.median(sequential),
        population_speedup=statistics.median(sequential) / statistics.median(batched),
        round_speedups=[s / b for s, b in zip(sequential, batched)], batched_seconds=batched,
        sequential_seconds=sequential, batched_train_seconds=batched_train, sequential_train_seconds=sequential_train,
        train_speedup=statistics.median(sequential_train) / statistics.median(batched_train),
        member_weight_diffs=diffs, median_weight_diff=statistics.median(diffs),
        batched_test_accuracy=statistics.mean(r.history[-1]["test_accuracy"] for r in first["batched"]),
        sequential_test_accuracy=statistics.mean(r.history[-1]["test_accuracy"] for r in first["sequential"]),
        host_peak_mb=host_peak_mb(),
        device_peak_mb=torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
    )


def _warn(report: PopulationReport, load_start: list[float]) -> None:
    for side, values in (("batched", report.batched_seconds), ("sequential", report.sequential_seconds)):
        if max(values) / min(values) > MAX_SPREAD:
            report.warnings.append(f"the {side} side's time varied {max(values) / min(values):.1f}× between rounds: "
                                   "other work on the machine skewed the timings; rerun when it is idle.")
    gap = abs(report.batched_test_accuracy - report.sequential_test_accuracy)
    if report.median_weight_diff > MAX_WEIGHT_GAP or gap > MAX_ACCURACY_GAP:
        report.warnings.append(f"batched and sequential runs differ (median weight gap {report.median_weight_diff:.2g}, "
                               f"test accuracy {gap:.2%}): the two sides did not do the same work.")
    cores = os.cpu_count() or 1
    if report.device == "cpu" and load_start[0] > BUSY_LOAD * cores:
        report.warnings.append(f"the machine was busy (1-minute load {load_start[0]:.1f} on {cores} cores): "
                               "CPU timings are unreliable; rerun when it is idle.")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def format_population_report(report: PopulationReport) -> str:
    """The report as a readable table."""
    def span(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}"

    rows = [
        ("device", f"{report.device} — {report.device_name}, torch {report.torch_version}"),
        ("workload", f"{report.members} trials of {report.model}, {report.optimizer}, batch {report.batch_size}, "
                     f"{report.epochs} epoch{'s' * (report.epochs != 1)}"),
        ("batched (one population)", f"{report.batched_s:.2f} s median ({span(report.batched_seconds)} s, "
                                     f"{report.repeats} rounds)"),
        ("sequential (normal trainer)", f"{report.sequential_s:.2f} s median ({span(report.sequential_seconds)} s)"),
        ("population speedup", f"{report.population_speedup:.2f}×  (per round {span(report.round_speedups)}×; "
                               f"training only {report.train_speedup:.2f}×)"),
        ("same work", f"final weights within {report.median_weight_diff:.1e} (median member; largest "
                      f"{max(report.member_weight_diffs):.1e}); test accuracy "
                      f"{report.batched_test_accuracy:.2%} vs {report.sequential_test_accuracy:.2%} (mean)"),
        ("load average", f"{' '.join(f'{x:.2f}' for x in report.load_avg_start)} at start, "
                         f"{' '.join(f'{x:.2f}' for x in report.load_avg)} at end"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
