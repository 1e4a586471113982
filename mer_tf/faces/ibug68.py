"""The iBUG 300-W 68-point layout: named index groups and input checks.

NumPy only (ECRL and preprocessing share it, on desktop and device). Indices
are 0-based, the order dlib's predictor returns and the MediaPipe mapping
produces. Left/right are the *image's* left/right (subject's right/left).
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68
JAW = tuple(range(0, 17))
BROW_L = tuple(range(17, 22))  # image-left brow, outer (17) to inner (21)
BROW_R = tuple(range(22, 27))  # image-right brow, inner (22) to outer (26)
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_BASE = tuple(range(31, 36))
EYE_L = tuple(range(36, 42))  # 36 outer corner, 39 inner corner
EYE_R = tuple(range(42, 48))  # 42 inner corner, 45 outer corner
MOUTH_OUTER = tuple(range(48, 60))  # 48 left corner, 54 right corner
MOUTH_INNER = tuple(range(60, 68))

EYE_L_OUTER, EYE_L_INNER, EYE_R_INNER, EYE_R_OUTER = 36, 39, 42, 45
MOUTH_L, MOUTH_R = 48, 54
UPPER_LIP_TOP, LOWER_LIP_BOTTOM = 51, 57
INNER_LIP_TOP, INNER_LIP_BOTTOM = 62, 66
NOSE_TIP = 30
CHIN = 8

# Points that hardly move with facial expression: the eye corners and the nose
# bridge down to the tip. Aligning a face to its neutral reference on these
# removes head scale, translation and in-plane rotation but keeps the
# expression: brows, lids, nostrils (AU9), mouth and jaw are left free.
STABLE = (36, 39, 42, 45, 27, 28, 29, 30)

# Landmarks are pixels; anything beyond this is a unit or overflow bug, and
# squaring it would overflow float64.
MAX_COORD = 1e8


def check_landmarks(landmarks, name: str = "landmarks") -> np.ndarray:
    """Return ``landmarks`` as a float64 (68, 2) array or raise a clear ValueError.

    Rejects wrong shapes, non-finite values (NaN/inf) and faces without size
    (both eyes at one point), which would otherwise turn into NaN features.
    """
    try:
        pts = np.asarray(landmarks, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a (68, 2) numeric array: {err}") from None
    if pts.shape != (N_POINTS, 2):
        raise ValueError(
            f"{name} must have shape (68, 2) in iBUG 68 order (x, y); received shape={pts.shape}. "
            "A 468-point MediaPipe mesh must be mapped with mer_tf.faces.mesh_to_ibug68 first."
        )
    if not np.isfinite(pts).all():
        bad = np.unique(np.argwhere(~np.isfinite(pts))[:, 0]).tolist()
        raise ValueError(f"{name} contain NaN or inf at points {bad[:10]}; the landmarker lost the face.")
    if np.abs(pts).max() >= MAX_COORD:
        raise ValueError(f"{name} have coordinates beyond {MAX_COORD:g} pixels; check their units.")
    return pts


def eye_centers(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image-left eye centre, image-right eye centre), means of the six lid points each."""
    return pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)


def interocular(pts: np.ndarray) -> float:
    """Distance between the eye centres: the face-size unit of all ECRL features."""
    left, right = eye_centers(pts)
    return float(np.hypot(*(right - left)))
