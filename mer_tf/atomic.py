"""Atomic writes: a file or folder is either the old one or the complete new one, never half.

One place for the mechanism (temporary name beside the target, then a rename),
used by model folders, exports, reports, event logs, ecrl.json and
preprocess.json. What may be replaced at all is decided by `mer_tf.outputs`;
`atomic_folder` asks it again at the start and writes the folder's marker.

Temporary names carry the writer's process id, so the next writer beside the
same target removes what a killed one left (`.model.tmp-1234-...`). Files and
folders get the mode the user's umask gives, not tempfile's private 0600/0700.
Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK: int | None = None


def umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status") as fh:
                _UMASK = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours
    return True


def remove_stale(parent: Path, name: str) -> None:
    """Remove temporaries for `name` in `parent` left by writers that are no longer running."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(?:tmp|old|part)-(\d+)-")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _alive(int(m.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def temp_path(path: str | os.PathLike, kind: str = "tmp", suffix: str = "") -> Path:
    """A unique temporary name beside `path` that `remove_stale` recognises (kind: tmp or part)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{kind}-{os.getpid()}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~umask())
    return Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, payload: Any, *, indent: int = 2, sort_keys: bool = False,
                      default=None) -> Path:
    """`atomic_write_text` of `payload` as JSON with a final newline."""
    return atomic_write_text(path, json.dumps(payload, indent=indent, sort_keys=sort_keys, default=default) + "\n")


@contextmanager
def atomic_folder(out_dir: str | os.PathLike, kind: str = "output", *, overwrite: bool = False,
                  inputs: dict | None = None):
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir` in one rename.

    Args:
        out_dir: the folder to write.
        kind: what it holds ("model", "export", ...): the marker written into it,
            and the only kind of existing folder replaced without `overwrite`
            (see `mer_tf.outputs.check_folder`, which is run first).
        overwrite: the user allowed replacing a folder mer-tf did not make.
        inputs: inputs the folder may not be, be inside or contain.

    An interrupted run leaves only a `.tmp-<pid>-*` folder beside `out_dir` (the
    next run removes it), never a half-written `out_dir` that loads; an earlier
    `out_dir` is replaced only at the end.
    """
    from mer_tf.outputs import check_folder, write_marker

    out_dir = Path(out_dir)
    check_folder(out_dir, kind, overwrite=overwrite, inputs=inputs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir.parent, out_dir.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())
        yield tmp
        write_marker(tmp, kind)
        # Checked again at the end: the folder may have appeared or changed during a long run.
        check_folder(out_dir, kind, overwrite=overwrite, inputs=inputs)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{os.urandom(3).hex()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
