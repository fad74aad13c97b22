"""`mnistlab bench`: the tutorials' loop vs mnistlab's trainer, time to 98%, memory and progress overhead.

Measurement rules, the same on every side: one process, same model, seed and data; one warm-up
epoch excluded (the baseline's may be partial to keep CPU runs short); as many measured epochs on
each side, taken in turns (a baseline epoch, then a mnistlab run of warm-up + one epoch); the best
of each side's measured full epochs reported; CUDA synchronised around every timed region;
evaluation never timed.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch

from mnistlab.bench.augment_cost import augment_overhead
from mnistlab.bench.baseline import run_baseline, torchvision_root
from mnistlab.data.load import load_split
from mnistlab.device import device_name, pick_device
from mnistlab.errors import ConfigError
from mnistlab.presets import get_preset
from mnistlab.train.events import EpochEnded, Event, event_to_dict
from mnistlab.train.loop import TrainResult, train
from mnistlab.train.prepare import PreparedData, prepare_data

TARGET_ACCURACY = 0.98  # the `fast` preset's goal on the MNIST test set
MAX_ACCURACY_GAP = 0.01  # baseline and mnistlab must agree within one point
MAX_SPREAD = 1.5  # warn when measured epochs of one run differ by more than this factor
BUSY_LOAD = 0.5  # warn when, before we start, the 1-minute load exceeds this many runnable tasks per core


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how long; the defaults are the real benchmark, tests shrink them."""

    device: str = "auto"  # auto | cpu | cuda
    epochs: int = 2  # measured epochs on each side, after one warm-up epoch
    data_dir: str | Path | None = None
    skip_fast: bool = False  # skip the `fast` preset's time-to-98%
    warmup_batches: int = 500  # the baseline's untimed warm-up: a partial epoch (3,000 batches is a full one)
    fast_epochs: int | None = None  # None: the preset's own
    overhead_rounds: int = 2  # alternating headless / subscriber runs for progress_overhead (load drifts)

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1 measured epoch, got {self.epochs}.")
        if self.warmup_batches < 0:
            raise ConfigError(f"warm-up batches must be 0 or more, got {self.warmup_batches}.")
        if self.overhead_rounds < 1:
            raise ConfigError(f"overhead rounds must be at least 1, got {self.overhead_rounds}.")


@dataclass
class BenchReport:
    """Every number `bench` measured; `to_dict()` is the `--json` contract."""

    device: str
    device_name: str
    torch_version: str
    epochs: int  # measured epochs per side
    cpu_threads: int
    timestamp: str  # ISO 8601, UTC
    baseline_epoch_s: float  # best measured epoch of the tutorials' loop
    mnistlab_epoch_s: float  # best mnistlab epoch timed between the baseline's epochs (headless, after a warm-up)
    speedup: float  # baseline_epoch_s / mnistlab_epoch_s
    baseline_test_accuracy: float
    mnistlab_test_accuracy: float
    fast_seconds_to_98: float | None  # training seconds until `fast` first reaches 98% (None: never)
    fast_test_accuracy: float | None
    progress_overhead: float  # best epoch with a dashboard-like subscriber vs headless - 1 (0.03 = 3%)
    layer_stats_overhead: float  # best headless epoch (per-layer statistics on, the default) vs off - 1
    no_stats_epoch_s: float  # best measured epoch with the per-layer statistics off
    augment_overhead: dict  # recipe → median step time with it / without augmentation - 1 (`fast`, batch 128)
    augment_step_s: dict  # recipe (and "none") → median seconds per step
    host_peak_mb: float  # peak resident set size of this process
    device_peak_mb: float | None  # torch.cuda.max_memory_allocated (None on CPU)
    baseline_epoch_seconds: list[float] = field(default_factory=list)
    baseline_warmup_batches: int = 0
    mnistlab_epoch_seconds: list[float] = field(default_factory=list)  # first headless run, warm-up epoch first
    mnistlab_interleaved_epoch_seconds: list[float] = field(default_factory=list)  # timed between baseline epochs
    progress_headless_epoch_s: float = 0.0  # best measured headless epoch over all overhead rounds
    progress_epoch_s: float = 0.0  # best measured epoch with the subscriber over all rounds
    progress_epoch_seconds: list[list[float]] = field(default_factory=list)  # per run: headless, subscriber, no-stats, …
    progress_callback_fraction: float = 0.0  # seconds inside the subscriber / training seconds (direct cost)
    fast_epoch_seconds: list[float] = field(default_factory=list)
    load_avg_start: list[float] = field(default_factory=list)  # 1/5/15-minute load when the bench started
    load_avg: list[float] = field(default_factory=list)  # … and when it ended (other work skews CPU timings)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class SnapshotSubscriber:
    """Does per event what the dashboard's job registry does: a dict copy under a lock, epoch rows kept."""

    def __init__(self):
        self._lock = threading.Lock()
        self.latest: dict = {}
        self.rows: list[dict] = []
        self.busy_s = 0.0  # time spent in this subscriber: its direct cost to the trainer

    def __call__(self, event: Event) -> None:
        start = time.perf_counter()
        row = event_to_dict(event)
        with self._lock:
            self.latest = row
            if isinstance(event, EpochEnded):
                self.rows.append(row)
        self.busy_s += time.perf_counter() - start


