"""CNN, ECRL and fused predictions per sample, timed per stage, and their scores."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from mer_tf.labels import SEVEN_TO_MEGC3
from mer_tf.metrics import pooled_scores, sliced_scores
from mer_tf.training.samples import label_of

NO_RULE = "none"  # the ECRL column when no rule fired (megc3 scheme)
PREDICTION_COLUMNS = (
    "dataset", "subject", "sample", "truth", "cnn", "ecrl", "fused",
    "cnn_confidence", "ecrl_rule", "fusion_reason", "face_found",
)  # fmt: skip


def fusion_policy(name: str, scheme: str):
    """The named `FusionPolicy` for a class scheme ("paper" on megc3 is Fig. 6 read on 3 classes)."""
    from mer_tf.fusion import FusionPolicy

    if scheme == "megc3" and not name.startswith("megc3_") and name != "cnn_only":
        name = f"megc3_{name}"
    return FusionPolicy.named(name) if name != "cnn_only" else FusionPolicy.cnn_only(scheme)


def policy_scores(rows: Sequence[dict], classes: Sequence[str], scheme: str, names: Sequence[str]) -> dict:
    """Pooled scores of the fused label under each named policy, re-fused from the rows' CNN and ECRL columns."""
    out = {}
    truth = [r["truth"] for r in rows]
    for name in names:
        policy = fusion_policy(name, scheme)
        preds = []
        for r in rows:
            ecrl = r["ecrl"] if r["ecrl"] not in ("", NO_RULE) else None
            if scheme == "seven" and not r["ecrl_rule"]:
                ecrl = None  # the seven-class column says Neutral when no rule fired
            preds.append(policy.fuse(r["cnn"], ecrl)[0])
        out[policy.name] = {"table": policy.to_table(), "scores": pooled_scores(truth, preds, list(classes))}
    return out


def calibrate_ecrl(samples: Sequence, feats: Sequence, scheme: str):
    """ECRL thresholds calibrated on training-fold samples only.

    The seven-class label is used where the sample has one; in the megc3
    scheme a sample with only a 3-class label (the MEGC 2019 release's
    negatives) calibrates with it (see ``calibration.label_group``).
    Samples without an onset frame get their subject's mean face as neutral.
    """
    from mer_tf.ecrl import ECRL
    from mer_tf.ecrl.subject_neutral import with_subject_neutrals

    feats = with_subject_neutrals(samples, feats)
    pairs = [(f, s.label7 or (s.label3 if scheme == "megc3" else None)) for s, f in zip(samples, feats)]
    pairs = [(f, lab) for f, lab in pairs if lab is not None]
    if not pairs:
        return ECRL.default()
    apex = np.stack([f.apex_landmarks for f, _ in pairs])
    neutral = np.stack([f.neutral_landmarks for f, _ in pairs])
    return ECRL.calibrate(apex, neutral, [lab for _, lab in pairs])


def _cnn_latency_ms(model, images: np.ndarray, repeats: int = 20) -> float:
    """Median milliseconds of one single-sample forward pass (compiled)."""
    import tensorflow as tf

    if len(images) == 0:
        return float("nan")
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    x = tf.constant(images[:1])
    fn(x)  # trace once outside the timing
    times = []
    for i in range(repeats):
        x = tf.constant(images[i % len(images)][None])
        t0 = time.perf_counter()
        fn(x).numpy()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def predict_rows(
    model, samples: Sequence, feats: Sequence, classes: Sequence[str], scheme: str, ecrl=None, policy=None
) -> tuple[list[dict], dict]:
    """One row per sample: truth, CNN, ECRL, fused; and median ms per stage.

    Args:
        model: the Keras model (log-probabilities out).
        samples, feats: the test samples and their cached `SampleFeatures`.
        classes: the model's classes, in output order.
        scheme: "seven" or "megc3".
        ecrl: a calibrated `mer_tf.ecrl.ECRL`, or None (ECRL column empty).
        policy: a `mer_tf.fusion.FusionPolicy` (default: the paper's).

    Returns:
        (rows with PREDICTION_COLUMNS, {stage: median ms per sample}).
    """
    from mer_tf.ecrl.subject_neutral import with_subject_neutrals

    feats = with_subject_neutrals(samples, feats)
    if ecrl is not None and policy is None:
        policy = fusion_policy("paper", scheme)
    images = np.stack([f.image for f in feats]).astype(np.float32) if feats else np.zeros((0,))
    logp = model.predict(images, batch_size=64, verbose=0) if len(feats) else np.zeros((0, len(classes)))
    timing = {"cnn": _cnn_latency_ms(model, images)}
    for stage in ("detect", "landmarks", "preprocess"):
        vals = [f.ms[stage] for f in feats if stage in f.ms]
        if vals:
            timing[stage] = float(np.median(vals))
    ecrl_ms, fuse_ms, rows = [], [], []
    for s, f, lp in zip(samples, feats, logp):
        cnn = classes[int(np.argmax(lp))]
        verdict_label, rule = None, None
        if ecrl is not None:
            t0 = time.perf_counter()
            verdict = ecrl.predict(f.apex_landmarks, f.neutral_landmarks)
            ecrl_ms.append((time.perf_counter() - t0) * 1e3)
            verdict_label, rule = verdict.label, verdict.rule
        t0 = time.perf_counter()
        if scheme == "seven":
            fused, reason = policy.fuse(cnn, verdict_label) if ecrl is not None else (cnn, "no ECRL")
            ecrl_col = verdict_label or "Neutral"  # no AU evidence: the neutral verdict
        else:
            ecrl3 = SEVEN_TO_MEGC3.get(verdict_label) if verdict_label else None
            fused, reason = policy.fuse(cnn, ecrl3) if ecrl is not None else (cnn, "no ECRL")
            ecrl_col = ecrl3 or NO_RULE
        fuse_ms.append((time.perf_counter() - t0) * 1e3)
        rows.append(
            {
                "dataset": s.dataset,
                "subject": s.subject,
                "sample": s.sample_id,
                "truth": label_of(s, scheme),
                "cnn": cnn,
                "ecrl": ecrl_col if ecrl is not None else "",
                "fused": fused,
                "cnn_confidence": round(float(np.exp(np.max(lp))), 4),
                "ecrl_rule": rule or "",
                "fusion_reason": reason,
                "face_found": bool(f.face_found),
            }
        )
    if ecrl_ms:
        timing["ecrl"] = float(np.median(ecrl_ms))
    timing["fusion"] = float(np.median(fuse_ms)) if fuse_ms else float("nan")
    return rows, timing


def score_rows(rows: Sequence[dict], classes: Sequence[str]) -> dict:
    """Pooled scores of the CNN, ECRL and fused columns, sliced per dataset.

    ECRL's "no rule fired" (megc3) is scored as its own wrong answer, so a
    silent ECRL is never counted as right.
    """
    truth = [r["truth"] for r in rows]
    groups = [r["dataset"] for r in rows]
    out = {}
    for column in ("cnn", "ecrl", "fused"):
        preds = [r[column] for r in rows]
        if column == "ecrl" and (not preds or any(p == "" for p in preds)):
            continue
        if column == "fused" and all(r["fusion_reason"] == "no ECRL" for r in rows):
            continue  # ECRL off: the fused column is the CNN's
        cls = list(classes) + ([NO_RULE] if NO_RULE in preds else [])
        sliced = sliced_scores(truth, preds, groups, cls) if len(set(groups)) > 1 else None
        out[column] = sliced if sliced else {"all": pooled_scores(truth, preds, cls)}
    return out
