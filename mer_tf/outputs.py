"""Output safety: every path a command writes is checked here, before any work starts.

The rules (README, "Nothing you own is overwritten"):

- A folder is replaced only when it is empty, or when mer-tf made it: a marker
  file (`.mer-tf.json`) written by the same kind of command. Anything else is
  refused with the folder's name and the flag that allows replacing it
  (`--overwrite`).
- An output equal to an input, inside one, or containing one is refused, with
  or without `--overwrite`.
- A file output (events log, video, JSON) needs an existing parent folder and
  must not be a folder. Folder outputs get missing parents created, as the
  README's `mer train --out models/eccnn` on a fresh checkout needs.
- Writability is probed by creating (and removing) a temporary entry where the
  output will go: permission bits do not stop root, a read-only filesystem or
  an immutable folder does, and only trying tells them apart.

Every refusal is an `OutputError` (a `ValueError`), which the command lines
print as one line and exit 2. The atomic writers in `mer_tf.atomic` do the
writing. Standard library only.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

MARKER = ".mer-tf.json"
OVERWRITE_FLAG = "--overwrite"

# kind -> the command that writes such a folder (for the messages)
KINDS = {
    "model": "mer train", "export": "mer export", "compare": "mer compare", "evaluation": "mer evaluate",
    "loso": "mer loso", "ablation": "mer ablate", "demo": "mer demo", "synthetic": "mer data synth",
    "work": "mer train/loso (backups)", "output": "mer-tf",
}  # fmt: skip


class OutputError(ValueError):
    """An output path mer-tf refuses to write; the message names the path and the fix."""


def _resolve(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def marker_kind(folder: str | os.PathLike) -> str | None:
    """The kind recorded in `folder`'s marker, or None when mer-tf did not make it."""
    folder = Path(folder)
    try:
        data = json.loads((folder / MARKER).read_text())
        if isinstance(data, dict) and data.get("made_by") == "mer-tf":
            return str(data.get("kind"))
    except (OSError, ValueError):
        pass
    # A synthetic set from before markers existed names its generator in synthetic.json.
    try:
        data = json.loads((folder / "synthetic.json").read_text())
        if isinstance(data, dict) and data.get("generator") == "mer_tf.datasets.synthetic":
            return "synthetic"
    except (OSError, ValueError):
        pass
    return None


def write_marker(folder: str | os.PathLike, kind: str) -> Path:
    """Mark `folder` as made by mer-tf (kind: "model", "export", ...)."""
    from mer_tf import __version__

    payload = {"made_by": "mer-tf", "kind": kind, "command": KINDS.get(kind, kind), "version": __version__,
               "note": "mer-tf replaces this folder only when this file says it made it"}
    # A plain write: the marker goes into a folder that is itself renamed into place when complete
    # (and mer_tf.atomic, which calls this, may not be imported from here: no import cycles).
    path = Path(folder) / MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def _input_relation(out: Path, inputs: Mapping[str, str | os.PathLike | None], allow_equal: Iterable = ()):
    allowed = {_resolve(p) for p in allow_equal if p is not None}
    for what, raw in inputs.items():
        if raw is None or str(raw) in ("", "-") or str(raw).isdigit():  # stdout, camera index
            continue
        inp = _resolve(raw)
        real_out, real_in = Path(os.path.realpath(out)), Path(os.path.realpath(inp))
        if real_out == real_in:
            if inp in allowed or real_in in allowed:
                continue
            return f"is the {what} ({raw})"
        if real_in in real_out.parents:
            return f"is inside the {what} ({raw})"
        if real_out in real_in.parents:
            return f"contains the {what} ({raw})"
    return None


def _probe(folder: Path, what: str, path: str | os.PathLike) -> None:
    """Create and remove a temporary folder in `folder`: the only honest writability test."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mer-tf-probe-", dir=folder))
    except OSError as err:
        raise OutputError(f"Cannot write the {what} {path}: {folder} is not writable ({err.strerror}). "
                          "Choose a writable location.") from None


def _existing_ancestor(path: Path, what: str, raw) -> Path:
    """The nearest existing ancestor of `path`; refuses a path that runs through a file."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"Cannot write the {what} {raw}: {parent} is a file, not a folder. "
                                  "Choose another path.")
            return parent
    return Path(path.anchor)


