"""Atomic writes: a file or folder is either the old one or the complete new one, never half.

One place for the mechanism (temporary name beside the target, then a rename),
used by model folders, exports, reports, ecrl.json and preprocess.json.
Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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
def atomic_folder(out_dir: str | os.PathLike):
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir` in one rename.

    An interrupted run leaves only a `.tmp-*` folder beside `out_dir`, never a
    half-written `out_dir` that loads; an earlier `out_dir` is replaced only at the end.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        yield tmp
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
