"""A running neutral reference for streams, where no onset frame is marked."""

from __future__ import annotations

import numpy as np

from mer_tf.ecrl.features import NeutralReference
from mer_tf.faces.ibug68 import check_landmarks, eye_centers


class NeutralBaseline:
    """The running average of a person's quiet faces, as an ECRL neutral.

    Each frame is first moved to a canonical frame (eye midpoint at 0, eyes on
    the x axis, inter-ocular distance 1), so head motion does not blur the
    average. The first ``warmup`` frames are averaged plainly; after that the
    average follows slowly (exponential, weight ``alpha``), and only on frames
    the caller marks as quiet (e.g. where ECRL fired no rule), so that an
    expression does not become the neutral it is measured against.

    Args:
        warmup: frames averaged before ``reference`` is available.
        alpha: weight of a new quiet frame after the warmup (0 < alpha <= 1).

    Example:
        >>> base = NeutralBaseline()
        >>> for pts in stream:
        ...     if base.ready:
        ...         v = ecrl.predict(pts, base.reference)
        ...     base.update(pts, quiet=not base.ready or v.label is None)
    """

    def __init__(self, warmup: int = 5, alpha: float = 0.05):
        if warmup < 1:
            raise ValueError(f"`warmup` must be >= 1. Received: warmup={warmup}")
        if not 0 < alpha <= 1:
            raise ValueError(f"`alpha` must be in (0, 1]. Received: alpha={alpha}")
        self.warmup = int(warmup)
        self.alpha = float(alpha)
        self.count = 0
        self._mean: np.ndarray | None = None
        self._reference: NeutralReference | None = None

    @property
    def ready(self) -> bool:
        return self.count >= self.warmup

    @property
    def reference(self) -> NeutralReference | None:
        """The prepared neutral (None until ``warmup`` frames were seen)."""
        if not self.ready:
            return None
        if self._reference is None:
            self._reference = NeutralReference(self._mean)
        return self._reference

    @property
    def landmarks(self) -> np.ndarray | None:
        """The averaged neutral, canonical frame, (68, 2) float64."""
        return None if self._mean is None else self._mean.copy()

    def update(self, landmarks, quiet: bool = True) -> bool:
        """Add a frame; returns True when it was taken into the average.

        Unusable landmarks (NaN, a collapsed face) are skipped, not raised:
        on a stream they only mean the landmarker lost the face for a frame.
        """
        if not quiet and self.ready:
            return False
        try:
            pts = check_landmarks(landmarks)
            left, right = eye_centers(pts)
        except ValueError:
            return False
        z = pts[:, 0] + 1j * pts[:, 1]
        axis = complex(*(right - left))
        if abs(axis) < 1e-6:
            return False
        canon = (z - complex(*(0.5 * (left + right)))) / axis
        canon = np.column_stack([canon.real, canon.imag])
        if self._mean is None:
            self._mean = canon
        elif self.count < self.warmup:
            self._mean += (canon - self._mean) / (self.count + 1)
        else:
            self._mean += self.alpha * (canon - self._mean)
        self.count += 1
        self._reference = None
        return True

    def reset(self) -> None:
        """Forget the baseline (new person, lost track)."""
        self.count = 0
        self._mean = None
        self._reference = None