def check_folder(path: str | os.PathLike, kind: str, *, what: str | None = None, overwrite: bool = False,
                 inputs: Mapping[str, str | os.PathLike | None] | None = None,
                 allow_equal: Iterable = (), accept: Iterable[str] = ()) -> Path:
    """Check a folder output; returns its absolute path or raises `OutputError`.

    Args:
        path: the folder the command will write (replace) as a whole.
        kind: what it holds ("model", "export", ...; see `KINDS`); a folder with
            the marker of this kind may be replaced.
        what: the folder's name in messages (default: "<kind> folder").
        overwrite: the user passed --overwrite: a non-empty folder of another
            kind (or not made by mer-tf) may be replaced too.
        inputs: description -> input path; the output may not be, be inside,
            or contain any of them.
        allow_equal: inputs the output may equal (e.g. `mer compare` writes its
            report into the export folder it reads).
        accept: other kinds of mer-tf folder it may write into (`mer compare`
            adds its report to an export folder).
    """
    what = what or f"{kind} folder"
    out = _resolve(path)
    relation = _input_relation(out, inputs or {}, allow_equal)
    if relation:
        raise OutputError(f"The {what} {path} {relation}; writing there could destroy it. "
                          "Choose a folder outside the inputs.")
    cwd = _resolve(os.getcwd())
    if out == cwd or out in cwd.parents or out == Path(out.anchor) or out == _resolve("~"):
        raise OutputError(f"The {what} {path} is or contains the current folder or your home folder; "
                          "mer-tf never replaces it. Choose a new folder, e.g. {}.".format(Path(path) / "out"))
    if out.exists() and not out.is_dir():
        raise OutputError(f"The {what} {path} is a file, not a folder; mer-tf will not replace it. "
                          "Choose another path, or move the file away.")
    if out.is_dir():
        found = marker_kind(out)
        try:
            empty = not any(out.iterdir())
        except OSError as err:
            raise OutputError(f"Cannot read the {what} {path} ({err.strerror}). Choose another path.") from None
        if not empty and found != kind and found not in set(accept) and not overwrite:
            if found is None:
                why = "holds files mer-tf did not write"
            else:
                why = f"was written by `{KINDS.get(found, found)}`, not `{KINDS.get(kind, kind)}`"
            raise OutputError(f"The {what} {path} {why}; pass {OVERWRITE_FLAG} to replace it, "
                              "or choose another folder.")
        _probe(out.parent, what, path)
    else:
        _probe(_existing_ancestor(out, what, path), what, path)
    return out


def check_file(path: str | os.PathLike, *, what: str = "output file",
               inputs: Mapping[str, str | os.PathLike | None] | None = None) -> Path:
    """Check a file output (events log, video, JSON); returns its absolute path or raises `OutputError`.

    The parent folder must exist (a typo in it should not quietly create a new
    tree); an existing file of that name is replaced atomically at the end.
    """
    out = _resolve(path)
    relation = _input_relation(out, inputs or {}, ())
    if relation:
        raise OutputError(f"The {what} {path} {relation}; writing there could destroy it. "
                          "Choose a path outside the inputs.")
    if out.is_dir():
        raise OutputError(f"The {what} {path} is a folder; give a file name, e.g. {Path(path) / 'out'}"
                          f"{Path(path).suffix or ''}.")
    parent = out.parent
    if not parent.exists():
        _existing_ancestor(out, what, path)  # a parent path through a file gets its own message
        raise OutputError(f"The folder {parent} for the {what} {path} does not exist; create it first "
                          f"(mkdir -p {parent}).")
    if not parent.is_dir():
        raise OutputError(f"Cannot write the {what} {path}: {parent} is a file, not a folder. Choose another path.")
    _probe(parent, what, path)
    return out


def check_outputs(folders: Mapping[str, tuple] | None = None, files: Mapping[str, str | os.PathLike | None] | None = None,
                  *, inputs: Mapping[str, str | os.PathLike | None] | None = None, overwrite: bool = False,
                  allow_equal: Iterable = ()) -> None:
    """Check every output of a command at once, before its work starts.

    Args:
        folders: description -> (path, kind) for folder outputs (None paths skipped).
        files: description -> path for file outputs (None and "-" skipped).
        inputs, overwrite, allow_equal: as in `check_folder`.

    Two outputs may not be the same path either (say, --events and --annotate).
    """
    seen: dict[Path, str] = {}
    allow_equal = list(allow_equal)
    for what, (path, kind) in (folders or {}).items():
        if path is None:
            continue
        out = check_folder(path, kind, what=what, overwrite=overwrite, inputs=inputs, allow_equal=allow_equal)
        if out in seen:
            raise OutputError(f"The {what} and the {seen[out]} are the same path ({path}); give each its own.")
        seen[out] = what
    for what, path in (files or {}).items():
        if path is None or str(path) == "-":
            continue
        out = check_file(path, what=what, inputs=inputs)
        if out in seen:
            raise OutputError(f"The {what} and the {seen[out]} are the same path ({path}); give each its own.")
        seen[out] = what
