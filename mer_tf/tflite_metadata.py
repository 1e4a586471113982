"""mer-tf metadata carried inside a `.tflite` file (TF-free: the device reads models through this).

How it is stored: a small ZIP archive holding one member, `mer_tf_metadata.json`,
appended after the TFLite flatbuffer. The flatbuffer says where every table,
vector and buffer lives by offsets from its own start, so bytes after its end
are never reached: LiteRT (`ai_edge_litert.interpreter.Interpreter`, from
`model_path` and `model_content` alike) loads and runs such a file unchanged
(checked by `tests/test_metadata.py`). This is the mechanism TFLite Support uses for
a model's associated files. We chose it over a new entry in the flatbuffer's
own `metadata` vector because that needs the TFLite schema and a flatbuffer
rewrite on the writing side and a flatbuffer parser on the device, whereas a
ZIP is read with the standard library (`zipfile` finds an archive that has
bytes in front of it). The same dictionary is written beside the model as a
sidecar JSON file (`sidecar_path`), for tools that cannot open a ZIP.

The dictionary (schema version 1):

```
{"schema": "mer-tf.tflite-metadata", "schema_version": 1,
 "model_name": "eccnn", "mer_tf_version": "0.1.0", "variant": "int8",
 "labels": ["Neutral", ..., "Sad"],
 "preprocess": {...},                # FacePreprocessParams.to_dict()
 "input_mode": "apex",               # or "flow" (onset->apex u, v, strain); "input_spec": input.json
 "signature": "classify",            # the named signature key
 "input":  {"name", "shape", "dtype", "scale", "zero_point"},   # scale 0.0: not quantized
 "output": {"name", "shape", "dtype", "scale", "zero_point", "kind": "log_probabilities"},
 "quantization": {"mode", "representative_samples", "qat", "pruning_sparsity", ...},
 "model_bytes": 123456, "model_sha256": "..."}   # of the flatbuffer alone, checked by read()
```
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mer_tf.atomic import atomic_write_bytes

SCHEMA = "mer-tf.tflite-metadata"
SCHEMA_VERSION = 1
MEMBER = "mer_tf_metadata.json"
VARIANTS = ("float32", "float16", "dynamic", "int8", "qat_int8", "pruned_float32", "pruned_int8")
REQUIRED = ("labels", "preprocess", "variant", "input", "output")
_TFLITE_ID = b"TFL3"  # flatbuffer file identifier, bytes 4..8 of every .tflite


class MetadataError(ValueError):
    """A `.tflite` file is corrupt, truncated, or carries no mer-tf metadata.

    `damaged` is True when the file itself is cut off or corrupt (not merely
    without metadata): a sidecar cannot make such a file usable.
    """

    def __init__(self, message: str, damaged: bool = False):
        super().__init__(message)
        self.damaged = damaged


def _check_flatbuffer(data: bytes, name: str) -> None:
    if len(data) < 8 or data[4:8] != _TFLITE_ID:
        raise MetadataError(
            f"{name} is not a TFLite model (no 'TFL3' identifier in its first 8 bytes; "
            f"{len(data)} bytes): the file is corrupt or not a .tflite; re-run `mer export`.", damaged=True
        )
    root = int.from_bytes(data[0:4], "little")
    if root >= len(data):
        raise MetadataError(f"{name} is truncated: its root table offset {root} lies past its end ({len(data)} bytes).",
                            damaged=True)


def _archive_start(data: bytes) -> int | None:
    """Offset where an appended mer-tf archive starts, or None if there is none."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if i.filename == MEMBER]
            if not infos:
                return None
            return min(i.header_offset for i in zf.infolist())
    except zipfile.BadZipFile:
        return None


def strip(tflite_bytes: bytes) -> bytes:
    """The bare flatbuffer: `tflite_bytes` without any appended mer-tf archive."""
    start = _archive_start(tflite_bytes)
    return tflite_bytes if start is None else tflite_bytes[:start]


def validate(meta: dict[str, Any]) -> None:
    """Raise ValueError naming the problem when `meta` lacks what the device needs."""
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ValueError(f"TFLite metadata lacks {missing}; required keys: {list(REQUIRED)}.")
    labels = meta["labels"]
    if not isinstance(labels, (list, tuple)) or not labels or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"TFLite metadata 'labels' must be a non-empty list of strings. Received: labels={labels!r}")
    if meta["variant"] not in VARIANTS:
        raise ValueError(f"TFLite metadata 'variant' must be one of {VARIANTS}. Received: variant={meta['variant']!r}")
    for end in ("input", "output"):
        for key in ("dtype", "scale", "zero_point"):
            if key not in meta[end]:
                raise ValueError(f"TFLite metadata '{end}' lacks '{key}'. Received: {end}={meta[end]!r}")


