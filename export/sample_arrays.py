"""SampleArrays: network inputs, labels and ECRL landmarks of a set of samples, as arrays."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class SampleArrays:
    """What export and compare need of a set of samples, in one place.

    Built from a dataset through the training code's feature cache
    (`export.folder_samples.folder_samples`), or read from an `.npz` file with the same
    keys (`from_npz`): the QAT subprocess receives its data that way, and
    small tests build one by hand.

    Args:
        x: (N, S, S, C) float32 network inputs, preprocessed exactly as in training.
        y: (N,) int class indices into the model's labels; -1 where unknown.
        subjects: (N,) subject of each sample.
        sample_ids: (N,) sample id of each sample.
        apex_landmarks: (N, 68, 2) float32 apex landmarks for ECRL, or None.
        neutral_landmarks: (N, 68, 2) float32 neutral (onset) landmarks, or None.
        source: a sentence saying where the samples come from (goes into reports).
    """

    x: np.ndarray
    y: np.ndarray
    subjects: np.ndarray
    sample_ids: np.ndarray
    apex_landmarks: np.ndarray | None = None
    neutral_landmarks: np.ndarray | None = None
    source: str = ""

    def __post_init__(self):
        self.x = np.asarray(self.x, np.float32)
        n = len(self.x)
        self.y = np.asarray(self.y, np.int64)
        self.subjects = np.asarray(self.subjects).astype(str)
        self.sample_ids = np.asarray(self.sample_ids).astype(str)
        if self.x.ndim != 4:
            raise ValueError(f"SampleArrays.x must be (N, S, S, C). Received shape {self.x.shape}")
        for name in ("y", "subjects", "sample_ids", "apex_landmarks", "neutral_landmarks"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"SampleArrays.{name} has {len(value)} entries for {n} inputs.")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def has_landmarks(self) -> bool:
        return self.apex_landmarks is not None and self.neutral_landmarks is not None

    def subset(self, index: np.ndarray | list[int], source: str | None = None) -> "SampleArrays":
        idx = np.asarray(index)
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return SampleArrays(
            self.x[idx], self.y[idx], self.subjects[idx], self.sample_ids[idx],
            pick(self.apex_landmarks), pick(self.neutral_landmarks), self.source if source is None else source,
        )

    def of_subjects(self, subjects: list[str] | set[str], source: str | None = None) -> "SampleArrays":
        """The samples of `subjects` only."""
        keep = np.flatnonzero(np.isin(self.subjects, sorted(map(str, subjects))))
        return self.subset(keep, source)

    def spread(self, n: int, seed: int = 0) -> "SampleArrays":
        """At most `n` samples, drawn evenly over classes (for a representative set)."""
        if n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        per_class = [rng.permutation(np.flatnonzero(self.y == c)) for c in np.unique(self.y)]
        order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
        return self.subset(np.sort(np.asarray(order[:n])))

    def save_npz(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        arrays = {k: v for k, v in dataclasses.asdict(self).items() if v is not None and k != "source"}
        np.savez(path, **arrays, source=np.array(self.source))
        return path

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> "SampleArrays":
        """Read arrays saved by `save_npz` (keys x, y, subjects, sample_ids[, landmarks, source])."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"sample arrays file not found: {path}")
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x", "y") if k not in z]
            if missing:
                raise ValueError(f"{path} lacks arrays {missing}; it needs x (N,S,S,C) and y (N,).")
            n = len(z["x"])
            return cls(
                x=z["x"],
                y=z["y"],
                subjects=z["subjects"] if "subjects" in z else np.full(n, "unknown"),
                sample_ids=z["sample_ids"] if "sample_ids" in z else np.arange(n).astype(str),
                apex_landmarks=z["apex_landmarks"] if "apex_landmarks" in z else None,
                neutral_landmarks=z["neutral_landmarks"] if "neutral_landmarks" in z else None,
                source=str(z["source"]) if "source" in z else f"arrays from {path}",
            )
