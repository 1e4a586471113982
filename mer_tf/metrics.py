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
    means = _uf1_uar_batch(cm)
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "uf1": float(means["uf1"]),
        "uar": float(means["uar"]),
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


def _uf1_uar_batch(cms: np.ndarray) -> dict[str, np.ndarray]:
    """UF1 and UAR of one confusion matrix or a stack (..., C, C): the means over the classes present."""
    tp = np.diagonal(cms, axis1=-2, axis2=-1).astype(float)
    support = cms.sum(axis=-1).astype(float)
    predicted = cms.sum(axis=-2).astype(float)
    denom = 2 * tp + (predicted - tp) + (support - tp)
    present = support > 0
    f1 = np.where(present, np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0), np.nan)
    recall = np.where(present, np.divide(tp, support, out=np.zeros_like(tp), where=present), np.nan)
    n_present = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):  # no true class at all: nan
        return {"uf1": np.where(n_present > 0, np.nansum(f1, axis=-1) / n_present, np.nan),
                "uar": np.where(n_present > 0, np.nansum(recall, axis=-1) / n_present, np.nan)}


def paired_bootstrap(
    runs: Sequence[tuple[Sequence[Any], Sequence[Any], Sequence[Any], Sequence[Any]]],
    classes: Sequence[str],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """How sure is "A scores above B"? A paired cluster bootstrap of pooled UF1/UAR.

    LOSO scores are pooled over folds, and a fold (one test subject, or one
    fold's validation subjects) is the unit that varies: resampling single
    samples would treat a subject's clips as independent and claim too much.
    Each resample draws the clusters with replacement, pools A's and B's
    predictions over the same draw, and takes A - B. With several runs (seeds:
    same folds, other weights) the same draw is applied to every run and the
    difference is averaged over them, as the reported mean over seeds is.

    Args:
        runs: one (truth, pred_a, pred_b, clusters) per run, aligned per sample;
            clusters name each sample's fold (the `fold` column of the
            predictions files).
        classes: class names (labels may be names or indices).
        resamples: bootstrap draws.
        seed: the draw's seed (fixed, so a report reproduces).

    Returns:
        {"clusters", "resamples", and per metric "uf1"/"uar": {"delta" (observed,
        mean over runs), "low", "high" (2.5 and 97.5 percentiles), "a_better"
        (fraction of draws with A above B)}}.

    Example:
    >>> t = ["x", "y"] * 20
    >>> r = paired_bootstrap([(t, t, ["x"] * 40, [i // 4 for i in range(40)])], ["x", "y"], resamples=200)
    >>> round(r["uf1"]["delta"], 3), r["uf1"]["a_better"]
    (0.667, 1.0)
    """
    if not runs:
        raise ValueError("paired_bootstrap needs at least one (truth, pred_a, pred_b, clusters) run.")
    if resamples < 1:
        raise ValueError(f"resamples={resamples}: use 1 or more.")
    names = sorted({str(c) for run in runs for c in run[3]})
    where = {name: i for i, name in enumerate(names)}
    k, c = len(names), len(classes)
    per_run = []
    for i, (truth, pred_a, pred_b, clusters) in enumerate(runs):
        sizes = {len(truth), len(pred_a), len(pred_b), len(clusters)}
        if len(sizes) != 1:
            raise ValueError(f"run {i}: truth, pred_a, pred_b and clusters differ in length ({sorted(sizes)}).")
        t = _as_indices(truth, classes, "truth")
        cl = np.array([where[str(x)] for x in clusters], dtype=np.int64)
        pair = []
        for pred in (pred_a, pred_b):
            cms = np.zeros((k, c, c), dtype=np.int64)
            np.add.at(cms, (cl, t, _as_indices(pred, classes, "pred")), 1)
            pair.append(cms.reshape(k, c * c))
        per_run.append(pair)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(d, minlength=k) for d in rng.integers(0, k, size=(resamples, k))])
    out: dict = {"clusters": k, "resamples": resamples}
    observed = {m: [] for m in ("uf1", "uar")}
    drawn = {m: [] for m in ("uf1", "uar")}
    for cms_a, cms_b in per_run:
        full_a, full_b = (_uf1_uar_batch(x.sum(0).reshape(c, c)) for x in (cms_a, cms_b))
        draw_a, draw_b = (_uf1_uar_batch((counts @ x).reshape(-1, c, c)) for x in (cms_a, cms_b))
        for m in observed:
            observed[m].append(full_a[m] - full_b[m])
            drawn[m].append(draw_a[m] - draw_b[m])
    for m in observed:
        d = np.mean(drawn[m], axis=0)
        out[m] = {"delta": float(np.mean(observed[m])), "low": float(np.nanpercentile(d, 2.5)),
                  "high": float(np.nanpercentile(d, 97.5)), "a_better": float(np.mean(d > 0))}
    return out