def embed(tflite_bytes: bytes, meta: dict[str, Any]) -> bytes:
    """Append `meta` to a TFLite flatbuffer (replacing earlier mer-tf metadata).

    Args:
        tflite_bytes: a converted model, with or without earlier mer-tf metadata.
        meta: at least `labels`, `preprocess`, `variant`, `input`, `output` (see the
            module docstring). Schema fields and the model's size and SHA-256 are added.

    Returns:
        The model bytes followed by the archive; LiteRT loads them unchanged.
    """
    model = strip(bytes(tflite_bytes))
    _check_flatbuffer(model, "the model bytes given to embed()")
    full = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **meta}
    full["model_bytes"] = len(model)
    full["model_sha256"] = hashlib.sha256(model).hexdigest()
    validate(full)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MEMBER, json.dumps(full, indent=1, sort_keys=True))
    return model + buf.getvalue()


def read_bytes(data: bytes, name: str = "<bytes>") -> dict[str, Any]:
    """The metadata embedded in `data`; `name` is used in error messages."""
    _check_flatbuffer(data, name)
    start = _archive_start(data)
    if start is None:
        if MEMBER.encode() in data[-65536:]:
            raise MetadataError(f"{name} is truncated: its mer-tf metadata archive is cut off; re-run `mer export`.",
                                damaged=True)
        raise MetadataError(
            f"{name} carries no embedded mer-tf metadata (or is truncated before it); export it with `mer export`, "
            f"or read its sidecar {sidecar_path(name).name} with read_sidecar()."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta = json.loads(zf.read(MEMBER).decode("utf-8"))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:  # zlib/CRC/JSON errors
        raise MetadataError(f"{name} has a corrupt mer-tf metadata archive ({exc}); re-run `mer export`.",
                            damaged=True) from exc
    _check_header(meta, name)
    if meta.get("schema") != SCHEMA or meta.get("schema_version", 0) > SCHEMA_VERSION:
        raise MetadataError(
            f"{name} has metadata of schema {meta.get('schema')!r} version {meta.get('schema_version')!r}; "
            f"this mer-tf reads {SCHEMA!r} up to version {SCHEMA_VERSION}: upgrade mer-tf."
        )
    if meta.get("model_bytes") != start or meta.get("model_sha256") != hashlib.sha256(data[:start]).hexdigest():
        raise MetadataError(
            f"{name} is corrupt: its model part ({start} bytes) does not match the size/SHA-256 "
            f"recorded in its metadata ({meta.get('model_bytes')} bytes); re-run `mer export`.", damaged=True
        )
    return meta


def _check_header(meta: Any, name: str) -> None:
    """Metadata is a JSON object with an integer schema version; anything else is named, not crashed on."""
    if not isinstance(meta, dict):
        raise MetadataError(f"{name}: its mer-tf metadata is a JSON {type(meta).__name__}, not an object; "
                            "re-run `mer export`.")
    version = meta.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise MetadataError(f"{name}: its metadata schema_version must be an integer. Received: {version!r}; "
                            "re-run `mer export`.")


def read(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata embedded in the `.tflite` file at `path`.

    Raises:
        FileNotFoundError: no such file.
        MetadataError (a ValueError): the file is corrupt, truncated, or has no
            mer-tf metadata; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TFLite model not found: {path}")
    return read_bytes(path.read_bytes(), str(path))


def sidecar_path(path: str | os.PathLike) -> Path:
    """`eccnn_int8.tflite` -> `eccnn_int8.json` (the sidecar beside the model)."""
    return Path(path).with_suffix(".json")


def write_sidecar(path: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write `meta` as the sidecar of the model at `path`, atomically; returns its path."""
    out = sidecar_path(path)
    atomic_write(out, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return out


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The sidecar metadata of the model at `path` (or of the sidecar path itself)."""
    side = sidecar_path(path)
    if not side.is_file():
        raise FileNotFoundError(f"metadata sidecar not found: {side} (written by `mer export` beside {Path(path).name})")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise MetadataError(f"{side} is not valid JSON ({exc}); re-run `mer export`.") from exc
    _check_header(meta, str(side))
    return meta


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` atomically (see `mer_tf.atomic`)."""
    atomic_write_bytes(path, data)


def quantize(x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Float input -> the model's input dtype with `params`' scale and zero point (no-op for float)."""
    if not params.get("scale"):
        return np.asarray(x, dtype=params.get("dtype", "float32"))
    info = np.iinfo(params["dtype"])
    q = np.round(np.asarray(x, np.float32) / params["scale"] + params["zero_point"])
    return np.clip(q, info.min, info.max).astype(params["dtype"])


def dequantize(q: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The model's output -> float32 with `params`' scale and zero point (no-op for float)."""
    if not params.get("scale"):
        return np.asarray(q, dtype=np.float32)
    return (np.asarray(q, np.float32) - params["zero_point"]) * np.float32(params["scale"])
