"""write_bundle: an exported model -> a bundle folder and its `.tar.gz` (see `edge.bundle`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from edge.bundle import META, SCHEMA, SCHEMA_VERSION, SUMS, BundleError, sha256
from mer_tf.atomic import atomic_folder
from mer_tf.outputs import MARKER

log = logging.getLogger(__name__)

MODELS_DIR = "models"


def _is_our_folder(path: Path) -> bool:
    try:
        return json.loads((path / META).read_text(encoding="utf-8")).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def _is_our_tarball(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError, EOFError):
        return False
    return any(n.count("/") == 1 and n.endswith("/" + META) for n in names)


def bundle_paths(out: str | Path) -> tuple[Path, Path]:
    """(folder, tarball) for ``out``: ``out/`` and ``out.tar.gz`` (a trailing .tar.gz on ``out`` is allowed)."""
    out = Path(out)
    for suffix in (".tar.gz", ".tgz"):
        if out.name.endswith(suffix):
            out = out.with_name(out.name[: -len(suffix)])
    return out, out.with_name(out.name + ".tar.gz")


def check_outputs(model: Path, out: str | Path) -> tuple[Path, Path]:
    """Refuse, before any work, outputs that would replace something mer-tf did not make."""
    folder, tarball = bundle_paths(out)
    resolved = folder.resolve()
    if resolved == model.resolve().parent or resolved in model.resolve().parents:
        raise BundleError(f"OUT {folder} contains the model {model}; replacing it would delete the model. "
                          "Choose an OUT outside the model's folder, e.g. the folder's sibling.")
    if folder.exists() and not folder.is_dir():
        raise BundleError(f"Bundle folder {folder} exists and is a file; choose another OUT.")
    if folder.is_dir() and any(folder.iterdir()) and not _is_our_folder(folder):
        raise BundleError(f"{folder} exists and is not a mer-tf bundle; it is not replaced. "
                          "Choose another OUT, or move that folder away.")
    if tarball.exists() and (tarball.is_dir() or not _is_our_tarball(tarball)):
        raise BundleError(f"{tarball} exists and is not a mer-tf bundle; it is not replaced. Choose another OUT.")
    return folder, tarball


def write_bundle(model: str | Path, out: str | Path, ecrl: str | Path | None = None,
                 models_dir: str | Path | None = None, tarball: bool = True) -> dict:
    """Write the bundle folder ``out`` and ``out.tar.gz`` for ``model`` (both atomically).

    Args:
        model: an exported `.tflite` with mer-tf metadata (checked as the runtime would).
        out: the bundle folder to write; ``out.tar.gz`` is written beside it. An
            existing bundle there is replaced; anything else is refused.
        ecrl: the calibrated ``ecrl.json``; default: the one beside the model. A
            bundle without one runs with the built-in thresholds (a warning says so).
        models_dir: where the face model files are; default: the installed models folder.
        tarball: also write ``out.tar.gz``.

    Returns:
        ``bundle.json`` plus ``folder``, ``tarball`` and ``bytes`` of the archive.
    """
    from edge.model_info import ModelInfo
    from mer_tf import __version__, tflite_metadata
    from mer_tf.faces import model_files

    model = Path(model)
    info = ModelInfo.load(model)  # a model the runtime would refuse is refused here
    folder, tar_path = check_outputs(model, out)
    ecrl_path = Path(ecrl) if ecrl else model.with_name("ecrl.json")
    if ecrl and not ecrl_path.is_file():
        raise FileNotFoundError(f"--ecrl {ecrl_path} not found; pass the ecrl.json of the trained model.")
    if not ecrl_path.is_file():
        log.warning("no ecrl.json beside %s: the bundle's ECRL uses the built-in thresholds", model.name)
        ecrl_path = None
    face_files = {name: model_files.model_path(name, models_dir) for name in model_files.DEVICE_MODELS}
    sidecar = tflite_metadata.sidecar_path(model)
    meta = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "created_by": f"mer-tf {__version__}",
        "model": model.name, "sidecar": sidecar.name if sidecar.is_file() else None,
        "ecrl": "ecrl.json" if ecrl_path else None, "models_dir": MODELS_DIR,
        "face_models": {"detector_short_range": model_files.SHORT_RANGE, "detector_full_range": model_files.FULL_RANGE,
                        "face_mesh": model_files.FACE_MESH, "attention_mesh": model_files.ATTENTION_MESH},
        "peer": model_files.PEER_CLASSIFIER,
        "model_info": {"variant": info.variant, "input_mode": info.input_mode, "input_size": info.input_size,
                       "labels": list(info.labels), "model_name": info.meta.get("model_name")},
    }
    with atomic_folder(folder) as tmp:
        shutil.copy2(model, tmp / model.name)
        if meta["sidecar"]:
            shutil.copy2(sidecar, tmp / sidecar.name)
        if ecrl_path:
            shutil.copy2(ecrl_path, tmp / "ecrl.json")
        (tmp / MODELS_DIR).mkdir()
        for name, src in face_files.items():
            shutil.copy2(src, tmp / MODELS_DIR / name)
        (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        (tmp / SUMS).write_text("".join(f"{sha256(tmp / f)}  {f}\n" for f in files), encoding="utf-8")
    result = {**meta, "folder": str(folder), "tarball": None}
    if tarball:
        _write_tarball(folder, tar_path)
        result.update(tarball=str(tar_path), bytes=tar_path.stat().st_size)
    return result


def _write_tarball(folder: Path, tar_path: Path) -> None:
    """``folder`` as ``tar_path`` (one top folder), via a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{tar_path.name}.", suffix=".tmp", dir=tar_path.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for p in sorted(folder.rglob("*")):
                if p.is_file() and p.name != MARKER:  # the folder's own mark, not a file for the board
                    tar.add(p, arcname=f"{folder.name}/{p.relative_to(folder).as_posix()}")
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, tar_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
