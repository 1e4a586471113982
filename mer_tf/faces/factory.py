"""The two face interfaces and the factories that pick a backend by name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mer_tf.faces.box import Box

DETECTORS = ("dlib", "blazeface")
LANDMARKERS = ("dlib", "mediapipe")


@runtime_checkable
class FaceDetector(Protocol):
    """Anything with ``detect(image) -> list[Box]`` (uint8 BGR or gray in)."""

    name: str

    def detect(self, image: np.ndarray) -> list[Box]: ...


@runtime_checkable
class Landmarker(Protocol):
    """Anything with ``landmarks(image, box) -> (68, 2) float32`` in iBUG 68 order."""

    name: str

    def landmarks(self, image: np.ndarray, box: Box) -> np.ndarray: ...


def create_detector(name: str = "dlib", **kwargs) -> FaceDetector:
    """A face detector by name.

    Args:
        name: ``"dlib"`` (HOG, the paper's choice) or ``"blazeface"``
            (MediaPipe short-range BlazeFace in LiteRT; faster).
        **kwargs: passed to the backend (e.g. ``upsample=1`` for dlib,
            ``min_score=0.6`` for BlazeFace).
    """
    if name == "dlib":
        from mer_tf.faces.dlib_detector import DlibDetector

        return DlibDetector(**kwargs)
    if name == "blazeface":
        from mer_tf.faces.blazeface_detector import BlazeFaceDetector

        return BlazeFaceDetector(**kwargs)
    raise ValueError(f"Unknown face detector {name!r}; choose one of {DETECTORS}.")


def create_landmarker(name: str = "dlib", **kwargs) -> Landmarker:
    """A 68-point landmarker by name.

    Args:
        name: ``"dlib"`` (68-point shape predictor) or ``"mediapipe"`` (face
            mesh, 468 points mapped onto iBUG 68; runs in LiteRT).
        **kwargs: passed to the backend.
    """
    if name == "dlib":
        from mer_tf.faces.dlib_landmarker import DlibLandmarker

        return DlibLandmarker(**kwargs)
    if name == "mediapipe":
        from mer_tf.faces.mediapipe_landmarker import MediaPipeLandmarker

        return MediaPipeLandmarker(**kwargs)
    raise ValueError(f"Unknown landmarker {name!r}; choose one of {LANDMARKERS}.")