class EpochRecorder:
    """Keeps the EpochEnded events of a run (for time-to-accuracy)."""

    def __init__(self):
        self.epochs: list[EpochEnded] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpochEnded):
            self.epochs.append(event)


def seconds_to(epochs: list[EpochEnded], target: float) -> float | None:
    """Training seconds (evaluation excluded) until test accuracy first reaches `target`, else None."""
    for event in epochs:
        if event.test_accuracy is not None and event.test_accuracy >= target:
            return event.elapsed_s
    return None


def host_peak_mb() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _best_measured(result: TrainResult) -> float:
    assert result.status == "finished" and len(result.epoch_seconds) >= 2, (result.status, result.message)
    return min(result.epoch_seconds[1:])  # epoch 1 is the warm-up


def run_bench(options: BenchOptions | None = None, log: Callable[[str], None] | None = None) -> BenchReport:
    """Run every measurement of `mnistlab bench` and return the report; `log` gets one line per phase."""
    options = options or BenchOptions()
    say = log or (lambda line: None)
    load_start = _load()
    device = pick_device(options.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seed_config = get_preset("seed000-mlp").config.with_(device=device.type, epochs=1 + options.epochs)
    # Load once (a missing dataset fails here, before anything runs); every mnistlab run shares it.
    data = prepare_data(seed_config, train=load_split("mnist", "train", options.data_dir),
                        test=load_split("mnist", "test", options.data_dir))

    with tempfile.TemporaryDirectory(prefix="mnistlab-bench-") as tmp:
        root = torchvision_root(options.data_dir, tmp)
        say(f"baseline: torchvision MNIST + DataLoader(batch_size=20, shuffle=True), "
            f"warm-up {options.warmup_batches} batches + {options.epochs} timed epochs…")
        interleaved: list[float] = []  # mnistlab epochs timed between the baseline's (warm-up excluded)

        def time_mnistlab() -> None:
            result = train(seed_config.with_(epochs=2), data=data)
            interleaved.append(_best_measured(result))
            say(f"  between baseline epochs: mnistlab epoch {interleaved[-1]:.2f} s (after a warm-up epoch)")

        base = run_baseline(root, device, options.epochs, options.warmup_batches, seed=seed_config.seed,
                            between=time_mnistlab)
    say(f"baseline: epochs {_fmt_list(base.epoch_seconds)} s, test accuracy {base.test_accuracy:.2%}")

    # Headless and subscriber runs alternate, so a burst of load from elsewhere hits both alike.
    runs: list[tuple[str, TrainResult]] = []
    busy_s = train_s = 0.0
    for _ in range(options.overhead_rounds):
        for kind in ("headless", "subscriber", "no-stats"):
            say(f"mnistlab seed000-mlp, {kind}: 1 warm-up + {options.epochs} timed epochs…")
            snapshot = SnapshotSubscriber() if kind == "subscriber" else None
            runs.append((kind, train(seed_config, data=data, subscribers=[snapshot] if snapshot else [],
                                     layer_stats=kind != "no-stats")))
            say(f"  epochs {_fmt_list(runs[-1][1].epoch_seconds)} s (first is warm-up)")
            if snapshot is not None:
                busy_s, train_s = busy_s + snapshot.busy_s, train_s + runs[-1][1].train_seconds
    headless = runs[0][1]

    say("augmentation: the `fast` step (batch 128) with none / affine / elastic, taking turns…")
    augment = augment_overhead(data.train, device)
    say("  " + ", ".join(f"{k} {v['step_s'] * 1e3:.2f} ms/step ({v['overhead']:+.0%})" for k, v in augment.items()))

    fast_to, fast_acc, fast_seconds = None, None, []
    if not options.skip_fast:
        fast_to, fast_acc, fast_seconds = _time_to_target(options, device, data, say)

    # The same number of epochs on each side, each after a warm-up, taken in turns (baseline epoch, then a
    # mnistlab run), so a drift of the machine's speed hits both alike; the best of each side is compared.
    baseline_s, mnistlab_s = min(base.epoch_seconds), min(interleaved)
    quiet_s = min(_best_measured(r) for kind, r in runs if kind == "headless")
    watched_s = min(_best_measured(r) for kind, r in runs if kind == "subscriber")
    bare_s = min(_best_measured(r) for kind, r in runs if kind == "no-stats")
    mnistlab_acc = headless.history[-1]["test_accuracy"]
    report = BenchReport(
        device=device.type, device_name=device_name(device), torch_version=torch.__version__,
        epochs=options.epochs, cpu_threads=torch.get_num_threads(),
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        baseline_epoch_s=baseline_s, mnistlab_epoch_s=mnistlab_s, speedup=baseline_s / mnistlab_s,
        baseline_test_accuracy=base.test_accuracy, mnistlab_test_accuracy=mnistlab_acc,
        fast_seconds_to_98=fast_to, fast_test_accuracy=fast_acc,
        progress_overhead=watched_s / quiet_s - 1.0, layer_stats_overhead=quiet_s / bare_s - 1.0,
        no_stats_epoch_s=bare_s, augment_overhead={k: v["overhead"] for k, v in augment.items() if k != "none"},
        augment_step_s={k: v["step_s"] for k, v in augment.items()},
        host_peak_mb=host_peak_mb(),
        device_peak_mb=torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        baseline_epoch_seconds=base.epoch_seconds, baseline_warmup_batches=base.warmup_batches,
        mnistlab_epoch_seconds=headless.epoch_seconds, mnistlab_interleaved_epoch_seconds=interleaved,
        progress_headless_epoch_s=quiet_s,
        progress_epoch_s=watched_s, progress_epoch_seconds=[r.epoch_seconds[1:] for _, r in runs],
        progress_callback_fraction=busy_s / max(train_s, 1e-9),
        fast_epoch_seconds=fast_seconds, load_avg_start=load_start, load_avg=_load(),
    )
    if abs(base.test_accuracy - mnistlab_acc) > MAX_ACCURACY_GAP:
        report.warnings.append(f"test accuracies differ by more than one point: baseline {base.test_accuracy:.2%}, "
                               f"mnistlab {mnistlab_acc:.2%}; the two sides may not be doing the same work.")
    measured = [base.epoch_seconds, interleaved, *report.progress_epoch_seconds]
    spread = max(max(m) / min(m) for m in measured if m)
    if spread > MAX_SPREAD:
        report.warnings.append(f"the same epoch's time varied up to {spread:.1f}× within one run: "
                               "other work on the machine skewed the timings; rerun when it is idle.")
    cores = os.cpu_count() or 1
    if device.type == "cpu" and load_start[0] > BUSY_LOAD * cores:  # at start: the end load counts ourselves
        report.warnings.append(f"the machine was busy (1-minute load {load_start[0]:.1f} on {cores} cores): "
                               "CPU timings are unreliable; rerun when it is idle.")
    return report


def _time_to_target(options: BenchOptions, device: torch.device, data: PreparedData,
                    say: Callable[[str], None]) -> tuple[float | None, float | None, list[float]]:
    """(seconds to 98%, final test accuracy, epoch seconds) of the `fast` preset."""
    config = get_preset("fast").config.with_(device=device.type)
    if options.fast_epochs is not None:
        config = config.with_(epochs=options.fast_epochs)
    say(f"fast preset: {config.epochs} epochs, watching for {TARGET_ACCURACY:.0%} test accuracy…")
    recorder = EpochRecorder()
    result = train(config, data=prepare_data(config, train=data.train, test=data.test), subscribers=[recorder])
    to_target = seconds_to(recorder.epochs, TARGET_ACCURACY)
    final = result.history[-1]["test_accuracy"] if result.history else None
    say(f"fast: epochs {_fmt_list(result.epoch_seconds)} s, test accuracy "
        f"{_fmt_list([e.test_accuracy or 0.0 for e in recorder.epochs], '{:.2%}')}")
    return to_target, final, result.epoch_seconds


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _fmt_list(values: list[float], spec: str = "{:.2f}") -> str:
    return ", ".join(spec.format(v) for v in values)


def format_report(report: BenchReport) -> str:
    """The report as a readable table."""
    def opt(value, spec: str) -> str:
        return "—" if value is None else spec.format(value)

    rows = [
        ("device", f"{report.device} — {report.device_name}, torch {report.torch_version}"),
        ("tutorial loop (DataLoader)", f"{report.baseline_epoch_s:.2f} s/epoch, test {report.baseline_test_accuracy:.2%}"),
        ("mnistlab trainer", f"{report.mnistlab_epoch_s:.2f} s/epoch, test {report.mnistlab_test_accuracy:.2%}"),
        ("speedup", f"{report.speedup:.2f}×  (best of {report.epochs} measured epoch{'s' if report.epochs > 1 else ''} each, warm-up excluded)"),
        ("progress overhead", f"{report.progress_overhead:+.1%}  ({report.progress_epoch_s:.2f} vs "
         f"{report.progress_headless_epoch_s:.2f} s/epoch; {report.progress_callback_fraction:.4%} inside the subscriber)"),
        ("layer statistics cost", f"{report.layer_stats_overhead:+.1%}  ({report.progress_headless_epoch_s:.2f} vs "
         f"{report.no_stats_epoch_s:.2f} s/epoch with them off)"),
        ("augmentation cost", ", ".join(f"{k} {v:+.0%}" for k, v in report.augment_overhead.items())
         + " per step (batch 128)"),
        ("fast preset to 98%", opt(report.fast_seconds_to_98, "{:.2f} s of training")
         + f"  (final test {opt(report.fast_test_accuracy, '{:.2%}')})"),
        ("peak memory", f"host {report.host_peak_mb:.0f} MB, device {opt(report.device_peak_mb, '{:.0f} MB')}"),
        ("load average", f"{' '.join(f'{x:.2f}' for x in report.load_avg_start)} at start, "
                         f"{' '.join(f'{x:.2f}' for x in report.load_avg)} at end"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
