"""`mnistlab bench --only insight`: the Inspect page's t-SNE, PCA and probes against scikit-learn and openTSNE.

Workload: the `fast` preset trained for one epoch on real MNIST; for each size N, the hidden layer's
activations and the pixels of N test images (t-SNE, PCA) and of N class-balanced training images
(probes, scored on `test_points` other test images). The library t-SNEs run on the top 50 principal
components, as mnistlab's does. Candidates take turns within each repeat, in an order that rotates
from one repeat to the next, so a drift in the machine's speed hits all alike. Quality is measured
on the first repeat only (every candidate is seeded; trustworthiness of 5,000 points costs seconds).
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE, trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mnistlab.data.load import load_split
from mnistlab.errors import ConfigError
from mnistlab.insight import fit_probe, hidden_activations, pca_2d, tsne_2d
from mnistlab.insight.probes import PROBE_L2, PROBE_STEPS
from mnistlab.presets import get_preset
from mnistlab.train.loop import train

TRUST_K = 10  # neighbours for trustworthiness and for the 2-D kNN accuracy
PCA_DIMS = 50


@dataclass(frozen=True)
class InsightOptions:
    """What to measure; the defaults are the real benchmark, tests shrink them."""

    data_dir: str | Path | None = None
    points: tuple[int, ...] = (2000, 5000)  # N: images projected, and images a probe is fitted on
    repeats: int = 3  # timed calls of each candidate on each workload
    test_points: int = 2000  # held-out test images every probe is scored on (the Inspect page's number)
    epochs: int = 1  # of the `fast` preset, whose activations are projected
    train_subset: int | None = None  # training images for that model (None: all 60,000)

    def __post_init__(self):
        if self.repeats < 1:
            raise ConfigError(f"--repeats must be at least 1, got {self.repeats}.")
        if not self.points or min(self.points) < 100:
            raise ConfigError(f"--points needs sizes of at least 100 images, got {list(self.points)}.")


@dataclass
class Measurement:
    """One candidate on one workload: every timed call and its quality figures."""

    task: str  # tsne | pca | probe
    candidate: str  # mnistlab | scikit-learn | openTSNE, "…, 1 thread" when capped with threadpoolctl
    representation: str  # pixels | layer 1
    points: int
    seconds: list[float] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)  # trustworthiness + knn_accuracy, or test/train accuracy

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class InsightReport:
    """Every number `bench --only insight` measured; `to_dict()` is the `--json` contract."""

    timestamp: str
    cpu_count: int
    versions: dict[str, str]
    model: str
    model_test_accuracy: float
    repeats: int
    rows: list[Measurement]
    load_avg_start: list[float]
    load_avg: list[float]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        for row, out in zip(self.rows, data["rows"], strict=True):
            out["median_s"] = row.median_s
        return data


def _pca50(x: np.ndarray) -> np.ndarray:
    # Both libraries advise reducing dense data to ~50 dimensions first; mnistlab's t-SNE does the same.
    return PCA(min(PCA_DIMS, *x.shape), random_state=0).fit_transform(x)


def _sklearn_tsne(x: np.ndarray) -> np.ndarray:
    return TSNE(2, perplexity=30, init="pca", learning_rate="auto", max_iter=500,
                random_state=0).fit_transform(_pca50(x))


def _open_tsne(x: np.ndarray) -> np.ndarray:
    import openTSNE

    # 250 exaggerated + 250 free iterations: the 500 of the others; FFT gradients, its choice for large N.
    return np.asarray(openTSNE.TSNE(perplexity=30, early_exaggeration_iter=250, n_iter=250, initialization="pca",
                                    negative_gradient_method="fft", n_jobs=-1, random_state=0).fit(_pca50(x)))


def _sklearn_pca(x: np.ndarray) -> np.ndarray:
    return PCA(2, random_state=0).fit_transform(x)


def _sklearn_probe(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    # The same objective as fit_probe: mean cross-entropy + l2/2 ‖W‖², i.e. C = 1 / (l2 N).
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1 / (PROBE_L2 * len(x)), max_iter=PROBE_STEPS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x.astype(np.float64), y)
    return model.predict


def _mnistlab_probe(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return fit_probe(x, y).predict


def _one_thread(fn: Callable) -> Callable:
    def capped(*args):
        with threadpool_limits(1):
            return fn(*args)
    return capped


def candidates() -> dict[str, dict[str, Callable]]:
    """task → candidate name → fn; openTSNE is left out (with a warning) where it is not installed."""
    tsne = {"mnistlab": lambda x: tsne_2d(x, seed=0), "scikit-learn": _sklearn_tsne,
            "scikit-learn, 1 thread": _one_thread(_sklearn_tsne)}
    try:
        import openTSNE  # noqa: F401
        tsne["openTSNE"] = _open_tsne
    except ImportError:
        pass
    return {"tsne": tsne,
            "pca": {"mnistlab": pca_2d, "scikit-learn": _sklearn_pca, "scikit-learn, 1 thread": _one_thread(_sklearn_pca)},
            "probe": {"mnistlab": _mnistlab_probe, "scikit-learn": _sklearn_probe,
                      "scikit-learn, 1 thread": _one_thread(_sklearn_probe)}}


def projection_quality(x: np.ndarray, y2: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Trustworthiness (k = 10) of the 2-D map, and 10-NN accuracy in it (5-fold cross-validation)."""
    knn = cross_val_score(KNeighborsClassifier(TRUST_K), y2, labels, cv=5).mean()
    return {"trustworthiness": float(trustworthiness(x, y2, n_neighbors=TRUST_K)), "knn_accuracy": float(knn)}


