"""Bundle: everything a board needs to run one model, as one folder or one `.tar.gz`.

A bundle holds the exported `.tflite` (metadata embedded) and its sidecar JSON,
`ecrl.json` (the calibrated thresholds) beside it, the face model files in
``models/`` (BlazeFace short and full range, the face mesh, and the peer
classifier `mer-edge bench` compares against), a
``bundle.json`` saying which file is what, and ``SHA256SUMS`` (the format of
``sha256sum -c``) covering every other file. `mer-edge run|bench|verify`
take a bundle as it is: nothing to set, nothing to place by hand.

Example:
    >>> with open_bundle("eccnn_int8_bundle.tar.gz") as b:
    ...     b.model, b.ecrl, b.models_dir
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

SCHEMA = "mer-tf-bundle"
SCHEMA_VERSION = 1
META = "bundle.json"  # also the marker: a folder with it was written by `mer-edge bundle`
SUMS = "SHA256SUMS"
TAR_SUFFIXES = (".tar.gz", ".tgz")


class BundleError(ValueError):
    """A bundle is missing, corrupt or not a mer-tf bundle (the message names the file and the fix)."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_bundle_path(path: str | Path) -> bool:
    """True for a `.tar.gz`/`.tgz` file or a folder holding ``bundle.json`` (what run/bench treat as a bundle)."""
    p = Path(path)
    return (p.is_dir() and (p / META).is_file()) or (p.name.endswith(TAR_SUFFIXES) and not p.is_dir())


