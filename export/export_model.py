"""export_model: a trained model folder -> an export folder of `.tflite` variants (atomic)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from export.folder_samples import folder_samples
from export.quantization import MODES, QuantizationConfig
from mer_tf import tflite_metadata
from mer_tf.atomic import atomic_folder
from mer_tf.model_folder import ModelFolder
from mer_tf.quiet import native_stderr_to_log

log = logging.getLogger(__name__)

MANIFEST = "export.json"
COPIED = ("labels.json", "preprocess.json", "input.json", "ecrl.json", "config.json", "metrics.json")


def parse_variants(text: str | Sequence[str]) -> list[str]:
    """"float32,int8" -> ["float32", "int8"], rejecting unknown names."""
    names = [v.strip() for v in (text.split(",") if isinstance(text, str) else text) if v.strip()]
    bad = [v for v in names if v not in MODES]
    if bad or not names:
        raise ValueError(f"--variants must be a comma-separated subset of {','.join(MODES)}. Received: {text!r}")
    return list(dict.fromkeys(names))


def export_model(
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    variants: str | Sequence[str] = MODES,
    representative: int = 100,
    data: str | os.PathLike | None = None,
    dataset: str | None = None,
    qat: bool = False,
    prune: float | None = None,
    qat_epochs: int = 2,
    qat_learning_rate: float = 1e-5,
    check_samples: int = 32,
    qat_python: str | os.PathLike | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Export every requested variant of a trained model folder into `out_dir`.

    Args:
        model_dir: a `mer train` output folder.
        out_dir: the export folder to (re)write; built in a temporary folder beside
            it and renamed into place, so an interrupted export never leaves a
            half-written folder.
        variants: subset of float32, float16, dynamic, int8.
        representative: int8 calibration samples, drawn evenly over classes from
            the model's training subjects.
        data: the dataset root (default: config.json's) or a SampleArrays `.npz`.
        dataset: the dataset kind (default: config.json's).
        qat: also fine-tune a quantization-aware copy in `.venv-qat` and export it
            as `qat_int8`.
        prune: also prune to this sparsity (0 < prune < 1) in `.venv-qat` and export
            `pruned_float32` and `pruned_int8`.
        qat_epochs: fine-tuning epochs for QAT/pruning.
        qat_learning_rate: their Adam learning rate (small: the model is trained already).
        check_samples: training samples on which each variant is compared with Keras.
        qat_python: the QAT environment's python (default: `.venv-qat/bin/python`).
        progress: tqdm bars on stderr.
        overwrite: replace `out_dir` even when mer-tf did not write it (`mer_tf.outputs`);
            never when it is, holds or sits inside the model folder or the data.

    Returns:
        The manifest (also written as `export.json`): the variants' files, sizes,
        check_forward results, and where the calibration data came from.
    """
    from tqdm import tqdm

    from export.tflite_exporter import TFLiteExporter

    from mer_tf.outputs import check_folder

    # Before any loading or conversion: `mer export M M` or an export into the user's folder costs nothing.
    inputs = {"model folder": model_dir, "data": data}
    check_folder(out_dir, "export", what="export folder", overwrite=overwrite, inputs=inputs)
    variants = parse_variants(variants)
    if representative < 1:
        raise ValueError(f"--representative must be >= 1. Received: {representative}")
    if prune is not None and not 0.0 < float(prune) < 1.0:
        raise ValueError(f"--prune is a target sparsity in (0, 1), e.g. 0.5. Received: {prune}")
    folder = ModelFolder.load(model_dir)
    members = int(folder.config.get("ensemble", 1))
    if (qat or prune is not None) and members > 1:
        raise ValueError(f"--qat and --prune fine-tune one fit, and {model_dir} averages {members} (ensemble="
                         f"{members}). Export it without them (float32, float16, dynamic and int8 post-training "
                         "quantization convert the whole ensemble), or train with --ensemble 1 for QAT or pruning.")
    if qat or prune is not None:
        from export.qat import qat_python_path

        qat_python = qat_python_path(qat_python)  # fail early, before any conversion
    model = folder.keras_model()
    need_train = "int8" in variants or qat or prune is not None or check_samples > 0
    train = folder_samples(folder, "train", data, dataset, progress=progress) if need_train else None
    calib = train.spread(representative, seed=0) if train is not None else None
    check = train.spread(check_samples, seed=1).x if train is not None and check_samples > 0 else None

    out = Path(out_dir)
    with atomic_folder(out, "export", overwrite=overwrite, inputs=inputs) as tmp:
        base = {
            "labels": list(folder.classes),
            "preprocess": folder.preprocess,
            "model_name": folder.model_name,
            "source": {"model_dir": str(Path(model_dir).resolve()), "input": folder.config.get("input", "apex")},
            **folder.input_metadata(),
        }
        exporter = TFLiteExporter(model, base)
        files: dict[str, Any] = {}
        for mode in tqdm(variants, desc="export", disable=not progress, unit="variant"):
            config = QuantizationConfig.for_int8(calib.x) if mode == "int8" else getattr(QuantizationConfig, f"for_{mode}")()
            extra = {"quantization": {"representative_source": calib.source}} if mode == "int8" else None
            path = tmp / f"{folder.model_name}_{mode}.tflite"
            with native_stderr_to_log(log, "TFLite converter"):  # its C++ lines: shown with -v
                meta = exporter.export(config, path, check_data=check, extra=extra)
            files[mode] = _entry(path, meta)
        exporter.close()
        if qat or prune is not None:
            from export.qat import run_qat

            for variant, path in run_qat(folder, model, train, calib, tmp, qat=qat, prune=prune,
                                         epochs=qat_epochs, python=qat_python, check=check,
                                         learning_rate=qat_learning_rate).items():
                files[variant] = _entry(path, tflite_metadata.read(path))
        for name in COPIED:
            if (folder.path / name).is_file():
                shutil.copy2(folder.path / name, tmp / name)
        manifest = {
            "model_dir": str(Path(model_dir).resolve()),
            "model_name": folder.model_name,
            "labels": list(folder.classes),
            "variants": files,
            "representative": {"samples": len(calib) if calib is not None else 0,
                               "source": calib.source if calib is not None else None},
        }
        tflite_metadata.atomic_write(tmp / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    manifest["out_dir"] = str(out)
    return manifest


def _entry(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "input": meta["input"],
        "output": meta["output"],
        "check_forward": meta.get("check_forward"),
    }
