"""Evaluate a trained model folder on a dataset (the `mer evaluate` library call)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from mer_tf.training.loso import LosoResult

log = logging.getLogger(__name__)


def evaluate_model(
    model_dir: str | Path,
    data: str | Path,
    out_dir: str | Path,
    *,
    dataset: str = "auto",
    include_seen: bool = False,
    samples=None,
    progress: bool = True,
    overwrite: bool = False,
) -> LosoResult:
    """Predict every sample of `data` with the model folder; CNN, ECRL, fused.

    Subjects the model trained or validated on (recorded in its config.json)
    are left out by default: scoring them would not be a test. With
    `include_seen=True` they are kept and the report says how many.

    Args:
        model_dir: a folder written by `train`.
        data: the dataset root.
        out_dir: the report folder (predictions.csv, scores.json, PNGs).
        dataset: the dataset kind (default: detect).
        include_seen: also score subjects seen in training.
        samples: the samples (default: loaded from `data`).
        progress: tqdm bars.
        overwrite: replace `out_dir` even when mer-tf did not write it (`mer_tf.outputs`).

    Returns:
        A `LosoResult` (scores, ms per sample, artifact paths).
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.model_folder import ModelFolder
    from mer_tf.outputs import check_folder
    from mer_tf.training.evaluation_report import write_evaluation
    from mer_tf.training.predictions import predict_rows, score_rows
    from mer_tf.training.samples import load_samples

    inputs = {"model folder": model_dir, "dataset": data}
    check_folder(out_dir, "evaluation", what="report folder", overwrite=overwrite, inputs=inputs)
    folder = ModelFolder.load(model_dir)
    config = replace(folder.train_config(), data=str(data), dataset=dataset, max_samples_per_subject=None)
    if folder.scheme != config.class_scheme:
        config = replace(config, classes=folder.scheme)
    samples = list(samples) if samples is not None else load_samples(config)
    seen = set(folder.run.get("train_subjects", [])) | set(folder.run.get("val_subjects", []))
    n_seen = sum(1 for s in samples if s.subject in seen)
    if not include_seen:
        samples = [s for s in samples if s.subject not in seen]
        if not samples:
            raise ValueError(
                f"Every subject of {data} was used to train {model_dir}; there is nothing unseen to test. "
                "Use `mer loso` for an honest estimate, or pass --include-seen (not a test)."
            )
    store = FeatureStore(folder.input_spec(), config.cache_dir)
    feats = store.load_all(samples, progress=progress)
    rows, timing = predict_rows(folder.keras_model(), samples, feats, folder.classes, folder.scheme, folder.ecrl())
    scores = score_rows(rows, folder.classes)
    meta = {
        "model_dir": str(model_dir),
        "data": str(data),
        "synthetic": config.dataset == "synthetic" or any(s.dataset == "synthetic" for s in samples),
        "seen_subject_samples": n_seen,
        "seen_included": include_seen,
    }
    if n_seen:
        log.warning("%d samples belong to subjects seen in training: %s", n_seen, "included" if include_seen else "left out")
    paths = write_evaluation(Path(out_dir), rows, scores, timing, folder.classes, meta, title=f"evaluate {Path(model_dir).name}",
                             overwrite=overwrite, inputs=inputs)
    return LosoResult(Path(out_dir), paths, scores, timing, [])
