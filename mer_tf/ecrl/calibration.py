"""Fit ECRL thresholds on labelled onset/apex landmark pairs.

For every piece of evidence (``rules.EVIDENCE``) the samples split in two:
positives, whose label's rule asks for that evidence (required or any-of),
and negatives, all other labelled samples (Neutral ones and other emotions).
The threshold is the value that best separates them (largest Youden's J =
true-positive rate - false-positive rate), floored at ``min_threshold`` so
that landmark noise alone never counts as evidence. Evidence with fewer than
``min_samples`` positives or negatives keeps its documented default.
"""

from __future__ import annotations

import logging

import numpy as np

from mer_tf.ecrl.features import extract_features
from mer_tf.ecrl.rule_engine import RuleEngine
from mer_tf.ecrl.rules import EVIDENCE, RULES, default_thresholds
from mer_tf.labels import CLASSES, MEGC3, NEGATIVE, SEVEN_TO_MEGC3

log = logging.getLogger(__name__)


def label_group(label: str) -> frozenset[str]:
    """The seven-class labels a training label stands for: itself, or a MEGC class's members."""
    if label == "negative":
        return NEGATIVE
    if label in MEGC3:
        return frozenset(c for c, m in SEVEN_TO_MEGC3.items() if m == label)
    return frozenset({label})


def _agrees(verdict: str | None, label: str) -> bool:
    return verdict is not None and (verdict == label or SEVEN_TO_MEGC3.get(verdict) == label)


def _best_threshold(pos: np.ndarray, neg: np.ndarray, floor: float) -> tuple[float, float]:
    """(threshold, J): the cut maximizing TPR - FPR over midpoints of the sorted values."""
    values = np.unique(np.concatenate([pos, neg]))
    cuts = np.concatenate([values[:1] - 1e-9, 0.5 * (values[1:] + values[:-1]), values[-1:] + 1e-9])
    cuts = np.maximum(cuts, floor)
    tpr = (pos[None, :] >= cuts[:, None]).mean(axis=1)
    fpr = (neg[None, :] >= cuts[:, None]).mean(axis=1)
    j = tpr - fpr
    best = int(np.argmax(j))  # first maximum: the smallest cut that separates best
    return float(cuts[best]), float(j[best])


def calibrate(apex_landmarks, neutral_landmarks, labels, min_samples: int = 3, min_threshold: float = 0.01):
    """Thresholds fitted on labelled pairs.

    Args:
        apex_landmarks: (N, 68, 2) landmarks at the apex frames.
        neutral_landmarks: (N, 68, 2) landmarks of the matching onset
            (neutral) frames, same person, same clip.
        labels: N class names from ``mer_tf.labels.CLASSES``, or MEGC
            3-class names (``MEGC3``) where only those are known: a
            "negative" sample counts for the evidence of every negative
            emotion's rule (Angry, Fear, Disgust, Sad).
        min_samples: fewest positives and negatives needed to fit a threshold.
        min_threshold: the smallest threshold allowed (IOD or ratio units).

    Returns:
        ``(thresholds, summary)``: evidence name -> threshold, and a JSON-able
        record of what was fitted (per evidence: threshold, J, counts, source)
        and the rule engine's agreement with the labels on these samples.
    """
    apex = list(apex_landmarks)
    neutral = list(neutral_landmarks)
    labels = [str(x) for x in labels]
    if not (len(apex) == len(neutral) == len(labels)) or not apex:
        raise ValueError(
            "calibrate needs as many apex landmarks, neutral landmarks and labels, at least one; "
            f"received {len(apex)}, {len(neutral)}, {len(labels)}."
        )
    unknown = sorted(set(labels) - set(CLASSES) - set(MEGC3))
    if unknown:
        raise ValueError(f"Unknown labels {unknown}; use {CLASSES} or {MEGC3} "
                         "(mer_tf.labels.to_seven / to_megc3 map dataset labels).")

    rows, kept, skipped = [], [], 0
    for a, n, y in zip(apex, neutral, labels):
        try:
            rows.append(extract_features(a, n))
            kept.append(y)
        except ValueError as err:
            skipped += 1
            log.warning("calibration: skipped a %s sample: %s", y, err)
    kept_arr = np.array(kept)
    thresholds = default_thresholds()
    per_evidence = {}
    for name, (feat, sign, default, _) in EVIDENCE.items():
        wanted = {r.label for r in RULES if name in r.evidence()}
        x = np.array([sign * f[feat] for f in rows])
        is_pos = np.array([bool(label_group(y) & wanted) for y in kept_arr], dtype=bool)
        pos, neg = x[is_pos], x[~is_pos]
        entry = {"n_pos": int(len(pos)), "n_neg": int(len(neg)), "default": default}
        if len(pos) >= min_samples and len(neg) >= min_samples:
            t, j = _best_threshold(pos, neg, min_threshold)
            thresholds[name] = t
            entry.update(threshold=t, youden_j=j, source="fitted")
        else:
            entry.update(threshold=default, youden_j=None, source=f"default (fewer than {min_samples} samples)")
        per_evidence[name] = entry

    engine = RuleEngine(thresholds)  # the fitted rules score themselves on the same samples
    verdicts = [engine.judge(f).label for f in rows]
    emotional = [(v, y) for v, y in zip(verdicts, kept) if y != "Neutral"]
    neutral_rows = [v for v, y in zip(verdicts, kept) if y == "Neutral"]
    summary = {
        "n_samples": len(rows),
        "n_skipped": skipped,
        "label_counts": {c: kept.count(c) for c in (*CLASSES, *MEGC3) if c in kept},
        "min_samples": min_samples,
        "min_threshold": min_threshold,
        "evidence": per_evidence,
        "train_hit_rate": (sum(_agrees(v, y) for v, y in emotional) / len(emotional)) if emotional else None,
        "train_fire_rate": (sum(v is not None for v, _ in emotional) / len(emotional)) if emotional else None,
        "train_neutral_silent": (sum(v is None for v in neutral_rows) / len(neutral_rows)) if neutral_rows else None,
    }
    log.info("ECRL calibrated on %d samples (%d skipped)", len(rows), skipped)
    return thresholds, summary
