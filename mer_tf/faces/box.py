"""A face box in pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box, in pixels of the image it was found in.

    Args:
        x0: left edge (inclusive), pixels.
        y0: top edge, pixels.
        x1: right edge (exclusive), pixels; ``x1 > x0`` for a real box.
        y1: bottom edge, pixels.
        score: detector confidence; larger is surer. dlib HOG gives an SVM
            margin (roughly -1..3), BlazeFace a probability in [0, 1].
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (0.5 * (self.x0 + self.x1), 0.5 * (self.y0 + self.y1))

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def iou(self, other: "Box") -> float:
        """Intersection over union with another box (0 when they do not overlap)."""
        ix = min(self.x1, other.x1) - max(self.x0, other.x0)
        iy = min(self.y1, other.y1) - max(self.y0, other.y0)
        if ix <= 0 or iy <= 0:
            return 0.0
        inter = ix * iy
        union = self.area + other.area - inter
        return float(inter / union) if union > 0 else 0.0

    def scaled(self, factor: float) -> "Box":
        """The box grown (factor > 1) or shrunk about its centre, same score."""
        cx, cy = self.center
        hw, hh = 0.5 * self.width * factor, 0.5 * self.height * factor
        return Box(cx - hw, cy - hh, cx + hw, cy + hh, self.score)

    def clipped(self, width: int, height: int) -> "Box":
        """The box clipped to an image of the given size."""
        return Box(
            min(max(self.x0, 0.0), float(width)),
            min(max(self.y0, 0.0), float(height)),
            min(max(self.x1, 0.0), float(width)),
            min(max(self.y1, 0.0), float(height)),
            self.score,
        )

    def contains(self, points: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
        """Boolean mask: which (N, 2) x,y points lie inside the box grown by ``tolerance`` (fraction of size)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        tx, ty = tolerance * self.width, tolerance * self.height
        return (
            (pts[:, 0] >= self.x0 - tx)
            & (pts[:, 0] <= self.x1 + tx)
            & (pts[:, 1] >= self.y0 - ty)
            & (pts[:, 1] <= self.y1 + ty)
        )

    @classmethod
    def from_points(cls, points: np.ndarray, score: float = 1.0) -> "Box":
        """The tight box around (N, 2) x,y points."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        return cls(float(x0), float(y0), float(x1), float(y1), float(score))
