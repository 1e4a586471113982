"""Micro-expression datasets: CASME II, SAMM, SMIC, their MEGC composite, the synthetic set, LOSO.

Loaders read the trees as their owners ship them and report every quirk;
pandas/openpyxl (for the coding sheets) are imported only when a sheet is read.

Example:
    >>> from mer_tf.datasets import load_dataset, loso_splits
    >>> report = load_dataset("datasets/synthetic")           # dataset="auto"
    >>> print(report.summary())
    >>> for fold in loso_splits(report.labelled("seven"), n_val_subjects=2):
    ...     ...
"""

from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.load import DATASETS, detect_layout, load_composite, load_dataset
from mer_tf.datasets.loso import Fold, loso_splits
from mer_tf.datasets.megc_selection import MEGCSelection
from mer_tf.datasets.neutral import onset_neutrals
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sample import Sample

__all__ = [
    "DATASETS",
    "DatasetReport",
    "Fold",
    "MEGCSelection",
    "Quirk",
    "Sample",
    "detect_layout",
    "load_composite",
    "load_dataset",
    "loso_splits",
    "onset_neutrals",
]
