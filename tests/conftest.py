"""Shared fixtures: tiny synthetic datasets written as real IDX files, the real data, a run store."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mnistlab.data.idx import write_idx

pytest_plugins = ["browser_fixtures"]  # chromium, shots: shared by the browser tests


def _real_data() -> Path:
    """Where the real datasets are: $MNISTLAB_TEST_DATA, else ../shared/data, else what `make data` fetched
    ($MNISTLAB_DATA_DIR or ./data), so a fresh clone without ../shared runs the integration tests too."""
    root = Path(__file__).resolve().parents[1]
    if os.environ.get("MNISTLAB_TEST_DATA"):
        return Path(os.environ["MNISTLAB_TEST_DATA"])
    candidates = [root / ".." / "shared" / "data", Path(os.environ.get("MNISTLAB_DATA_DIR") or root / "data")]
    return next((c for c in candidates if (c / "mnist" / "train-images-idx3-ubyte.gz").is_file()), candidates[0])


REAL_DATA = _real_data()


def synthetic_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """Learnable 28×28 images: class c lights a 6×6 block at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(len(labels), 28, 28), dtype=np.uint8)
    for c in range(10):
        row, col = 2 + (c // 5) * 12, 1 + (c % 5) * 5
        images[labels == c, row:row + 6, col:col + 5] = 230
    return images


def write_dataset(root: Path, name: str, n_train: int = 600, n_test: int = 200, seed: int = 0) -> Path:
    """Write the four IDX files of a small synthetic dataset under root/name (train gz, test raw)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, suffix in (("train", n_train, ".gz"), ("t10k", n_test, "")):
        labels = (np.arange(n) % 10).astype(np.uint8)
        np.random.default_rng(seed + n).shuffle(labels)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", synthetic_images(labels, seed + n))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return root


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """A data dir with synthetic 'mnist' and 'fashion-mnist' (600 train / 200 test each)."""
    root = tmp_path_factory.mktemp("data")
    write_dataset(root, "mnist", seed=1)
    write_dataset(root, "fashion-mnist", seed=2)
    return root


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real MNIST/Fashion-MNIST IDX files in ../shared/data (present in CI)."""
    if not (REAL_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real data not found at {REAL_DATA}; set MNISTLAB_TEST_DATA")
    return REAL_DATA


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def env(monkeypatch, tiny_data_dir, runs_dir):
    """Point the app (and the CLI) at the tiny data and a fresh run store."""
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("MNISTLAB_RUNS_DIR", str(runs_dir))
    return tiny_data_dir, runs_dir


@pytest.fixture
def app_caches():
    """AppTest shares Streamlit's caches across tests: start each test with none (a new job queue too),
    and never leave a worker training behind a failed test."""
    import streamlit as st

    from ui import cache

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    queue = cache.job_queue()
    for snap in queue.jobs():
        if snap.active:
            queue.stop(snap.job_id)
            queue.wait(snap.job_id, 60)
    st.cache_data.clear()
    st.cache_resource.clear()


POSTGRES_HELP = ("the PostgreSQL sweep tests need a database: `make test` starts one (tools/test-postgres.sh, as "
                 "root), or set MNISTLAB_TEST_POSTGRES=postgresql://user:password@host:5432/db")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL URL for storage tests; skipped with how to get one, but never skipped in CI."""
    url = os.environ.get("MNISTLAB_TEST_POSTGRES", "").strip()
    missing = None
    if not url:
        missing = POSTGRES_HELP
    else:
        import sqlalchemy

        try:
            probe = url.replace("postgresql://", "postgresql+psycopg2://", 1)  # the driver we pin (as the sweeps do)
            engine = sqlalchemy.create_engine(probe)
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
            engine.dispose()
        except Exception as error:  # noqa: BLE001 - any failure to connect means: no database here
            missing = f"cannot reach {url} ({type(error).__name__}: {str(error).splitlines()[0]}); {POSTGRES_HELP}"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return url
