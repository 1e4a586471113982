"""Quantization-aware training and pruning, run in the separate `.venv-qat` environment.

tensorflow-model-optimization 0.8.1 only works on tf_keras (Keras 2) and cannot
be installed beside mediapipe (STACK.md), so the main environment hands the
work to `python -m export.qat_worker` in `.venv-qat`: the trained weights, the
training arrays and the calibration arrays go over as `.npz` files, the model
architecture as the builders' `model_config` dictionary, and the converted
flatbuffers come back; metadata, LiteRT checks and the sidecars are done here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
ENV_VAR = "MER_TF_QAT_PYTHON"


def qat_python_path(python: str | os.PathLike | None = None) -> Path:
    """The QAT environment's interpreter: `python`, `$MER_TF_QAT_PYTHON`, else `.venv-qat/bin/python`."""
    path = Path(python or os.environ.get(ENV_VAR) or REPO / ".venv-qat" / "bin" / "python")
    if not path.exists():
        raise FileNotFoundError(
            f"the quantization-aware training environment is missing ({path} not found): "
            f"run `make qat-env` in {REPO} (it installs tensorflow, tf-keras and "
            "tensorflow-model-optimization into .venv-qat), or point $MER_TF_QAT_PYTHON at one."
        )
    return path


def model_config_of(folder, model) -> dict[str, Any]:
    """The builders' description of the trained model, from config.json or rebuilt from its fields."""
    for key in ("model_config", "architecture", "model"):
        value = folder.config.get(key)
        if isinstance(value, dict) and {"model", "input_shape", "num_classes"} <= set(value):
            return value
    from mer_tf.models import model_config

    c = folder.config
    name = str(c.get("model", "eccnn"))
    kwargs: dict[str, Any] = {"dropout": float(c.get("dropout", 0.5))}
    if name == "eccnn":
        kwargs.update(pooling_layers=int(c.get("pooling", 3)), local_region=bool(c.get("local_region", True)))
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    return model_config(name, input_shape, int(model.outputs[0].shape[-1]), **kwargs)


def _save_weights(model, path: Path) -> None:
    arrays = {f"{layer.name}/{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())}
    np.savez(path, **arrays)


def run_qat(folder, model, train, calib, out_dir: str | os.PathLike, qat: bool = True, prune: float | None = None,
            epochs: int = 2, python: str | os.PathLike | None = None, check: np.ndarray | None = None,
            batch_size: int = 16, learning_rate: float = 1e-5, timeout: float = 3600) -> dict[str, Path]:
    """Fine-tune quantization-aware and/or pruned copies in `.venv-qat`; write their `.tflite` files.

    Args:
        folder: the `ModelFolder`.
        model: its trained Keras 3 model (the weights to start from).
        train: `SampleArrays` of the training subjects (fine-tuning data).
        calib: `SampleArrays` for int8 calibration.
        out_dir: where the `.tflite` files (and sidecars) go.
        qat: write `<model>_qat_int8.tflite`.
        prune: target sparsity; writes `<model>_pruned_float32/int8.tflite`.
        epochs, batch_size, learning_rate: fine-tuning settings (small learning
            rate: the model is already trained).
        python: the QAT environment's python.
        check: float32 inputs on which each file is compared with the float Keras model.

    Returns:
        variant -> path of the written `.tflite`.
    """
    from export.tflite_exporter import TFLiteExporter

    tasks = (["qat"] if qat else []) + (["prune"] if prune is not None else [])
    if not tasks:
        return {}
    from mer_tf.models.flip_average import mirror_mode, unwrap

    python = qat_python_path(python)
    out_dir = Path(out_dir)
    single = unwrap(model)  # a flip-averaged model: fine-tune the single pass, wrap it again in the worker
    with tempfile.TemporaryDirectory(prefix="mer_tf_qat_") as tmp:
        tmp = Path(tmp)
        _save_weights(single, tmp / "weights.npz")
        np.savez(tmp / "train.npz", x=train.x, y=train.y)
        np.savez(tmp / "calib.npz", x=calib.x)
        spec = {
            "model_config": model_config_of(folder, single),
            "flip_average": mirror_mode(model),  # the wrapper's own Mirror mode ("flow" for a re-scaled flow image)
            "weights": str(tmp / "weights.npz"),
            "train": str(tmp / "train.npz"),
            "calib": str(tmp / "calib.npz"),
            "out_dir": str(tmp),
            "tasks": tasks,
            "sparsity": prune,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "threads": int(os.environ.get("TF_NUM_INTRAOP_THREADS", "1")),
        }
        (tmp / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("MER_TF_KERAS", None)
        log.info("running %s in %s (%d training samples, %d epochs)", tasks, python, len(train), epochs)
        proc = subprocess.run([str(python), "-m", "export.qat_worker", str(tmp / "spec.json")], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"the QAT worker ({python}) failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        base = {"labels": list(folder.classes), "preprocess": folder.preprocess, "model_name": folder.model_name,
                "source": {"model_dir": str(folder.path.resolve()), "input": folder.config.get("input", "apex")},
                **folder.input_metadata()}
        exporter = TFLiteExporter(model, base)
        written: dict[str, Path] = {}
        for variant, bare_path in result["outputs"].items():
            quant = {"mode": "int8" if variant.endswith("int8") else "float32", "qat": variant.startswith("qat"),
                     "fine_tune_epochs": epochs, "fine_tune_samples": len(train), "environment": result["info"]}
            if variant.endswith("int8"):
                quant.update(representative_samples=len(calib), representative_source=calib.source, io_int8=True)
            if variant.startswith("pruned"):
                quant.update(pruning_sparsity=prune, measured_sparsity=result["info"].get("measured_sparsity"))
            path = out_dir / f"{folder.model_name}_{variant}.tflite"
            exporter.write(Path(bare_path).read_bytes(), path, variant, quant, check_data=check)
            written[variant] = path
        return written
