"""Paired comparisons of LOSO runs read from their prediction files (NumPy only, no TensorFlow).

`mer loso` writes `predictions.csv` and `validation_predictions.csv`, `mer
ablate` writes `predictions_<cell>_seed<k>.csv`; each row names its fold.
Two runs with the same seed predict the same samples in the same folds, so
their difference can be resampled by fold (`mer_tf.metrics.paired_bootstrap`).
Used by `scripts/loso_table.py` (test folds) and `scripts/select_settings.py`
(validation subjects).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from mer_tf.labels import MEGC3
from mer_tf.metrics import paired_bootstrap

Source = tuple[Path, str]  # (a predictions CSV, the column to score: cnn, ecrl or fused)


def read_predictions(path: Path, column: str) -> dict[tuple[str, ...], tuple[str, str]]:
    """{(fold, dataset, subject, sample): (truth, prediction)} from one predictions CSV."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no predictions file; pair report folders that hold their predictions CSVs")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    needed = ("fold", "dataset", "subject", "sample", "truth", column)
    missing = [c for c in needed if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: lacks the columns {missing} (has {list(rows[0]) if rows else 'no rows'})")
    return {(r["fold"], r["dataset"], r["subject"], r["sample"]): (r["truth"], r[column]) for r in rows}


def bootstrap_sources(pairs: Sequence[tuple[Source, Source]], *, resamples: int = 2000, seed: int = 0) -> dict:
    """`paired_bootstrap` of A - B over one (A, B) pair of prediction sources per seed.

    Raises ValueError when a pair's files do not predict the same samples in
    the same folds (not a paired comparison).
    """
    runs = []
    for (path_a, col_a), (path_b, col_b) in pairs:
        pa, pb = read_predictions(path_a, col_a), read_predictions(path_b, col_b)
        if pa.keys() != pb.keys():
            raise ValueError(f"{path_a} and {path_b} predict different samples or folds: pair runs of the same seed "
                             f"and folds ({len(pa.keys() - pb.keys())} rows only in the first, "
                             f"{len(pb.keys() - pa.keys())} only in the second)")
        keys = sorted(pa)
        if any(pa[k][0] != pb[k][0] for k in keys):
            raise ValueError(f"{path_a} and {path_b} disagree on a sample's true label: not the same data")
        runs.append(([pa[k][0] for k in keys], [pa[k][1] for k in keys], [pb[k][1] for k in keys], [k[0] for k in keys]))
    labels = sorted({label for run in runs for labels in run[:3] for label in labels})
    classes = list(MEGC3) + [c for c in labels if c not in MEGC3] if set(labels) & set(MEGC3) else labels
    return paired_bootstrap(runs, classes, resamples=resamples, seed=seed)


def describe(boot: dict, a: str = "A") -> str:
    """One line: the 95 % fold-resampled intervals of ΔUF1 and ΔUAR, and how often A stays above."""
    return f"fold bootstrap ({boot['resamples']} draws of {boot['clusters']} folds): " + "; ".join(
        f"Δ{m.upper()} 95 % [{boot[m]['low']:+.3f}, {boot[m]['high']:+.3f}], {a} above in {100 * boot[m]['a_better']:.0f} %"
        for m in ("uf1", "uar"))
