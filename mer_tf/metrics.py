"""Pooled micro-expression metrics: accuracy, UF1, UAR, per-class, confusion.

NumPy only (no TensorFlow, no scikit-learn), so the device runtime and the
reports can use it.

Convention (MEGC 2019, DESIGN.md "Evaluation honesty"): predictions are
pooled over all LOSO folds first, then per class c the counts TP_c, FP_c,
FN_c are taken from the pooled confusion matrix;
F1_c = 2TP_c / (2TP_c + FP_c + FN_c), recall_c = TP_c / N_c,
UF1 = mean of F1_c, UAR = mean of recall_c.

Classes absent from the ground truth: the means run over the classes that
have at least one true sample in the pooled set (MEGC practice; the recall of
a class with N_c = 0 is undefined). Such classes are not dropped silently:
they are listed under `absent_classes`, their `support` is 0, and any samples
wrongly predicted as them still count as false positives of the true class
(they lower that class's recall and F1) and appear in the confusion matrix.
A class absent from one fold but present in the pooled set is counted like
any other: pooling is what makes this well defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _as_indices(values: Sequence[Any], classes: Sequence[str], what: str) -> np.ndarray:
    """Map labels (class names or integer indices) to integer indices."""
    arr = np.asarray(list(values), dtype=object)
    out = np.empty(len(arr), dtype=np.int64)
    index = {name: i for i, name in enumerate(classes)}
    for i, v in enumerate(arr):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 0 <= int(v) < len(classes):
                raise ValueError(
                    f"{what}[{i}]={v} is outside 0..{len(classes) - 1}; "
                    f"pass indices into classes={list(classes)}."
                )
            out[i] = int(v)
        elif v in index:
            out[i] = index[v]
        else:
            raise ValueError(
                f"{what}[{i}]={v!r} is not one of classes={list(classes)}; "
                "map labels to these classes first (mer_tf.labels)."
            )
    return out


def confusion_matrix(y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix with rows = truth, columns = prediction.

    Args:
        y_true: true labels, class names or indices into `classes`.
        y_pred: predicted labels, same form, same length.
        classes: the class names, in matrix order.

    Returns:
        int64 array (C, C); entry [i, j] counts samples of class i predicted j.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred differ in length ({len(y_true)} vs {len(y_pred)}); "
            "pass one prediction per sample."
        )
    t = _as_indices(y_true, classes, "y_true")
    p = _as_indices(y_pred, classes, "y_pred")
    c = len(classes)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def scores_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict:
    """All metrics from a (pooled) confusion matrix; see the module docstring.

    Args:
        cm: (C, C) counts, rows = truth, columns = prediction.
        classes: the class names in matrix order.

    Returns:
        dict with `n`, `accuracy`, `uf1`, `uar`, `classes`, `classes_in_mean`,
        `absent_classes`, `per_class` ({name: precision, recall, f1, support,
        predicted}) and `confusion` (nested lists).
    """
    cm = np.asarray(cm, dtype=np.int64)
    if cm.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion matrix shape {cm.shape} does not match {len(classes)} classes.")
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)  # N_c: true samples of class c
    predicted = cm.sum(axis=0).astype(float)
    fp = predicted - tp
    fn = support - tp
    n = int(cm.sum())
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(present, tp / np.maximum(support, 1), np.nan)
        denom = 2 * tp + fp + fn
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
    f1 = np.where(present, np.nan_to_num(f1, nan=0.0), np.nan)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": None if not present[i] else float(recall[i]),
            "f1": None if not present[i] else float(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i, name in enumerate(classes)
    }
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "uf1": float(np.mean(f1[present])) if present.any() else float("nan"),
        "uar": float(np.mean(recall[present])) if present.any() else float("nan"),
        "classes": list(classes),
        "classes_in_mean": [c for c, p in zip(classes, present) if p],
        "absent_classes": [c for c, p in zip(classes, present) if not p],
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def pooled_scores(y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[str]) -> dict:
    """Accuracy, UF1, UAR, per-class P/R/F1 and the confusion on pooled predictions.

    Args:
        y_true: true labels of all samples of all folds (names or indices).
        y_pred: the predictions, same order.
        classes: class names (e.g. `mer_tf.labels.CLASSES` or `MEGC3`).

    Returns:
        The dict of `scores_from_confusion`.

    Example:
    >>> s = pooled_scores(["Happy", "Sad", "Sad"], ["Happy", "Sad", "Happy"], ["Happy", "Sad"])
    >>> round(s["uar"], 3)
    0.75
    """
    return scores_from_confusion(confusion_matrix(y_true, y_pred, classes), classes)


def sliced_scores(
    y_true: Sequence[Any], y_pred: Sequence[Any], groups: Sequence[str], classes: Sequence[str]
) -> dict[str, dict]:
    """`pooled_scores` per slice (e.g. per dataset of the composite) and overall.

    Args:
        y_true, y_pred: pooled labels.
        groups: the slice name of each sample (e.g. its dataset).
        classes: class names.

    Returns:
        {"all": scores, "<group>": scores, ...}.
    """
    if len(groups) != len(y_true):
        raise ValueError(f"groups has {len(groups)} entries for {len(y_true)} samples.")
    out = {"all": pooled_scores(y_true, y_pred, classes)}
    g = np.asarray(list(groups), dtype=object)
    t = list(y_true)
    p = list(y_pred)
    for name in sorted(set(g.tolist())):
        idx = np.flatnonzero(g == name)
        out[str(name)] = pooled_scores([t[i] for i in idx], [p[i] for i in idx], classes)
    return out


def format_scores(scores: dict, title: str = "") -> str:
    """A short human-readable block (for CLI output and reports)."""
    lines = [title] if title else []
    lines.append(
        f"n={scores['n']}  accuracy={scores['accuracy']:.4f}  UF1={scores['uf1']:.4f}  UAR={scores['uar']:.4f}"
    )
    for name, pc in scores["per_class"].items():
        r = "  n/a" if pc["recall"] is None else f"{pc['recall']:.3f}"
        lines.append(f"  {name:<10} N={pc['support']:<4} P={pc['precision']:.3f} R={r}")
    if scores["absent_classes"]:
        lines.append(f"  no true samples (left out of the means): {', '.join(scores['absent_classes'])}")
    return "\n".join(lines)
