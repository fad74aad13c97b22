"""Files a user names: open only regular files, say what anything else is, and cap what is read."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from mnistlab.errors import MnistlabError


def describe(path: Path) -> str | None:
    """None for an existing regular file, else what it is ("not found", "is a directory", …)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of its path is a file, not a folder)"
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as e:
        return f"cannot be opened ({e.strerror or e})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def read_regular(path: str | Path, limit: int, what: str, error: type[MnistlabError]) -> bytes:
    """The bytes of regular file `path` (at most `limit`), else `error` naming `what` and the problem."""
    path = Path(path)
    problem = describe(path)
    if problem is not None:
        raise error(f"{what} {short(str(path))} {problem}.")
    size = path.stat().st_size
    if size > limit:
        raise error(f"{what} {short(str(path))} is {_size(size)}; the limit is {_size(limit)}.")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # a file that grows while read is still capped
    except OSError as e:
        raise error(f"{what} {short(str(path))} cannot be read ({e.strerror or e}).") from None
    if len(data) > limit:
        raise error(f"{what} {short(str(path))} is larger than the {_size(limit)} limit.")
    return data


def short(text: str, limit: int = 80) -> str:
    """`text` quoted, cut to `limit` characters with an ellipsis (messages never echo huge inputs)."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} bytes"


def check_inside(path: Path, root: Path, what: str, error: type[MnistlabError]) -> None:
    """`error` for a path that resolves outside `root` (a link out of a store is never followed); `what`
    names the root ("runs directory", "data directory")."""
    real, base = Path(path).resolve(), Path(root).resolve()
    if not real.is_relative_to(base):
        raise error(f"{path} is a link to {real}, outside the {what} {base}; mnistlab does not follow links out "
                    f"of it: move or copy the file into the {what}.")


def describe_os_error(error: OSError, where: Path) -> str:
    """A plain phrase for a failed write: the disk is full (with what is free), read-only, no permission…"""
    code = error.errno
    if code == errno.ENOSPC:
        try:
            free = shutil.disk_usage(where if where.exists() else where.parent).free
        except OSError:
            free = 0
        return f"the disk is full ({free:,} bytes free on {where})"
    if code == errno.EROFS:
        return f"{where} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {where}"
    if code == errno.ENAMETOOLONG:
        return "a file name there is longer than the file system allows (use a shorter runs directory path)"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return "a part of its path is a file, not a folder"
    return error.strerror or str(error)
