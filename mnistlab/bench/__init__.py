"""Benchmarks: mnistlab's trainer against the tutorials' torchvision + DataLoader loop."""

from mnistlab.bench.baseline import BaselineResult, run_baseline, torchvision_root
from mnistlab.bench.run import BenchOptions, BenchReport, format_report, run_bench

__all__ = ["BaselineResult", "BenchOptions", "BenchReport", "format_report", "run_baseline", "run_bench",
           "torchvision_root"]
