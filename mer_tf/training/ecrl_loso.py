"""ECRL alone under leave-one-subject-out: calibrated on each fold's training subjects, no CNN.

NumPy only (no TensorFlow): the rule engine's own LOSO score, for any
landmark backend, in seconds. `mer loso --ecrl-only` calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_tf.training.config import TrainConfig


def run_ecrl_loso(config: TrainConfig, out_dir: str | Path, *, samples: Sequence | None = None,
                  progress: bool = True, overwrite: bool = False) -> dict:
    """Pooled scores of ECRL alone over LOSO folds; writes predictions.csv and scores.json.

    Each fold calibrates the thresholds on its training and validation subjects
    (never the test subject) and predicts the test subject. "No rule fired"
    is scored as a wrong answer of its own ("none").

    Returns:
        {"ecrl": {"all"|source: pooled scores}, "fired": fraction of samples where a rule fired}.
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.datasets import loso_splits
    from mer_tf.ecrl.subject_neutral import with_subject_neutrals
    from mer_tf.labels import SEVEN_TO_MEGC3
    from mer_tf.metrics import pooled_scores, sliced_scores
    from mer_tf.atomic import atomic_folder
    from mer_tf.training.predictions import NO_RULE, calibrate_ecrl
    from mer_tf.training.plots_and_tables import write_csv, write_json
    from mer_tf.training.samples import label_of, load_samples

    from mer_tf.outputs import check_folder

    # `overwrite`: replace `out_dir` even when mer-tf did not write it (see `mer_tf.outputs`).
    inputs = {"dataset": config.data}
    check_folder(out_dir, "loso", what="report folder", overwrite=overwrite, inputs=inputs)
    samples = list(samples) if samples is not None else load_samples(config)
    scheme = config.class_scheme
    store = FeatureStore(config.input_spec(), config.cache_dir)
    feats = dict(zip((s.key for s in samples), store.load_all(samples, progress=progress)))
    rows = []
    for fold in loso_splits(samples, n_val_subjects=config.val_subjects, seed=config.seed,
                            group_by=config.loso_group_by):
        fit = fold.train + fold.val
        ecrl = calibrate_ecrl(fit, [feats[s.key] for s in fit], scheme)
        test_feats = with_subject_neutrals(fold.test, [feats[s.key] for s in fold.test])
        for s, f in zip(fold.test, test_feats):
            verdict = ecrl.predict(f.apex_landmarks, f.neutral_landmarks)
            label = verdict.label
            pred = (SEVEN_TO_MEGC3.get(label) if scheme == "megc3" else label) if label else None
            rows.append({"dataset": s.dataset, "subject": s.subject, "sample": s.sample_id,
                         "truth": label_of(s, scheme), "ecrl": pred or (NO_RULE if scheme == "megc3" else "Neutral"),
                         "ecrl_rule": verdict.rule or "", "face_found": bool(f.face_found), "fold": fold.test_subject})
    classes = list(config.class_names) + ([NO_RULE] if any(r["ecrl"] == NO_RULE for r in rows) else [])
    truth, preds = [r["truth"] for r in rows], [r["ecrl"] for r in rows]
    groups = [r["dataset"] for r in rows]
    scores = sliced_scores(truth, preds, groups, classes) if len(set(groups)) > 1 else {
        "all": pooled_scores(truth, preds, classes)}
    result = {"ecrl": scores, "fired": sum(bool(r["ecrl_rule"]) for r in rows) / max(1, len(rows)),
              "landmarker": config.landmarker, "detector": config.detector, "n": len(rows)}
    with atomic_folder(Path(out_dir), "loso", overwrite=overwrite, inputs=inputs) as tmp:
        write_csv(tmp / "predictions.csv", rows, list(rows[0]) if rows else ["dataset"])
        write_json(tmp / "scores.json", {**result, "config": config.to_dict()})
    return result
