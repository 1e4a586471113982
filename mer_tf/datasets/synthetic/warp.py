"""Landmark-driven piecewise-affine warps with OpenCV (one affine per Delaunay triangle).

The triangles are rasterized into a label image and every pixel's source
position comes from its triangle's affine map, then one `cv2.remap`: about
7 ms for a 240x240 frame, where scikit-image's PiecewiseAffineTransform takes
seconds.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay


def anchor_points(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Fixed points that keep the warp local: a ring around the face and the image border."""
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    centre, half = (low + high) / 2, (high - low) / 2
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = centre + np.stack([np.cos(angles) * (half[0] + 0.22 * width), np.sin(angles) * (half[1] + 0.3 * width)], 1)
    ring = np.clip(ring, 1, size - 2)
    s = size - 1
    border = np.array([[0, 0], [s / 2, 0], [s, 0], [s, s / 2], [s, s], [s / 2, s], [0, s], [0, s / 2]], float)
    return np.vstack([ring, border])


class PiecewiseAffine:
    """Warps an image so that points `src` move to `dst`, with a triangulation fixed on `src`.

    Args:
        src: (N, 2) points in the source image (landmarks followed by anchors).
        size: the (square) image side in pixels.

    Example:
        >>> warp = PiecewiseAffine(np.vstack([lm, anchors]), 240)
        >>> moved = warp(image, np.vstack([lm + offsets, anchors]))
    """

    def __init__(self, src: np.ndarray, size: int):
        self.src = np.asarray(src, np.float32)
        self.size = int(size)
        self.simplices = Delaunay(self.src).simplices
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        self._xx, self._yy = xx, yy

    def __call__(self, image: np.ndarray, dst: np.ndarray, border: int = cv2.BORDER_REFLECT) -> np.ndarray:
        dst = np.asarray(dst, np.float32)
        labels = np.zeros((self.size, self.size), np.uint16)
        maps = np.zeros((len(self.simplices) + 1, 2, 3), np.float32)
        maps[0] = [[1, 0, 0], [0, 1, 0]]  # pixels outside every triangle stay where they are
        for k, tri in enumerate(self.simplices, start=1):
            maps[k] = cv2.getAffineTransform(dst[tri], self.src[tri])
            cv2.fillConvexPoly(labels, np.round(dst[tri] * 16).astype(np.int32), k, shift=4)
        a = maps[labels]  # (S, S, 2, 3): each pixel's dst -> src affine
        map_x = a[..., 0, 0] * self._xx + a[..., 0, 1] * self._yy + a[..., 0, 2]
        map_y = a[..., 1, 0] * self._xx + a[..., 1, 1] * self._yy + a[..., 1, 2]
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=border)