@dataclass(frozen=True)
class Bundle:
    """A checked bundle folder.

    Args:
        root: the bundle folder (for a `.tar.gz`, the folder it was unpacked to).
        meta: ``bundle.json``.
        source: the path the user gave (folder or `.tar.gz`).
    """

    root: Path
    meta: dict
    source: Path

    @property
    def model(self) -> Path:
        return self.root / self.meta["model"]

    @property
    def ecrl(self) -> Path | None:
        return self.root / self.meta["ecrl"] if self.meta.get("ecrl") else None

    @property
    def models_dir(self) -> Path:
        return self.root / self.meta["models_dir"]

    @property
    def peer(self) -> Path | None:
        return self.models_dir / self.meta["peer"] if self.meta.get("peer") else None

    @classmethod
    def load(cls, root: str | Path, source: str | Path | None = None) -> Bundle:
        """Read and verify the bundle folder ``root`` (schema, every SHA-256, the model's metadata)."""
        root = Path(root)
        name = Path(source or root).name
        meta_path = root / META
        if not meta_path.is_file():
            raise BundleError(f"{name} is not a mer-tf bundle: it has no {META}. "
                              "Make one with `mer-edge bundle MODEL.tflite OUT`.")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BundleError(f"{name}: {META} is not valid JSON ({err}); the bundle is corrupt, "
                              "copy it again or rebuild it with `mer-edge bundle`.") from err
        if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
            raise BundleError(f"{name}: {META} is not a mer-tf bundle description (schema "
                              f"{meta.get('schema') if isinstance(meta, dict) else None!r}, expected {SCHEMA!r}).")
        version = meta.get("schema_version")
        if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            raise BundleError(f"{name}: bundle schema version {version!r} is not supported; this runtime reads "
                              f"1..{SCHEMA_VERSION}. Upgrade mer-tf on the device, or rebuild the bundle.")
        for key in ("model", "models_dir"):
            if not isinstance(meta.get(key), str):
                raise BundleError(f"{name}: {META} lacks {key!r}; rebuild the bundle with `mer-edge bundle`.")
        bundle = cls(root=root, meta=meta, source=Path(source or root))
        bundle.verify_files()
        return bundle

    def verify_files(self) -> list[str]:
        """Check every file against ``SHA256SUMS`` and that nothing listed in ``bundle.json`` is missing.

        Returns the checked relative paths. Raises `BundleError` on the first mismatch.
        """
        name = self.source.name
        sums = self.root / SUMS
        if not sums.is_file():
            raise BundleError(f"{name}: {SUMS} is missing; the bundle cannot be checked. Rebuild it.")
        listed: dict[str, str] = {}
        for n, line in enumerate(sums.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            parts = line.split(None, 1)
            if len(parts) != 2 or len(parts[0]) != 64:
                raise BundleError(f"{name}: {SUMS} line {n} is not '<sha256>  <file>': {line[:80]!r}. Rebuild the bundle.")
            rel = parts[1].lstrip("*").strip()
            if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
                raise BundleError(f"{name}: {SUMS} names a file outside the bundle: {rel!r}.")
            listed[rel] = parts[0].lower()
        for rel in (META, self.meta["model"], self.meta.get("sidecar"), self.meta.get("ecrl"),
                    *(f"{self.meta['models_dir']}/{f}" for f in self.meta.get("face_models", {}).values())):
            if rel and rel not in listed:
                raise BundleError(f"{name}: {rel} is not in {SUMS}; the bundle was edited. Rebuild it.")
        for rel, digest in listed.items():
            path = self.root / rel
            if not path.is_file():
                raise BundleError(f"{name}: {rel} is missing (listed in {SUMS}). Copy the whole bundle again.")
            if sha256(path) != digest:
                raise BundleError(f"{name}: {rel} is corrupt (its SHA-256 differs from {SUMS}). "
                                  "Copy the bundle again, or rebuild it with `mer-edge bundle`.")
        return sorted(listed)

    def describe(self) -> dict:
        """The model's checked metadata and the bundle's contents, for `mer-edge verify`."""
        from edge.model_info import ModelInfo

        info = ModelInfo.load(self.model)
        return {"bundle": str(self.source), "model": self.meta["model"], "variant": info.variant,
                "input_mode": info.input_mode, "input_size": info.input_size,
                "ecrl": self.meta.get("ecrl") or "built-in defaults",
                "face_models": sorted(self.meta.get("face_models", {}).values()),
                "files": len(self.verify_files()), "created_by": self.meta.get("created_by")}


def _safe_members(tar: tarfile.TarFile, name: str) -> tuple[str, list[tarfile.TarInfo]]:
    """The bundle's top folder and members; refuses links, devices and paths that leave it."""
    members = tar.getmembers()
    tops = {PurePosixPath(m.name).parts[0] for m in members if PurePosixPath(m.name).parts}
    if len(tops) != 1:
        raise BundleError(f"{name} is not a mer-tf bundle: it should hold one folder, found {sorted(tops)[:5]}.")
    for m in members:
        p = PurePosixPath(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise BundleError(f"{name}: member {m.name!r} is not a plain file inside the bundle; refusing to unpack it.")
    return tops.pop(), members


@contextmanager
def open_bundle(path: str | Path) -> Iterator[Bundle]:
    """A verified `Bundle` from a folder or a `.tar.gz` (unpacked to a temporary folder for the block).

    Raises:
        FileNotFoundError: no such path.
        BundleError: not a bundle, unreadable archive, or a file whose SHA-256 differs.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Bundle not found: {path}. Pass the folder or .tar.gz written by `mer-edge bundle`.")
    if path.is_dir():
        yield Bundle.load(path)
        return
    tmp = Path(tempfile.mkdtemp(prefix="mer-bundle-"))
    try:
        try:
            with tarfile.open(path, "r:*") as tar:
                top, members = _safe_members(tar, path.name)
                # Python < 3.11.4 has no extraction filter (Debian 12 and Raspberry Pi OS Bookworm
                # ship 3.11.2); the members were checked above: plain files and folders inside one.
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, members=members, filter="data")
                else:
                    tar.extractall(tmp, members=members)
        except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as err:
            raise BundleError(f"{path.name} cannot be unpacked ({err.__class__.__name__}: {err}); the file is "
                              "truncated or not a .tar.gz. Copy it again, or rebuild it with `mer-edge bundle`.") from err
        yield Bundle.load(tmp / top, source=path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
