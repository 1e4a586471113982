"""FACS action units as landmark displacements, and the seven emotions as AU recipes (after EMFACS).

Each AU moves a few iBUG-68 points; displacements are given in a face frame
(x outward from the face's midline, y towards the chin) in units of the clip's
amplitude, itself a fraction of the face width (a few percent: a micro-expression).
"""

from __future__ import annotations

import numpy as np

# AU -> {(point indices): (outward, down)} at intensity 1.
ACTION_UNITS: dict[int, dict[tuple[int, ...], tuple[float, float]]] = {
    1: {(21, 22): (0.0, -1.0), (20, 23): (0.0, -0.7), (19, 24): (0.0, -0.35)},  # inner brow raiser
    2: {(17, 26): (0.0, -1.0), (18, 25): (0.0, -0.8), (19, 24): (0.0, -0.5)},  # outer brow raiser
    4: {(21, 22): (-0.6, 0.8), (20, 23): (-0.4, 0.7), (19, 24): (-0.2, 0.5), (18, 25): (0.0, 0.3),
        (17, 26): (0.0, 0.15), (37, 38, 43, 44): (0.0, 0.25)},  # brow lowerer
    5: {(37, 38, 43, 44): (0.0, -0.55), (36, 39, 42, 45): (0.0, -0.1)},  # upper lid raiser
    6: {(40, 41, 46, 47): (0.0, -0.4), (48, 54): (0.1, -0.2)},  # cheek raiser
    7: {(40, 41, 46, 47): (0.0, -0.45), (37, 38, 43, 44): (0.0, 0.2)},  # lid tightener
    9: {(31, 35): (-0.1, -0.7), (32, 34): (0.0, -0.6), (33,): (0.0, -0.5), (30,): (0.0, -0.3),
        (21, 22): (-0.2, 0.4), (49, 53): (0.0, -0.35), (50, 51, 52): (0.0, -0.4), (61, 62, 63): (0.0, -0.3)},  # nose wrinkler
    10: {(50, 51, 52): (0.0, -0.8), (49, 53): (0.0, -0.5), (61, 62, 63): (0.0, -0.7)},  # upper lip raiser
    12: {(48, 54): (0.6, -0.9), (60, 64): (0.55, -0.8), (49, 53): (0.3, -0.4), (55, 59): (0.3, -0.35),
         (61, 63, 65, 67): (0.15, -0.2)},  # lip corner puller
    15: {(48, 54): (0.1, 0.9), (60, 64): (0.1, 0.8), (55, 59): (0.05, 0.4), (49, 53): (0.0, 0.3)},  # lip corner depressor
    20: {(48, 54): (0.9, 0.15), (60, 64): (0.8, 0.1), (49, 53, 55, 59): (0.45, 0.05), (4, 5, 11, 12): (0.15, 0.0)},  # lip stretcher
    23: {(48, 54): (-0.45, 0.0), (60, 64): (-0.4, 0.0), (50, 51, 52): (0.0, 0.3), (56, 57, 58): (0.0, -0.3),
         (61, 62, 63): (0.0, 0.2), (65, 66, 67): (0.0, -0.2)},  # lip tightener
    26: {(8,): (0.0, 1.0), (7, 9): (0.0, 0.9), (6, 10): (0.0, 0.65), (5, 11): (0.0, 0.35), (4, 12): (0.0, 0.1),
         (56, 57, 58): (0.0, 0.8), (65, 66, 67): (0.0, 0.75), (55, 59): (0.0, 0.5), (48, 54, 60, 64): (0.0, 0.25)},  # jaw drop
}

# Seven classes -> {AU: weight}; EMFACS prototypes (Ekman & Friesen), as ECRL reads them.
EMOTIONS: dict[str, dict[int, float]] = {
    "Neutral": {},
    "Happy": {6: 0.8, 12: 1.0},
    "Surprise": {1: 1.0, 2: 1.0, 5: 0.6, 26: 0.7},
    "Angry": {4: 1.0, 7: 0.8, 23: 0.8},
    "Fear": {1: 0.9, 2: 0.5, 4: 0.7, 5: 0.6, 20: 1.0, 26: 0.3},
    "Disgust": {9: 1.0, 10: 0.7, 15: 0.4},
    "Sad": {1: 0.9, 4: 0.5, 15: 1.0},
}
# The raw labels the coding sheet carries (CASME II's words; "neutral" for neutral clips).
RAW_LABELS = {"Neutral": "neutral", "Happy": "happiness", "Surprise": "surprise", "Angry": "anger",
              "Fear": "fear", "Disgust": "disgust", "Sad": "sadness"}


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(x axis, y axis, face width, midline point) of a face: x along the eyes, y towards the chin."""
    left, right = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    x_axis = (right - left) / np.linalg.norm(right - left)
    y_axis = np.array([-x_axis[1], x_axis[0]])
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    return x_axis, y_axis, width, landmarks[27:31].mean(axis=0)


def au_displacement(landmarks: np.ndarray, intensities: dict[int, float], amplitude: float) -> np.ndarray:
    """(68, 2) pixel displacements of `landmarks` for AU intensities (0..1 each).

    Args:
        landmarks: the neutral (68, 2) landmarks of the face, pixels.
        intensities: {AU number: intensity}.
        amplitude: the displacement of intensity 1, as a fraction of the face width.
    """
    x_axis, y_axis, width, mid = face_frame(landmarks)
    side = np.sign(np.round((landmarks - mid) @ x_axis / (0.02 * width)))  # -1 image-left, 0 midline, +1 right
    local = np.zeros((68, 2))
    for au, level in intensities.items():
        for points, (out, down) in ACTION_UNITS[au].items():
            for i in points:
                local[i, 0] += level * out * side[i]
                local[i, 1] += level * down
    scale = amplitude * width
    return scale * (local[:, :1] * x_axis + local[:, 1:] * y_axis)


def action_unit_code(emotion: str) -> str:
    """The CASME II style AU cell of an emotion's recipe ("6+12"; "" for Neutral)."""
    return "+".join(str(au) for au in sorted(EMOTIONS[emotion]))