def run_insight_bench(options: InsightOptions | None = None,
                      log: Callable[[str], None] | None = None) -> InsightReport:
    """Time and score every candidate on every workload; `log` gets one line per measurement."""
    options = options or InsightOptions()
    say = log or (lambda line: None)
    load_start = _load()
    config = get_preset("fast").config.with_(device="cpu", epochs=options.epochs, train_subset=options.train_subset)
    say(f"training `fast` for {options.epochs} epoch(s) on the CPU (not timed)…")
    result = train(config, data_dir=options.data_dir, layer_stats=False)
    model, accuracy = result.model, result.history[-1]["test_accuracy"]
    train_split = load_split("mnist", "train", options.data_dir)
    test_split = load_split("mnist", "test", options.data_dir)
    order = torch.randperm(len(test_split), generator=torch.Generator().manual_seed(0))
    held_out = test_split.take(order[:options.test_points])  # probes are scored on these …
    pool = test_split.take(order[options.test_points:]) if len(order) > options.test_points else test_split
    workloads = []  # (points, representation, projected x, labels, probe train x, labels, probe test x, labels)
    for n in options.points:
        shown = pool.first(min(n, len(pool)))  # … and never projected alongside
        fit = train_split.subset(min(n, len(train_split)), "stratified", 0)
        for layer, name in ((1, "layer 1"), (0, "pixels")):
            workloads.append((n, name, hidden_activations(model, shown.images, layer), shown.labels.numpy(),
                              hidden_activations(model, fit.images, layer), fit.labels.numpy(),
                              hidden_activations(model, held_out.images, layer), held_out.labels.numpy()))
    table = candidates()
    rows = {(task, c, rep, n): Measurement(task, c, rep, n)
            for n, rep, *_ in workloads for task, cs in table.items() for c in cs}
    for r in range(options.repeats):
        for n, rep, x, labels, fit_x, fit_y, test_x, test_y in workloads:
            for task, cs in table.items():
                names = list(cs)
                for c in names[r % len(names):] + names[:r % len(names)]:
                    row = rows[(task, c, rep, n)]
                    start = time.perf_counter()
                    out = cs[c](fit_x, fit_y) if task == "probe" else cs[c](x)
                    row.seconds.append(time.perf_counter() - start)
                    if r == 0:
                        row.quality = ({"test_accuracy": float((out(test_x) == test_y).mean()),
                                        "train_accuracy": float((out(fit_x) == fit_y).mean())} if task == "probe"
                                       else projection_quality(x, np.asarray(out, np.float64), labels))
                    say(f"  repeat {r + 1}: {task} {rep} N={n} {c}: {row.seconds[-1]:.2f} s {_fmt_q(row.quality)}")
    report = InsightReport(timestamp=datetime.now(UTC).isoformat(timespec="seconds"), cpu_count=os.cpu_count() or 1,
                           versions=_versions(), model=f"fast, {options.epochs} epoch(s): {model.spec.describe()}",
                           model_test_accuracy=accuracy, repeats=options.repeats, rows=list(rows.values()),
                           load_avg_start=load_start, load_avg=_load())
    if "openTSNE" not in table["tsne"]:
        report.warnings.append("openTSNE is not installed, so it was not measured (pip install openTSNE==1.0.4).")
    return report


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "numpy", "scikit-learn", "openTSNE", "threadpoolctl"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _fmt_q(quality: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in quality.items())


def format_insight_report(report: InsightReport) -> str:
    """The report as a readable table: median and min–max seconds, quality, per candidate and workload."""
    lines = [f"model: {report.model}, test {report.model_test_accuracy:.2%}; {report.cpu_count} CPUs; "
             f"load {report.load_avg_start} → {report.load_avg}; {report.repeats} repeats",
             "versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()),
             f"{'task':<6} {'input':<8} {'N':>5}  {'candidate':<23} {'median s':>9}  {'min–max s':<13} quality"]
    for row in report.rows:
        spread = f"{min(row.seconds):.2f}–{max(row.seconds):.2f}"
        lines.append(f"{row.task:<6} {row.representation:<8} {row.points:>5}  {row.candidate:<23} "
                     f"{row.median_s:>9.2f}  {spread:<13} {_fmt_q(row.quality)}")
    return "\n".join(lines)
